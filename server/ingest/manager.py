"""The ingest session logic: per-stream and per-channel state, stateful checks
(sequence, channels, sample rate, overlaps, rate limit), quality, and hand-off to
the archive. The servicer (``api/ingest.py``) only decodes and encodes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import cast

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from quakewatch.ext.quality import block_quality

from ..auth import Access, check_structure_access
from ..errors import InvalidInput, NotFound, Unavailable
from ..settings import Settings
from ..storage.models import Channel, Structure
from ..storage.tokens import Principal
from .archive import ArchiveWriter, PendingBlock, SeedId
from .quality import ClockDriftEstimator, QualityArrays
from .validate import DecodedBlock, decode

log = logging.getLogger(__name__)
NS = 1_000_000_000


@dataclass(frozen=True)
class ChannelInfo:
    channel_id: str
    index: int
    seed: SeedId
    registered_rate_hz: float
    clip_level: float


@dataclass(frozen=True)
class ChannelSet:
    """A block's channel list resolved once and cached: indices, SEED ids, journal keys."""

    idx: np.ndarray
    seeds: tuple[SeedId, ...]
    keys: tuple[str, ...]


@dataclass
class StreamState:
    key: str
    last_sequence: int = 0  # highest accepted (durable or pending)
    durable_sequence: int = 0
    durable_end_ns: int = 0
    pending: dict[int, asyncio.Future[None]] = field(default_factory=dict)
    tokens: float = -1.0  # token bucket of samples; -1 = full
    refilled_ns: int = 0
    drift: ClockDriftEstimator = field(default_factory=ClockDriftEstimator)


@dataclass
class Counters:
    blocks_accepted: int = 0
    blocks_rejected: int = 0
    samples_accepted: int = 0
    last_block_ns: int = 0
    last_rejection: str = ""


class StructureRuntime:
    """Everything the ingest path keeps in memory for one structure."""

    def __init__(self, structure: Structure, channels: list[Channel], durable_ends: dict[str, int], rates: dict[str, float]) -> None:
        self.structure_id = structure.structure_id
        self.tenant = structure.tenant
        self.channels: dict[str, ChannelInfo] = {}
        self.qa = QualityArrays(0)
        self.end_ns = np.zeros(0, dtype=np.int64)
        self.durable_end_ns = np.zeros(0, dtype=np.int64)
        self.rate_hz = np.zeros(0, dtype=np.float64)
        self.clip = np.zeros(0, dtype=np.float64)
        self.registered_rate_hz = np.zeros(0, dtype=np.float64)
        self.infos: list[ChannelInfo] = []  # by index
        self.counters = Counters()
        self._idx: dict[tuple[str, ...], ChannelSet] = {}
        self.update_channels(channels, durable_ends, rates)

    def update_channels(self, channels: list[Channel], durable_ends: dict[str, int] | None = None, rates: dict[str, float] | None = None) -> None:
        """Add or refresh channels; existing channels keep their index and state."""
        durable_ends = durable_ends or {}
        rates = rates or {}
        for ch in channels:
            old = self.channels.get(ch.channel_id)
            index = old.index if old else len(self.channels)
            self.channels[ch.channel_id] = ChannelInfo(ch.channel_id, index, SeedId.parse(ch.seed_id), ch.sample_rate_hz, ch.clip_level)
        n = len(self.channels)
        if n > self.qa.n:
            self.qa.grow(n)
            self.end_ns = np.concatenate([self.end_ns, np.zeros(n - len(self.end_ns), dtype=np.int64)])
            self.durable_end_ns = np.concatenate([self.durable_end_ns, np.zeros(n - len(self.durable_end_ns), dtype=np.int64)])
            self.rate_hz = np.concatenate([self.rate_hz, np.zeros(n - len(self.rate_hz))])
            self.clip = np.concatenate([self.clip, np.zeros(n - len(self.clip))])
            self.registered_rate_hz = np.concatenate([self.registered_rate_hz, np.zeros(n - len(self.registered_rate_hz))])
        for info in self.channels.values():
            key = f"{self.structure_id}/{info.channel_id}"
            if key in durable_ends and self.end_ns[info.index] == 0:
                self.end_ns[info.index] = self.durable_end_ns[info.index] = durable_ends[key]
                self.rate_hz[info.index] = rates.get(key, 0.0)
            self.clip[info.index] = info.clip_level
            self.registered_rate_hz[info.index] = info.registered_rate_hz
        self.infos = sorted(self.channels.values(), key=lambda c: c.index)
        self._idx.clear()

    def channel_set(self, channel_ids: tuple[str, ...]) -> ChannelSet:
        cs = self._idx.get(channel_ids)
        if cs is None:
            missing = [c for c in channel_ids if c not in self.channels]
            if missing:
                pos = channel_ids.index(missing[0])
                raise InvalidInput(
                    f"channel_ids[{pos}]: {missing[0]!r} is not registered for structure {self.structure_id!r}",
                    field="channel_ids",
                )
            infos = [self.channels[c] for c in channel_ids]
            cs = ChannelSet(
                np.fromiter((i.index for i in infos), dtype=np.intp, count=len(infos)),
                tuple(i.seed for i in infos),
                tuple(f"{self.structure_id}/{c}" for c in channel_ids),
            )
            self._idx[channel_ids] = cs
        return cs


