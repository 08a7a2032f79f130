"""Stored events: one row per event, the whole ``quakewatch.v1.Event`` as protobuf JSON."""

from __future__ import annotations

from google.protobuf import json_format
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from quakewatch.v1 import events_pb2

from ..auth import Access, check_structure_access
from ..errors import NotFound
from ..storage.models import EventRecord, Structure, utcnow
from ..storage.tokens import Principal
from . import paging

_STATE = {events_pb2.EVENT_STATE_OPEN: "open", events_pb2.EVENT_STATE_CLOSED: "closed"}


def save(engine: Engine, tenant: str, msg: events_pb2.Event) -> None:
    """Insert or replace the event (its id is the key)."""
    with Session(engine) as s:
        row = s.get(EventRecord, msg.event_id)
        if row is None:
            if s.get(Structure, msg.structure_id) is None:
                return  # deleted meanwhile: nothing to attach the event to
            row = EventRecord(event_id=msg.event_id, structure_id=msg.structure_id, tenant=tenant, state="open", trigger_time_ns=msg.trigger_time_ns, event_json="{}")
        row.state = _STATE.get(msg.state, "open")
        row.classification = events_pb2.EventClass.Name(msg.classification).removeprefix("EVENT_CLASS_").lower()
        row.trigger_time_ns = msg.trigger_time_ns
        row.end_time_ns = msg.end_time_ns
        row.max_intensity = msg.max_intensity
        row.max_pga_mps2 = msg.max_pga_mps2
        row.event_json = json_format.MessageToJson(msg, indent=None)
        if msg.state == events_pb2.EVENT_STATE_CLOSED:
            row.closed_at = utcnow()
        s.add(row)
        s.commit()


def load(row: EventRecord) -> events_pb2.Event:
    return json_format.Parse(row.event_json, events_pb2.Event())


def close_stale(engine: Engine, reason: str) -> int:
    """Close every event still marked open (called at start-up, before ingest)."""
    n = 0
    with Session(engine) as s:
        for row in s.exec(select(EventRecord).where(EventRecord.state == "open")):
            msg = load(row)
            msg.state = events_pb2.EVENT_STATE_CLOSED
            msg.reasons.append(reason)
            msg.close_time.GetCurrentTime()
            row.state, row.closed_at = "closed", utcnow()
            row.event_json = json_format.MessageToJson(msg, indent=None)
            s.add(row)
            n += 1
        s.commit()
    return n


def get(engine: Engine, p: Principal, event_id: str) -> events_pb2.Event:
    with Session(engine) as s:
        row = s.get(EventRecord, event_id) if event_id else None
        if row is None:
            raise NotFound(f"event_id: {event_id!r} does not exist", field="event_id")
        check_structure_access(p, row.tenant, Access.READ, row.structure_id)
        return load(row)


def list_events(engine: Engine, p: Principal, structure_id: str = "", start_ns: int = 0, end_ns: int = 0, page_size: int = 0, page_token: str = "") -> tuple[list[events_pb2.Event], str]:
    """Events newest first, filtered to what ``p`` may read; returns (events, next token)."""
    with Session(engine) as s:
        rows, token = paging.page(s, p, EventRecord, "trigger_time_ns", "event_id", rpc="ListEvents", structure_id=structure_id,
                                  start_ns=start_ns, end_ns=end_ns, page_size=page_size, page_token=page_token)
    return [load(r) for r in rows], token
