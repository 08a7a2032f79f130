"""The ingest session logic: per-stream and per-channel state, stateful checks
(sequence, channels, sample rate, overlaps, rate limit), quality, and hand-off to
the archive. The servicer (``api/ingest.py``) only decodes and encodes."""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import cast

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from quakewatch.ext import quality as q

from ..auth import Access, check_structure_access
from ..errors import InvalidInput, NotFound, Unavailable
from ..settings import Settings
from ..storage.models import Channel, Structure
from ..storage.tokens import Principal
from .archive import ArchiveWriter, PendingBlock, SeedId
from .quality import ClockDriftEstimator
from .validate import DecodedBlock, check_id, check_unique, decode

log = logging.getLogger(__name__)
NS = 1_000_000_000
UNKNOWN_TTL_S = 5.0


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
    drift: ClockDriftEstimator = field(default_factory=ClockDriftEstimator)
    # Set when a block of the stream could not be stored (failed commit) or was refused
    # for a while (rate limit): later blocks are refused, retryably, until the gateway
    # calls GetResumePoint, so the stream never becomes durable past a hole.
    resume_required: bool = False


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
        # continuity and quality state of every channel, by channel index
        self.tracker = q.QualityTracker(0)
        self.infos: list[ChannelInfo] = []  # by index
        self.counters = Counters()
        self.n_streams = 0
        # token bucket of samples, shared by all streams of the structure (so that
        # opening more streams does not raise the limit); -1 = full
        self.tokens = -1.0
        self.refilled_ns = 0
        self._idx: dict[tuple[str, ...], ChannelSet] = {}
        self.update_channels(channels, durable_ends, rates)

    def update_channels(self, channels: list[Channel], durable_ends: dict[str, int] | None = None, rates: dict[str, float] | None = None) -> None:
        """Add or refresh channels; existing channels keep their index and state."""
        durable_ends = durable_ends or {}
        rates = rates or {}
        reset: list[int] = []
        for ch in channels:
            old = self.channels.get(ch.channel_id)
            index = old.index if old else len(self.channels)
            if old is not None and old.registered_rate_hz != ch.sample_rate_hz:
                reset.append(index)  # the owner changed the rate: the next block may use it
            self.channels[ch.channel_id] = ChannelInfo(ch.channel_id, index, SeedId.parse(ch.seed_id), ch.sample_rate_hz, ch.clip_level)
        t = self.tracker
        t.grow(len(self.channels))
        for info in self.channels.values():
            key = f"{self.structure_id}/{info.channel_id}"
            if key in durable_ends and t.end_ns[info.index] == 0:
                t.end_ns[info.index] = t.durable_end_ns[info.index] = durable_ends[key]
                rate = rates.get(key, 0.0)
                if info.registered_rate_hz <= 0 or rate == info.registered_rate_hz:
                    t.rate_hz[info.index] = rate
            t.clip_level[info.index] = info.clip_level
            t.registered_rate_hz[info.index] = info.registered_rate_hz
        for i in reset:
            t.rate_hz[i] = 0.0
        self.infos = sorted(self.channels.values(), key=lambda c: c.index)
        self._idx.clear()

    def channel_set(self, channel_ids: tuple[str, ...]) -> ChannelSet:
        cs = self._idx.get(channel_ids)
        if cs is None:
            check_unique(channel_ids)
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
            if len(self._idx) >= 256:  # keyed by client input: keep it bounded
                self._idx.clear()
            self._idx[channel_ids] = cs
        return cs


class RetryLater(InvalidInput):
    """A temporary refusal: the block is not stored and should be resent later."""

    def __init__(self, message: str, *, field: str, retry_after_ms: int) -> None:
        super().__init__(message, field=field)
        self.retry_after_ms = max(1, retry_after_ms)


@dataclass(frozen=True)
class Outcome:
    """Result of submitting one block: ``durable`` is awaited before acknowledging."""

    sequence: int
    accepted: bool
    reason: str = ""
    field: str = ""
    durable: asyncio.Future[None] | None = None
    retry_after_ms: int = 0


