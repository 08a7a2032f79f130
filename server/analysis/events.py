"""The event pipeline of a server: detection on the event loop, characterisation and
persistence on a worker thread, live feed.

:class:`EventEngine` receives every accepted ingest block (``IngestManager`` calls
:meth:`EventEngine.submit` on the event loop right after validation, before the block is
durable: detection is an early-warning product and must not wait for the disk). The
structure's :class:`~.detector.StructureDetector` runs right there (tens of
microseconds per block, mostly in compiled kernels), so an OPENED message is on its way
to every ``EventService.Watch`` stream within the same loop iteration. Everything slow
goes to one worker thread, in order: storing events, the per-second intensity updates of
open events, and the characterisation of closed ones (:mod:`.characterize`).

Watch is the fast path: a watcher may receive OPENED a few milliseconds before
``GetEvent`` can return it. Events left open by a stopped server are closed at the
next start with a reason. When the worker falls behind by more than
``EventSettings.max_backlog_blocks`` tasks, intensity updates are skipped (opening,
closing and storing never are).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from sqlalchemy.engine import Engine

from quakewatch.v1 import events_pb2

from ..settings import EventSettings
from ..storage.models import Channel, Structure
from . import store
from .fanout import Hub
from .characterize import characterize, station_intensities, summary_fields
from .detector import Change, ChannelMeta, DetectedEvent, StructureDetector, Window

log = logging.getLogger(__name__)
NS = 1_000_000_000


class EventHub(Hub[events_pb2.WatchResponse]):
    """Fan-out of event messages to ``EventService.Watch`` streams."""

    def __init__(self) -> None:
        super().__init__(lambda msg: msg.event.structure_id)


@dataclass
class _Runtime:
    detector: StructureDetector
    tenant: str
    kind: str
    analysed: str = ""  # the last event handed to ``on_mine_event``


@dataclass(frozen=True)
class MineEventData:
    """What the mine live path gets of an event (a snapshot: the detector goes on)."""

    tenant: str
    structure_id: str
    event_id: str
    trigger_time_ns: int
    first_trigger_ns: dict[str, int]
    windows: list[Window]


class EventEngine:
    """Owns the detectors (event-loop thread) and the worker that stores and characterises."""

    def __init__(self, engine: Engine, cfg: EventSettings) -> None:
        self.engine = engine
        self.cfg = cfg
        self.hub = EventHub()
        self._runtimes: dict[str, _Runtime] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qw-events")
        # one writer each (event loop / worker), so their difference is the backlog
        self.submitted = 0
        self.processed = 0
        self.skipped_updates = 0
        # called on the worker with every closed event and its windows (post-event health)
        self.on_closed: Callable[[str, events_pb2.Event, list[Window]], None] | None = None
        # mines: called on the worker once per event, as soon as every sensor has sent
        # ``mine_delay_s`` past the first trigger (or one of them ``mine_grace_s`` more),
        # or when the event closes first (the mine live path, ``mine_monitor.py``)
        self.on_mine_event: Callable[[MineEventData], None] | None = None
        # early warning: called on the event loop when an event opens (structure, trigger,
        # and a function that returns the windows so far: call it on the loop, or not at
        # all) and on the worker with every update of an open event
        self.on_opened: Callable[[str, int, Callable[[], list[Window]]], None] | None = None
        self.on_updated: Callable[[str, int, list[Window]], None] | None = None
        # ... and with the end time (ns) of every block, on the event loop (keep it cheap)
        self.on_data: Callable[[int], None] | None = None
        self.mine_delay_s = 1.0
        self.mine_grace_s = 1.0

    # -- lifecycle -------------------------------------------------------------------
    def close_stale(self) -> int:
        """Close events left open by a previous process (start-up)."""
        return store.close_stale(self.engine, "the server stopped while the event was open; metrics cover no samples after that")

    def shutdown(self) -> None:
        """Finish queued work, then stop the worker (open events stay open until restart)."""
        self._pool.shutdown(wait=True)
        self.hub.close_all()

    def _work(self, fn: Callable[..., None], *args: object) -> None:
        self.submitted += 1
        self._pool.submit(self._guarded, fn, *args)

    def _guarded(self, fn: Callable[..., None], *args: object) -> None:
        try:
            fn(*args)
        except Exception:  # a bug must not stop the pipeline for every other structure
            log.exception("event pipeline task %s failed", getattr(fn, "__name__", fn))
        finally:
            self.processed += 1

    # -- input (event loop) -----------------------------------------------------------
    def submit(self, structure_id: str, channel_ids: tuple[str, ...], start_ns: int, rate_hz: float, samples: np.ndarray) -> None:
        """Run detection on one accepted block (event-loop thread)."""
        rt = self._runtimes.get(structure_id) if self.cfg.enabled else None
        if rt is not None:
            for change in rt.detector.process(channel_ids, start_ns, rate_hz, samples):
                self._emit(rt, change)
            if rt.kind == "mine" and self.on_mine_event is not None:
                self._mine_ready(rt)
        if self.on_data is not None:
            self.on_data(start_ns + round(samples.shape[1] * NS / rate_hz))

    def _mine_ready(self, rt: _Runtime) -> None:
        ev = rt.detector.event
        if ev is None or ev.event_id == rt.analysed:
            return
        lo, hi = rt.detector.coverage_ns()
        target = ev.trigger_time_ns + round(self.mine_delay_s * NS)
        if lo >= target or hi >= target + round(self.mine_grace_s * NS):
            self._mine_handoff(rt, ev, rt.detector.windows())

    def _mine_handoff(self, rt: _Runtime, ev: DetectedEvent, windows: list[Window]) -> None:
        rt.analysed = ev.event_id
        if self.on_mine_event is not None:
            self._work(self.on_mine_event, MineEventData(rt.tenant, ev.structure_id, ev.event_id, ev.trigger_time_ns,
                                                         dict(ev.first_trigger_ns), windows))

    def structure_loaded(self, structure_id: str, loaded: tuple[Structure, list[Channel]] | None) -> None:
        """The ingest cache (re)read a structure, or dropped it (None): event-loop thread,
        before any block of it is submitted."""
        if loaded is None:
            self._runtimes.pop(structure_id, None)
            return
        st, chans = loaded
        rt = self._runtimes.get(structure_id)
        if rt is None or rt.kind != st.kind:  # a new kind may bring other detection settings
            self._runtimes[structure_id] = _Runtime(StructureDetector(structure_id, _metas(chans), self.cfg.for_kind(st.kind)),
                                                    st.tenant, st.kind)
        else:
            rt.tenant = st.tenant
            rt.detector.update_channels(_metas(chans))

    def _emit(self, rt: _Runtime, change: Change) -> None:
        ev = change.event
        if change.kind == "opened":
            msg = event_message(ev, events_pb2.EVENT_STATE_OPEN)
            self.hub.publish(rt.tenant, events_pb2.WatchResponse(change=events_pb2.EVENT_CHANGE_OPENED, event=msg))
            if self.on_opened is not None:
                self.on_opened(ev.structure_id, ev.trigger_time_ns, rt.detector.windows)
            self._work(store.save, self.engine, rt.tenant, msg)
        elif change.kind == "updated":
            if self.submitted - self.processed >= self.cfg.max_backlog_blocks:
                self.skipped_updates += 1
                return
            self._work(self._update, rt.tenant, event_message(ev, events_pb2.EVENT_STATE_OPEN), rt.detector.windows(), ev.trigger_time_ns)
        else:
            if rt.kind == "mine" and ev.event_id != rt.analysed and self.on_mine_event is not None:
                self._mine_handoff(rt, ev, ev.windows)
            self._work(self._close, rt.tenant, rt.kind, ev)

    # -- worker thread ----------------------------------------------------------------
    def _update(self, tenant: str, msg: events_pb2.Event, windows: list[Window], onset_ns: int) -> None:
        if self.on_updated is not None:
            self.on_updated(msg.structure_id, onset_ns, windows)
        summary_fields(msg, stations=station_intensities(windows, onset_ns))
        self.hub.publish(tenant, events_pb2.WatchResponse(change=events_pb2.EVENT_CHANGE_UPDATED, event=msg))

    def _close(self, tenant: str, kind: str, ev: DetectedEvent) -> None:
        msg = event_message(ev, events_pb2.EVENT_STATE_CLOSED)
        characterize(msg, ev, kind)
        store.save(self.engine, tenant, msg)
        self.hub.publish(tenant, events_pb2.WatchResponse(change=events_pb2.EVENT_CHANGE_CLOSED, event=msg))
        if self.on_closed is not None:
            self.on_closed(ev.structure_id, msg, ev.windows)


def _metas(chans: list[Channel]) -> dict[str, ChannelMeta]:
    return {
        c.channel_id: ChannelMeta(c.channel_id, c.seed_id, c.array_id, c.orientation, c.azimuth_deg, c.dip_deg, c.floor, c.height_m,
                                  c.units, c.sensitivity, c.x_m, c.y_m, c.z_m)
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
