"""The event pipeline of a server: detection off the event loop, persistence, live feed.

:class:`EventEngine` receives every accepted ingest block (``IngestManager`` calls
:meth:`EventEngine.submit` on the event loop, right after validation, before the block is
durable: detection is an early-warning product and must not wait for the disk). A single
worker thread runs the structures' :class:`~.detector.StructureDetector` in arrival
order, characterises closed events (:mod:`.characterize`), stores them and hands the
messages to the :class:`EventHub`, which pushes them to ``EventService.Watch`` streams.

Stored before pushed: a watcher that receives OPENED can already ``GetEvent`` it.
Events left open by a stopped server are closed at the next start with a reason.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from quakewatch.v1 import events_pb2

from ..settings import EventSettings
from ..storage.models import Channel, Structure
from ..storage.tokens import Principal
from . import store
from .characterize import characterize, station_intensities, summary_fields
from .detector import Change, ChannelMeta, DetectedEvent, StructureDetector

log = logging.getLogger(__name__)
NS = 1_000_000_000
QUEUE_LIMIT = 1000  # messages buffered per watcher before it is dropped


@dataclass
class Subscriber:
    principal: Principal
    structure_id: str
    queue: asyncio.Queue[events_pb2.WatchResponse | None]
    loop: asyncio.AbstractEventLoop
    dropped: bool = False


class EventHub:
    """Fan-out of event messages to Watch streams (thread-safe publish)."""

    def __init__(self) -> None:
        self._subs: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, principal: Principal, structure_id: str) -> Subscriber:
        sub = Subscriber(principal, structure_id, asyncio.Queue(QUEUE_LIMIT + 1), asyncio.get_running_loop())
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def publish(self, tenant: str, msg: events_pb2.WatchResponse) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            p = sub.principal
            if p.tenant is not None and p.tenant != tenant:
                continue
            if sub.structure_id and sub.structure_id != msg.event.structure_id:
                continue
            sub.loop.call_soon_threadsafe(self._put, sub, msg)

    def _put(self, sub: Subscriber, msg: events_pb2.WatchResponse) -> None:
        if sub.dropped:
            return
        if sub.queue.qsize() >= QUEUE_LIMIT:
            sub.dropped = True  # a watcher that does not read is cut off, not waited for
            sub.queue.put_nowait(None)
            return
        sub.queue.put_nowait(msg)

    def close_all(self) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.loop.call_soon_threadsafe(sub.queue.put_nowait, None)


@dataclass
class _Runtime:
    detector: StructureDetector
    tenant: str
    kind: str


class EventEngine:
    """Owns the detectors; all detector work happens on one worker thread."""

    def __init__(self, engine: Engine, cfg: EventSettings, *, on_change: Callable[[str, events_pb2.WatchResponse], None] | None = None) -> None:
        self.engine = engine
        self.cfg = cfg
        self.hub = EventHub()
        self.on_change = on_change
        self._runtimes: dict[str, _Runtime | None] = {}  # None = unknown structure
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qw-events")
        self.lag_s = 0.0  # how far the worker is behind the arrivals, last block
        self.blocks = 0

    # -- lifecycle -------------------------------------------------------------------
    def close_stale(self) -> int:
        """Close events left open by a previous process (start-up)."""
        return store.close_stale(self.engine, "the server stopped while the event was open; metrics cover no samples after that")

    def shutdown(self) -> None:
        """Finish queued blocks, then stop the worker (open events stay open until restart)."""
        self._pool.shutdown(wait=True)
        self.hub.close_all()

    # -- input (event loop) -----------------------------------------------------------
    def submit(self, structure_id: str, channel_ids: tuple[str, ...], start_ns: int, rate_hz: float, samples: np.ndarray) -> None:
        if not self.cfg.enabled:
            return
        self._pool.submit(self._guarded, structure_id, channel_ids, start_ns, rate_hz, samples, time.monotonic())

    def registry_changed(self, structure_id: str, deleted: bool = False) -> None:
        self._pool.submit(self._reload, structure_id, deleted)

    # -- worker thread ------------------------------------------------------------------
    def _guarded(self, structure_id: str, channel_ids: tuple[str, ...], start_ns: int, rate_hz: float, samples: np.ndarray, queued: float) -> None:
        try:
            self.lag_s = time.monotonic() - queued
            self.blocks += 1
            self._process(structure_id, channel_ids, start_ns, rate_hz, samples)
        except Exception:  # a bug must not stop detection for every other structure
            log.exception("event detection failed structure=%s", structure_id)

    def _runtime(self, structure_id: str) -> _Runtime | None:
        if structure_id not in self._runtimes:
            self._runtimes[structure_id] = self._load(structure_id)
        return self._runtimes[structure_id]

    def _load(self, structure_id: str) -> _Runtime | None:
        with Session(self.engine) as s:
            st = s.get(Structure, structure_id)
            if st is None:
                return None
            chans = list(s.exec(select(Channel).where(Channel.structure_id == structure_id)))
        return _Runtime(StructureDetector(structure_id, _metas(chans), self.cfg), st.tenant, st.kind)

    def _reload(self, structure_id: str, deleted: bool) -> None:
        rt = self._runtimes.get(structure_id)
        if deleted or rt is None:
            self._runtimes.pop(structure_id, None)
            return
        fresh = self._load(structure_id)
        if fresh is None:
            self._runtimes.pop(structure_id, None)
            return
        rt.tenant, rt.kind = fresh.tenant, fresh.kind
        rt.detector.update_channels(fresh.detector.channels)

    def _process(self, structure_id: str, channel_ids: tuple[str, ...], start_ns: int, rate_hz: float, samples: np.ndarray) -> None:
        rt = self._runtime(structure_id)
        if rt is None:
            return
        for change in rt.detector.process(channel_ids, start_ns, rate_hz, samples):
            self._emit(rt, change)

    def _emit(self, rt: _Runtime, change: Change) -> None:
        ev = change.event
        if change.kind == "opened":
            msg = event_message(ev, events_pb2.EVENT_STATE_OPEN)
            store.save(self.engine, rt.tenant, msg)
            kind = events_pb2.EVENT_CHANGE_OPENED
        elif change.kind == "updated":
            msg = event_message(ev, events_pb2.EVENT_STATE_OPEN)
            stations = station_intensities(rt.detector.windows(), ev.trigger_time_ns)
            summary_fields(msg, stations=stations)
            kind = events_pb2.EVENT_CHANGE_UPDATED
        else:
            msg = event_message(ev, events_pb2.EVENT_STATE_CLOSED)
            characterize(msg, ev, rt.kind)
            store.save(self.engine, rt.tenant, msg)
            kind = events_pb2.EVENT_CHANGE_CLOSED
        out = events_pb2.WatchResponse(change=kind, event=msg)
        self.hub.publish(rt.tenant, out)
        if self.on_change is not None:
            self.on_change(rt.tenant, out)


def _metas(chans: list[Channel]) -> dict[str, ChannelMeta]:
    return {
        c.channel_id: ChannelMeta(c.channel_id, c.seed_id, c.array_id, c.orientation, c.azimuth_deg, c.dip_deg, c.floor, c.height_m, c.units, c.sensitivity)
        for c in chans
    }


def event_message(ev: DetectedEvent, state: events_pb2.EventState) -> events_pb2.Event:
    """The parts of an Event message the detector knows (no metrics)."""
    msg = events_pb2.Event(
        event_id=ev.event_id,
        structure_id=ev.structure_id,
        state=state,
        classification=events_pb2.EVENT_CLASS_UNKNOWN,
        trigger_time_ns=ev.trigger_time_ns,
        coincidence_time_ns=ev.coincidence_time_ns,
        end_time_ns=ev.end_time_ns,
        duration_s=(ev.end_time_ns - ev.trigger_time_ns) / NS if ev.end_time_ns else 0.0,
        triggered_channel_ids=sorted(ev.first_trigger_ns, key=lambda c: (ev.first_trigger_ns[c], c)),
        coincidence_sum=float(ev.max_count),
    )
    msg.open_time.FromNanoseconds(ev.opened_wall_ns)
    if ev.end_time_ns:
        msg.close_time.GetCurrentTime()
    return msg