class IngestManager:
    def __init__(self, engine: Engine, settings: Settings, archive: ArchiveWriter) -> None:
        self.engine = engine
        self.settings = settings
        self.limits = settings.limits
        self.quality = settings.quality
        self.archive = archive
        self.runtimes: dict[str, StructureRuntime] = {}
        self.streams: dict[str, StreamState] = {}
        self._unknown: dict[str, float] = {}  # structure id -> monotonic time it was found missing
        archive.on_settled = self.settled
        # Called with every accepted block (structure id, channel ids, start ns, rate, samples),
        # before it is durable: event detection (analysis/events.py) must not wait for the disk.
        self.on_block: Callable[[str, tuple[str, ...], int, float, np.ndarray], None] | None = None
        # Called with a structure and its channels whenever they are (re)read into the
        # cache, and with (structure id, None) when the structure is deleted.
        self.on_structure: Callable[[str, tuple[Structure, list[Channel]] | None], None] | None = None

    # -- start-up -------------------------------------------------------------------
    def load_durable_state(self) -> None:
        # streams are counted against their structure when it is loaded (load_runtime)
        for key, mark in self.archive.journal.state.streams.items():
            self.streams[key] = StreamState(
                key, last_sequence=mark.sequence, durable_sequence=mark.sequence, durable_end_ns=mark.end_time_ns
            )

    # -- registry cache ---------------------------------------------------------------
    def runtime(self, structure_id: str) -> StructureRuntime | None:
        """The cached runtime; None when not loaded (see :meth:`load_runtime`)."""
        return self.runtimes.get(structure_id)

    async def load_runtime(self, structure_id: str) -> StructureRuntime | None:
        """Load a structure into the cache (database read in a worker thread); unknown
        ids are remembered for a few seconds so that a misconfigured gateway does not
        turn every block into a query."""
        rt = self.runtimes.get(structure_id)
        if rt is not None:
            return rt
        seen = self._unknown.get(structure_id)
        if seen is not None and time.monotonic() - seen < UNKNOWN_TTL_S:
            return None
        loaded = await asyncio.to_thread(self._read_structure, structure_id)
        if loaded is None:
            if len(self._unknown) > 10_000:
                self._unknown.clear()
            self._unknown[structure_id] = time.monotonic()
            return None
        rt = self.runtimes.get(structure_id)  # another stream may have loaded it meanwhile
        if rt is None:
            js = self.archive.journal.state
            rt = self.runtimes[structure_id] = StructureRuntime(loaded[0], loaded[1], js.channels, js.rates)
            rt.n_streams = sum(1 for k in self.streams if k.startswith(structure_id + "/"))
            if self.on_structure is not None:
                self.on_structure(structure_id, loaded)
        return rt

    def _read_structure(self, structure_id: str) -> tuple[Structure, list[Channel]] | None:
        with Session(self.engine) as s:
            st = s.get(Structure, structure_id)
            if st is None:
                return None
            return st, list(s.exec(select(Channel).where(Channel.structure_id == structure_id)))

    async def registry_changed(self, structure_id: str, deleted: bool = False) -> None:
        """Called by the registry servicer after a structure or its channels changed."""
        self._unknown.pop(structure_id, None)
        if deleted:
            if self.on_structure is not None:
                self.on_structure(structure_id, None)
            self.runtimes.pop(structure_id, None)
            for key in [k for k in self.streams if k.startswith(structure_id + "/")]:
                del self.streams[key]
            await self.archive.purge(structure_id)  # resume points, channel ends, rates
            return
        rt = self.runtimes.get(structure_id)
        if rt is None:
            return
        loaded = await asyncio.to_thread(self._read_structure, structure_id)
        if loaded is not None:
            rt.tenant = loaded[0].tenant
            rt.update_channels(loaded[1])
            if self.on_structure is not None:
                self.on_structure(structure_id, loaded)

    # -- queries ------------------------------------------------------------------------
    def resume_point(self, principal: Principal, structure_id: str, stream_id: str) -> tuple[int, int]:
        rt = self.runtime(structure_id)
        if rt is None:
            raise NotFound(f"structure_id: {structure_id!r} is not registered", field="structure_id")
        check_structure_access(principal, rt.tenant, Access.INGEST, structure_id)
        st = self.streams.get(f"{structure_id}/{stream_id or 'default'}")
        if st is None:
            return 0, 0
        if st.resume_required and not st.pending:
            st.resume_required = False  # the gateway now knows where to resume
        return st.durable_sequence, st.durable_end_ns

    def drift_ppm(self, structure_id: str) -> float | None:
        # called from worker threads while the loop may add streams: iterate a copy
        vals = [s.drift.drift_ppm for k, s in list(self.streams.items()) if k.startswith(structure_id + "/") and s.drift.drift_ppm is not None]
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
                check_id(d.structure_id, "structure_id")
                raise InvalidInput(f"structure_id: {d.structure_id!r} is not registered", field="structure_id")
            check_structure_access(principal, rt.tenant, Access.INGEST, d.structure_id)
            return self._accept(rt, d, now_ns)
        except InvalidInput as e:
            if rt is not None:
                rt.counters.blocks_rejected += 1
                rt.counters.last_rejection = e.message
            return Outcome(seq, False, e.message, e.field, retry_after_ms=getattr(e, "retry_after_ms", 0))

    def _accept(self, rt: StructureRuntime, d: DecodedBlock, now_ns: int) -> Outcome:
        key = f"{d.structure_id}/{d.stream_id}"
        st = self.streams.get(key)
        if st is None:
            check_id(d.stream_id, "stream_id")
            if rt.n_streams >= self.limits.max_streams_per_structure:
                raise InvalidInput(
                    f"stream_id: structure {rt.structure_id!r} already has {rt.n_streams} streams "
                    f"(max_streams_per_structure={self.limits.max_streams_per_structure})",
                    field="stream_id",
                )
            st = self.streams[key] = StreamState(key)
            rt.n_streams += 1
        if st.resume_required:
            raise RetryLater(
                f"sequence: the stream must resume after its last durable sequence {st.durable_sequence}; call GetResumePoint",
                field="sequence",
                retry_after_ms=100,
            )
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
        n_total = d.samples.size
        self._take_tokens(rt, st, n_total, now_ns)
        qs = self.quality
        status, row, detail = rt.tracker.update(
            d.samples, cs.idx, d.start_ns, d.end_ns, d.rate_hz, now_ns, d.timing_quality,
            qs.spike_factor, qs.gap_tolerance_samples, self.limits.overlap_tolerance_samples,
        )
        if status != q.OK:
            raise self._refusal(rt, d, cs.idx[row], d.channel_ids[row], status, detail)
        # -- accepted: the tracker holds the new state; hand over to the archive --
        rt.tokens -= n_total
        st.drift.add(now_ns, now_ns - d.end_ns)
        counters = rt.counters
        counters.blocks_accepted += 1
        counters.samples_accepted += n_total
        counters.last_block_ns = now_ns
        st.last_sequence = d.sequence
        fut = self.archive.submit(PendingBlock(key, d.sequence, d.start_ns, d.end_ns, d.rate_hz, cs.seeds, cs.keys, d.samples, (st, rt, cs.idx)))
        st.pending[d.sequence] = fut
        if self.on_block is not None:
            self.on_block(d.structure_id, d.channel_ids, d.start_ns, d.rate_hz, d.samples)
        return Outcome(d.sequence, True, durable=fut)

    def settled(self, batch: list[PendingBlock], error: BaseException | None) -> None:
        """Archive callback, once per commit: advance or roll back the durable marks."""
        for b in batch:
            st, rt, idx = cast(tuple[StreamState, StructureRuntime, np.ndarray], b.owner)
            st.pending.pop(b.sequence, None)
            if error is not None:
                # Nothing of this commit is on disk: forget what was accepted after the
                # last durable block, and refuse the stream's later blocks until the
                # gateway resumes (the archive also failed every block queued behind).
                st.last_sequence = st.durable_sequence
                st.resume_required = True
                rt.tracker.rollback(idx)
                continue
            if b.sequence > st.durable_sequence:
                st.durable_sequence = b.sequence
                st.durable_end_ns = max(st.durable_end_ns, b.end_time_ns)
            rt.tracker.mark_durable(idx, b.end_time_ns)

    def _refusal(self, rt: StructureRuntime, d: DecodedBlock, index: int, channel_id: str, status: int, detail: int) -> InvalidInput:
        """The error for a block the tracker refused at channel ``index`` (see QualityTracker.update)."""
        t = rt.tracker
        if status in (q.RATE_REGISTERED, q.RATE_STREAMED):
            what, rate = ("registered at", t.registered_rate_hz[index]) if status == q.RATE_REGISTERED else ("streamed so far at", t.rate_hz[index])
            return InvalidInput(
                f"sample_rate_hz: {d.rate_hz:g} Hz differs from channel {channel_id!r} {what} {rate:g} Hz",
                field="sample_rate_hz",
            )
        if status == q.OVERLAP:
            prev = int(t.end_ns[index])
            return InvalidInput(
                f"start_time_ns: block overlaps channel {channel_id!r} by {(prev - d.start_ns) / NS:.6f} s "
                f"(previous block ended at {prev} ns); timestamps must not go backwards",
                field="start_time_ns",
            )
        return InvalidInput(f"data: channel {channel_id!r} sample {detail} is NaN or infinite", field="data")

    def _take_tokens(self, rt: StructureRuntime, st: StreamState, n: int, now_ns: int) -> None:
        rate = self.limits.max_samples_per_s
        cap = 10.0 * rate
        if rt.tokens < 0:
            rt.tokens, rt.refilled_ns = cap, now_ns
        rt.tokens = min(cap, rt.tokens + (now_ns - rt.refilled_ns) / NS * rate)
        rt.refilled_ns = now_ns
        if n > rt.tokens:
            st.resume_required = True  # later blocks wait too, so that order is kept
            raise RetryLater(
                f"data: rate limit, {n} samples exceed the structure's budget (max_samples_per_s={rate:g}, burst 10 s)",
                field="data",
                retry_after_ms=int(1000 * (n - rt.tokens) / rate) + 1,
            )

    async def durable(self, outcome: Outcome) -> None:
        """Wait for the block's commit; an archive failure becomes Unavailable."""
        fut = outcome.durable
        if fut is None:
            return
        try:
            if fut.done():  # the other blocks of a commit: no waiting machinery
                fut.result()
            else:
                # shielded: the future is shared by every block of a commit, and a
                # stream that goes away must not cancel it for the others
                await asyncio.shield(fut)
        except OSError as exc:
            code = errno.errorcode.get(exc.errno or 0, "EIO")
            raise Unavailable(f"archive: block {outcome.sequence} could not be stored ({code}); resend after GetResumePoint") from exc
        except asyncio.CancelledError:
            if fut.cancelled():  # the commit itself, not this stream, was cancelled
                raise Unavailable(f"archive: block {outcome.sequence} could not be stored; resend after GetResumePoint") from None
            raise
        except Exception as exc:
            raise Unavailable(f"archive: block {outcome.sequence} could not be stored; resend after GetResumePoint") from exc