@dataclass(frozen=True)
class Outcome:
    """Result of submitting one block: ``durable`` is awaited before acknowledging."""

    sequence: int
    accepted: bool
    reason: str = ""
    field: str = ""
    durable: Awaitable[None] | None = None


class IngestManager:
    def __init__(self, engine: Engine, settings: Settings, archive: ArchiveWriter) -> None:
        self.engine = engine
        self.settings = settings
        self.limits = settings.limits
        self.quality = settings.quality
        self.archive = archive
        self.runtimes: dict[str, StructureRuntime] = {}
        self.streams: dict[str, StreamState] = {}
        archive.on_settled = self.settled

    # -- start-up -------------------------------------------------------------------
    def load_durable_state(self) -> None:
        for key, mark in self.archive.journal.state.streams.items():
            self.streams[key] = StreamState(
                key, last_sequence=mark.sequence, durable_sequence=mark.sequence, durable_end_ns=mark.end_time_ns
            )

    # -- registry cache ---------------------------------------------------------------
    def runtime(self, structure_id: str) -> StructureRuntime | None:
        rt = self.runtimes.get(structure_id)
        if rt is None:
            with Session(self.engine) as s:
                st = s.get(Structure, structure_id)
                if st is None:
                    return None
                chans = list(s.exec(select(Channel).where(Channel.structure_id == structure_id)))
            js = self.archive.journal.state
            rt = StructureRuntime(st, chans, js.channels, js.rates)
            self.runtimes[structure_id] = rt
        return rt

    def registry_changed(self, structure_id: str, deleted: bool = False) -> None:
        """Called by the registry servicer after a structure or its channels changed."""
        rt = self.runtimes.get(structure_id)
        if rt is None:
            return
        if deleted:
            del self.runtimes[structure_id]
            return
        with Session(self.engine) as s:
            st = s.get(Structure, structure_id)
            chans = list(s.exec(select(Channel).where(Channel.structure_id == structure_id)))
        if st is not None:
            rt.tenant = st.tenant
        rt.update_channels(chans)

    # -- queries ------------------------------------------------------------------------
    def resume_point(self, principal: Principal, structure_id: str, stream_id: str) -> tuple[int, int]:
        rt = self.runtime(structure_id)
        if rt is None:
            raise NotFound(f"structure_id: {structure_id!r} is not registered", field="structure_id")
        check_structure_access(principal, rt.tenant, Access.INGEST, structure_id)
        st = self.streams.get(f"{structure_id}/{stream_id or 'default'}")
        return (st.durable_sequence, st.durable_end_ns) if st else (0, 0)

    def drift_ppm(self, structure_id: str) -> float | None:
        vals = [s.drift.drift_ppm for k, s in self.streams.items() if k.startswith(structure_id + "/") and s.drift.drift_ppm is not None]
        return max(vals, key=abs) if vals else None

    # -- the hot path ---------------------------------------------------------------------
    def submit(self, principal: Principal, block: object) -> Outcome:
        """Validate one block and, when accepted, hand it to the archive.

        Raises PermissionDenied (the stream is ended); every other problem is an
        Outcome with ``accepted=False`` and the stream goes on.
        """
        seq = getattr(block, "sequence", 0)
        now_ns = time.time_ns()
        rt: StructureRuntime | None = None
        try:
            d = decode(block, self.limits, now_ns)  # type: ignore[arg-type]
            rt = self.runtime(d.structure_id)
            if rt is None:
                raise InvalidInput(f"structure_id: {d.structure_id!r} is not registered", field="structure_id")
            check_structure_access(principal, rt.tenant, Access.INGEST, d.structure_id)
            return self._accept(rt, d, now_ns)
        except InvalidInput as e:
            if rt is not None:
                rt.counters.blocks_rejected += 1
                rt.counters.last_rejection = e.message
            return Outcome(seq, False, e.message, e.field)

    def _accept(self, rt: StructureRuntime, d: DecodedBlock, now_ns: int) -> Outcome:
        key = f"{d.structure_id}/{d.stream_id}"
        st = self.streams.get(key)
        if st is None:
            st = self.streams[key] = StreamState(key)
        if d.sequence <= st.last_sequence:
            pending = st.pending.get(d.sequence)
            if pending is not None:
                return Outcome(d.sequence, True, f"duplicate: sequence {d.sequence} is being stored", durable=pending)
            if d.sequence <= st.durable_sequence:
                return Outcome(d.sequence, True, f"duplicate: sequence {d.sequence} is already durable")
            raise InvalidInput(
                f"sequence: {d.sequence} is not above the stream's last accepted sequence {st.last_sequence}",
                field="sequence",
            )
        cs = rt.channel_set(d.channel_ids)
        idx = cs.idx
        self._check_rate(rt, d, idx)
        self._check_time(rt, d, idx)
        n_total = d.samples.size
        self._take_tokens(st, n_total, now_ns)
        q = block_quality(d.samples, rt.clip[idx], rt.qa.carry(idx), self.quality.spike_factor)
        bad = np.flatnonzero(q.first_nonfinite >= 0)
        if bad.size:
            c = int(bad[0])
            raise InvalidInput(
                f"data: channel {d.channel_ids[c]!r} sample {int(q.first_nonfinite[c])} is NaN or infinite",
                field="data",
            )
        # -- accepted: commit the in-memory state, then hand over to the archive --
        st.tokens -= n_total
        prev_end = rt.end_ns[idx].copy()
        rt.qa.fold(idx, q, d.samples.shape[1], d.start_ns, d.end_ns, prev_end, d.rate_hz, now_ns, d.timing_quality, self.quality.gap_tolerance_samples)
        rt.end_ns[idx] = d.end_ns
        rt.rate_hz[idx] = d.rate_hz
        st.drift.add(now_ns, now_ns - d.end_ns)
        counters = rt.counters
        counters.blocks_accepted += 1
        counters.samples_accepted += n_total
        counters.last_block_ns = now_ns
        st.last_sequence = d.sequence
        fut = self.archive.submit(PendingBlock(key, d.sequence, d.start_ns, d.end_ns, d.rate_hz, cs.seeds, cs.keys, d.samples, (st, rt, idx)))
        st.pending[d.sequence] = fut
        return Outcome(d.sequence, True, durable=fut)

    def settled(self, batch: list[PendingBlock], error: BaseException | None) -> None:
        """Archive callback, once per commit: advance or roll back the durable marks."""
        for b in batch:
            st, rt, idx = cast(tuple[StreamState, StructureRuntime, np.ndarray], b.owner)
            st.pending.pop(b.sequence, None)
            if error is not None:
                # Nothing of this commit is on disk: forget what was accepted after the
                # last durable block so that the gateway's resend is accepted again.
                st.last_sequence = st.durable_sequence
                rt.end_ns[:] = rt.durable_end_ns
                continue
            if b.sequence > st.durable_sequence:
                st.durable_sequence = b.sequence
                st.durable_end_ns = max(st.durable_end_ns, b.end_time_ns)
            rt.durable_end_ns[idx] = np.maximum(rt.durable_end_ns[idx], b.end_time_ns)

    def _check_rate(self, rt: StructureRuntime, d: DecodedBlock, idx: np.ndarray) -> None:
        for rates, what in ((rt.registered_rate_hz[idx], "registered at"), (rt.rate_hz[idx], "streamed so far at")):
            bad = np.flatnonzero((rates > 0) & (np.abs(rates - d.rate_hz) > 1e-9 * d.rate_hz))
            if bad.size:
                c = int(bad[0])
                raise InvalidInput(
                    f"sample_rate_hz: {d.rate_hz:g} Hz differs from channel {d.channel_ids[c]!r} {what} {rates[c]:g} Hz",
                    field="sample_rate_hz",
                )

    def _check_time(self, rt: StructureRuntime, d: DecodedBlock, idx: np.ndarray) -> None:
        prev = rt.end_ns[idx]
        tol = self.limits.overlap_tolerance_samples * NS / d.rate_hz
        over = np.flatnonzero((prev > 0) & (d.start_ns < prev - tol))
        if over.size:
            c = int(over[0])
            rt.qa.overlaps[idx[c]] += 1
            overlap_s = (int(prev[c]) - d.start_ns) / NS
            raise InvalidInput(
                f"start_time_ns: block overlaps channel {d.channel_ids[c]!r} by {overlap_s:.6f} s "
                f"(previous block ended at {int(prev[c])} ns); timestamps must not go backwards",
                field="start_time_ns",
            )

    def _take_tokens(self, st: StreamState, n: int, now_ns: int) -> None:
        rate = self.limits.max_samples_per_s
        cap = 10.0 * rate
        if st.tokens < 0:
            st.tokens, st.refilled_ns = cap, now_ns
        st.tokens = min(cap, st.tokens + (now_ns - st.refilled_ns) / NS * rate)
        st.refilled_ns = now_ns
        if n > st.tokens:
            raise InvalidInput(
                f"data: rate limit, {n} samples exceed the stream's budget (max_samples_per_s={rate:g}, burst 10 s)",
                field="data",
            )

    async def durable(self, outcome: Outcome) -> None:
        """Wait for the block's commit; an archive failure becomes Unavailable."""
        if outcome.durable is None:
            return
        try:
            await outcome.durable
        except Exception as exc:
            raise Unavailable(f"archive: block {outcome.sequence} could not be stored ({exc}); resend after GetResumePoint") from exc
