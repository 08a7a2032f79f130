"""Streaming event detection for one structure: per-channel triggers, then array coincidence.

Every accepted ingest block goes through :meth:`StructureDetector.process` in sample
order. Per channel list ("group": the channels one gateway stream carries together):

1. counts are divided by the channel's sensitivity (physical units);
2. a causal Butterworth band-pass (order 2, ``EventSettings.band_hz``, upper corner
   capped at 0.45 fs) removes the sensor offset and out-of-band noise; its state
   starts at the steady state of the first sample, so an offset gives no transient;
3. the recursive STA/LTA (:class:`quakewatch.ext.trigger.RecursiveStaLta`) and the
   on/off hysteresis (:class:`quakewatch.ext.trigger.TriggerOnset`) run with their
   state carried across blocks, so the result does not depend on how the record is
   cut into blocks (the first ``lta_s`` after the start or after a gap are warm-up:
   no trigger).

The structure-level coincidence counts the triggered motion channels (acceleration,
velocity, displacement; temperature and strain channels never vote). An event opens
when the count reaches the threshold (``EventSettings``); its onset time is the
earliest trigger-on among the channels then triggered (ObsPy's coincidence ``time``). It
closes ``post_event_s`` after the count has fallen below it (a new coincidence within
that time extends the same event), or ``max_event_s`` after it opened.

A block that overlaps samples the detector has already seen (a gateway resending after
a failed archive commit) is cut to its new part; a gap restarts the group's filters and
triggers (its triggered channels are released at the gap). The three components of a
station are expected in one group; groups are not time-aligned with each other.

The detector keeps ``pre_event_s`` of samples per channel in a ring buffer (float32,
streamed units), and every block while an event is open, so that the event can be
characterised on close without reading the archive back; windows are converted to
physical units when they are taken.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import butter

from quakewatch.ext.filters import sos_filter
from quakewatch.ext.trigger import RecursiveStaLta, TriggerOnset

from ..settings import EventSettings

NS = 1_000_000_000
MOTION_UNITS = ("acceleration_mps2", "velocity_mps", "displacement_m")


@dataclass(frozen=True)
class ChannelMeta:
    """What the detector needs to know of a registered channel."""

    channel_id: str
    seed_id: str = ""
    array_id: str = ""
    orientation: str = ""
    azimuth_deg: float = 0.0
    dip_deg: float = 0.0
    floor: int = 0
    height_m: float = 0.0
    units: str = "acceleration_mps2"
    sensitivity: float = 1.0
    x_m: float = 0.0  # position in the structure's local frame (east, north, up)
    y_m: float = 0.0
    z_m: float = 0.0

    @property
    def is_motion(self) -> bool:
        return self.units in MOTION_UNITS


@dataclass
class Window:
    """Physical samples of one group around an event: shape (n_channels, n), float64."""

    channels: tuple[ChannelMeta, ...]
    rate_hz: float
    start_ns: int
    data: np.ndarray

    @property
    def end_ns(self) -> int:
        return self.start_ns + round(self.data.shape[1] * NS / self.rate_hz)


@dataclass
class DetectedEvent:
    """An event as the detector sees it; ``end_time_ns`` is 0 while it is open."""

    event_id: str
    structure_id: str
    trigger_time_ns: int  # earliest trigger-on among the coinciding channels
    coincidence_time_ns: int  # when the count reached the threshold
    threshold: int
    n_channels: int
    first_trigger_ns: dict[str, int] = field(default_factory=dict)
    peak_sta_lta: dict[str, float] = field(default_factory=dict)
    max_count: int = 0
    end_time_ns: int = 0
    windows: list[Window] = field(default_factory=list)
    opened_wall_ns: int = field(default_factory=time.time_ns)  # server clock at opening

    @property
    def is_open(self) -> bool:
        return self.end_time_ns == 0


@dataclass(frozen=True)
class Change:
    """What :meth:`StructureDetector.process` reports: ``kind`` is "opened", "updated" or "closed"."""

    kind: str
    event: DetectedEvent


class _Group:
    """Trigger state of one channel list at one sample rate."""

    def __init__(self, metas: tuple[ChannelMeta, ...], rate_hz: float, start_ns: int, cfg: EventSettings) -> None:
        self.metas = metas
        self.rate_hz = rate_hz
        self.period_ns = NS / rate_hz
        self.cfg = cfg
        self.motion = np.flatnonzero([m.is_motion for m in metas])
        self.motion_ids = [metas[i].channel_id for i in self.motion]
        self.scale = np.array([1.0 / m.sensitivity if m.sensitivity else 1.0 for m in metas])[:, None]
        lo, hi = cfg.band_hz
        hi = min(hi, 0.45 * rate_hz)
        if lo < hi:
            self.sos = butter(2, [lo, hi], btype="bandpass", fs=rate_hz, output="sos")
        else:  # a very low rate: offset removal only
            self.sos = butter(2, min(lo, 0.4 * rate_hz), btype="highpass", fs=rate_hz, output="sos")
        self.nsta = max(1, round(cfg.sta_s * rate_hz))
        self.nlta = max(self.nsta + 1, round(cfg.lta_s * rate_hz))
        self.n_ring = max(1, math.ceil(cfg.pre_event_s * rate_hz))
        self.ring = np.zeros((len(metas), self.n_ring), dtype=np.float32)
        self.restart(start_ns)

    def restart(self, start_ns: int) -> None:
        n_m = self.motion.size
        self.origin_ns = start_ns
        self.n_seen = 0
        self.filter = sos_filter(self.sos, max(n_m, 1), scale=self.scale[self.motion, 0] if n_m else None)  # primed from the first sample
        self.sta = RecursiveStaLta(self.nsta, self.nlta, max(n_m, 1))
        self.onset = TriggerOnset(self.cfg.trigger_on, self.cfg.trigger_off, max(n_m, 1))
        self.ring_fill = 0

    def time_ns(self, index: int) -> int:
        return self.origin_ns + round(index * self.period_ns)

    @property
    def next_ns(self) -> int:
        return self.time_ns(self.n_seen)

    def ring_window(self) -> np.ndarray:
        """The buffered pre-event samples, oldest first, float64 in streamed units."""
        pos = self.ring_fill % self.n_ring
        if self.ring_fill >= self.n_ring:
            return np.concatenate([self.ring[:, pos:], self.ring[:, :pos]], axis=1).astype(np.float64)
        return self.ring[:, :pos].astype(np.float64)

    def push_ring(self, x: np.ndarray) -> None:
        """Append samples (streamed units, stored as float32: exact for 24-bit counts);
        the write position is always ``ring_fill % n_ring`` (the oldest sample)."""
        n = x.shape[1]
        if n >= self.n_ring:
            self.ring_fill += n
            self.ring[:] = np.roll(x[:, n - self.n_ring:], self.ring_fill % self.n_ring, axis=1)
            return
        pos = self.ring_fill % self.n_ring
        first = min(n, self.n_ring - pos)
        self.ring[:, pos:pos + first] = x[:, :first]
        if first < n:
            self.ring[:, : n - first] = x[:, first:]
        self.ring_fill += n

    def triggers(self, samples: np.ndarray) -> tuple[np.ndarray, list[tuple[int, bool, int]]]:
        """Characteristic function and (sample index, on?, channel) transitions in time order."""
        if self.motion.size == 0:
            return np.zeros((0, samples.shape[1])), []
        x = samples if self.motion.size == samples.shape[0] else samples[self.motion]
        cf = self.sta.process(self.filter.process(x))
        upd = self.onset.process(cf)
        if not (upd.on.size or upd.off.size):
            return cf, []
        trans = [(int(i), True, int(c)) for c, i in upd.on] + [(int(i), False, int(c)) for c, i in upd.off]
        trans.sort(key=lambda t: (t[0], t[1]))
        return cf, trans


class StructureDetector:
    """Triggers and coincidence of one structure, fed block by block (not thread-safe:
    one caller at a time, in sample order per group)."""

    def __init__(self, structure_id: str, channels: dict[str, ChannelMeta], cfg: EventSettings) -> None:
        self.structure_id = structure_id
        self.channels = dict(channels)
        self.cfg = cfg
        self.groups: dict[tuple[str, ...], _Group] = {}
        self.active: dict[str, int] = {}  # triggered channel -> its on time
        self.event: DetectedEvent | None = None
        self._below_since_ns: int | None = None
        self._next_update_ns = 0
        self._event_parts: dict[tuple[str, ...], list[np.ndarray]] = {}
        self._event_starts: dict[tuple[str, ...], int] = {}

    # -- configuration ---------------------------------------------------------------
    def update_channels(self, channels: dict[str, ChannelMeta]) -> None:
        """Registry change: groups whose channels changed start afresh."""
        changed = {cid for cid in set(self.channels) | set(channels) if self.channels.get(cid) != channels.get(cid)}
        self.channels = dict(channels)
        for key in [k for k in self.groups if changed.intersection(k)]:
            del self.groups[key]
            for cid in key:
                self.active.pop(cid, None)

    @property
    def n_motion_channels(self) -> int:
        seen = {m.channel_id for g in self.groups.values() for m in g.metas if m.is_motion}
        return len(seen)

    def threshold(self) -> int:
        n = self.n_motion_channels
        need = max(self.cfg.coincidence_min_channels, math.ceil(self.cfg.coincidence_fraction * n))
        return max(1, min(need, n))

    # -- the stream ----------------------------------------------------------------------
    def process(self, channel_ids: tuple[str, ...], start_ns: int, rate_hz: float, samples: np.ndarray) -> list[Change]:
        """Feed one block, shape (len(channel_ids), n) in streamed units; returns what changed."""
        group = self.groups.get(channel_ids)
        if group is None or group.rate_hz != rate_hz:
            metas = tuple(self.channels.get(c, ChannelMeta(c)) for c in channel_ids)
            group = self.groups[channel_ids] = _Group(metas, rate_hz, start_ns, self.cfg)
        n = samples.shape[1]
        skip = round((group.next_ns - start_ns) / group.period_ns)
        changes: list[Change] = []
        if skip >= n:
            return changes  # already seen (resent after a failed commit)
        if skip < 0:  # a gap: triggers restart, channels of the group are released
            for c in channel_ids:
                if self.active.pop(c, None) is not None:
                    self._count_changed(start_ns, changes)
            group.restart(start_ns)
            skip = 0
        elif skip > 0:
            samples = samples[:, skip:]
            start_ns = group.next_ns
        cf, trans = group.triggers(samples)
        motion_ids = group.motion_ids
        for idx, on, row in trans:
            cid = motion_ids[row]
            t = group.time_ns(idx)
            if on:
                self.active[cid] = t
            else:
                self.active.pop(cid, None)
            self._count_changed(t, changes)
        ev = self.event
        if ev is not None and ev.is_open:
            self._append(channel_ids, start_ns, samples)
            if cf.size:
                peaks = cf.max(axis=1)
                for row, cid in enumerate(motion_ids):
                    if peaks[row] > ev.peak_sta_lta.get(cid, 0.0):
                        ev.peak_sta_lta[cid] = float(peaks[row])
        group.n_seen += samples.shape[1]
        end_ns = group.next_ns
        group.push_ring(samples)
        if ev is not None and ev.is_open:
            closed = self._maybe_close(end_ns)
            if closed is not None:
                changes.append(Change("closed", closed))
            elif end_ns >= self._next_update_ns:
                self._next_update_ns = end_ns + round(self.cfg.update_interval_s * NS)
                changes.append(Change("updated", ev))
        return changes

    def _count_changed(self, t_ns: int, changes: list[Change]) -> None:
        count, thr = len(self.active), self.threshold()
        ev = self.event
        if ev is not None and ev.is_open:
            ev.max_count = max(ev.max_count, count)
            for cid, on_ns in self.active.items():
                ev.first_trigger_ns.setdefault(cid, on_ns)
            self._below_since_ns = None if count >= thr else (self._below_since_ns or t_ns)
            return
        if count < thr:
            return
        onset = min(self.active.values())
        ev = self.event = DetectedEvent(uuid.uuid4().hex, self.structure_id, onset, t_ns, thr, self.n_motion_channels, max_count=count)
        ev.first_trigger_ns.update(self.active)
        self._below_since_ns = None
        self._next_update_ns = t_ns + round(self.cfg.update_interval_s * NS)
        self._start_event_buffers()
        changes.append(Change("opened", ev))

    def _start_event_buffers(self) -> None:
        """Pre-event samples of every group. The ring holds each group's samples up to
        its current block, which is appended whole once its transitions are handled."""
        self._event_parts.clear()
        self._event_starts.clear()
        for key, g in self.groups.items():
            pre = g.ring_window()
            self._event_parts[key] = [pre]
            self._event_starts[key] = g.next_ns - round(pre.shape[1] * g.period_ns)

    def _append(self, key: tuple[str, ...], start_ns: int, samples: np.ndarray) -> None:
        parts = self._event_parts.setdefault(key, [])
        if not parts:
            self._event_starts[key] = start_ns
        parts.append(samples)

    def _maybe_close(self, end_ns: int) -> DetectedEvent | None:
        ev = self.event
        assert ev is not None
        post = round(self.cfg.post_event_s * NS)
        too_long = end_ns - ev.trigger_time_ns >= round(self.cfg.max_event_s * NS)
        quiet = self._below_since_ns is not None and end_ns - self._below_since_ns >= post
        if not (too_long or quiet):
            return None
        ev.end_time_ns = min(end_ns, self._below_since_ns + post) if quiet and self._below_since_ns is not None else end_ns
        ev.windows = self.windows()
        self.event = None
        self._event_parts.clear()
        self._event_starts.clear()
        return ev

    def coverage_ns(self) -> tuple[int, int]:
        """The earliest and the latest time up to which a group has been fed (0, 0 before any)."""
        ends = [g.next_ns for g in self.groups.values()]
        return (min(ends), max(ends)) if ends else (0, 0)

    def windows(self) -> list[Window]:
        """The samples buffered for the open event, per group (pre-event included), in
        physical units (counts divided by the sensitivity)."""
        out = []
        for key, parts in self._event_parts.items():
            g = self.groups.get(key)
            if g is None or not parts:
                continue
            data = np.concatenate(parts, axis=1, dtype=np.float64) if len(parts) > 1 else parts[0].astype(np.float64)
            if data.shape[1]:
                out.append(Window(g.metas, g.rate_hz, self._event_starts[key], data * g.scale))
        return out
