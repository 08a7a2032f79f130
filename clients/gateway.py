"""A field gateway: streams sample blocks, keeps every block until it is
acknowledged, and after a lost connection resumes after the server's last durable
sequence, so nothing is lost and nothing is stored twice.

The producer (simulation, file replay) runs independently of the connection, as a
real gateway's digitiser does: while the link is down, blocks accumulate in the
outbox (bounded by ``max_outbox``) and go out when it comes back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field

from typing import Any

import grpc
import numpy as np

from quakewatch.v1 import ingest_pb2

from .client import AsyncClient

log = logging.getLogger(__name__)
NS = 1_000_000_000
RETRY_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.ABORTED}


@dataclass
class GatewayStats:
    blocks_sent: int = 0
    blocks_acked: int = 0
    blocks_rejected: int = 0
    samples_acked: int = 0
    last_acked_sequence: int = 0
    first_sequence: int = 0
    duplicates_acked: int = 0
    reconnects: int = 0
    retries: int = 0  # blocks refused for now (rate limit) and kept for resending
    resumed_after_sequence: list[int] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    ack_latency_s: list[float] = field(default_factory=list)


@dataclass
class Block:
    msg: ingest_pb2.SampleBlock
    n_total: int
    produced_at: float


def make_block(structure_id: str, stream_id: str, sequence: int, start_ns: int, rate_hz: float, channel_ids: list[str], data: np.ndarray) -> ingest_pb2.SampleBlock:
    """A SampleBlock from an array (n_channels, n_samples): float -> FLOAT32_LE, int -> INT32_LE."""
    if np.issubdtype(data.dtype, np.integer):
        enc, payload = ingest_pb2.ENCODING_INT32_LE, np.ascontiguousarray(data, dtype="<i4").tobytes()
    else:
        enc, payload = ingest_pb2.ENCODING_FLOAT32_LE, np.ascontiguousarray(data, dtype="<f4").tobytes()
    return ingest_pb2.SampleBlock(
        structure_id=structure_id,
        stream_id=stream_id,
        sequence=sequence,
        start_time_ns=start_ns,
        sample_rate_hz=rate_hz,
        channel_ids=channel_ids,
        encoding=enc,
        n_samples=data.shape[1],
        data=payload,
    )


#: Blocks in flight (sent, not yet acknowledged) per stream. An ACK comes only after
#: the server's group commit is on disk (tens of ms), so a stream needs this many
#: blocks in flight to keep the server busy while it catches up (backfill, replay,
#: reconnection); the bandwidth-delay product of one-second blocks at ~5,000 blocks/s
#: and ~50 ms is ~250. A live stream has one block in flight whatever the window.
DEFAULT_WINDOW = 256


class Gateway:
    def __init__(self, client: AsyncClient, structure_id: str, stream_id: str = "default", *, window: int = DEFAULT_WINDOW, max_outbox: int = 100_000, retry_timeout_s: float = 120.0) -> None:
        self.client = client
        self.structure_id = structure_id
        self.stream_id = stream_id
        self.window = window
        self.max_outbox = max_outbox
        self.retry_timeout_s = retry_timeout_s
        self.stats = GatewayStats()
        self.outbox: OrderedDict[int, Block] = OrderedDict()
        self.next_sequence = 1
        self._changed = asyncio.Event()
        self._producer_done = False
        self._last_progress = time.monotonic()
        self._retry_after_s = 0.0  # > 0: the server asked to pause and resume

    async def resume_point(self) -> tuple[int, int]:
        """(last durable sequence, end time ns of the last durable block) on the server."""
        r = await self.client.ingest.GetResumePoint(ingest_pb2.GetResumePointRequest(structure_id=self.structure_id, stream_id=self.stream_id))
        return r.last_durable_sequence, r.last_end_time_ns

    async def resume(self) -> int:
        """Continue after the server's last durable block of this stream: the next block
        gets the following sequence number; returns that block's end time (ns, 0 if none),
        before which new data would overlap what the server holds."""
        seq, end_ns = await self.resume_point()
        self.next_sequence = seq + 1
        return end_ns

    async def put(self, start_ns: int, rate_hz: float, channel_ids: list[str], data: np.ndarray) -> None:
        """Queue one block (waits while the outbox is full)."""
        while len(self.outbox) >= self.max_outbox:
            self._changed.clear()
            await self._changed.wait()
        seq = self.next_sequence
        self.next_sequence += 1
        if not self.stats.first_sequence:
            self.stats.first_sequence = seq
        msg = make_block(self.structure_id, self.stream_id, seq, start_ns, rate_hz, channel_ids, data)
        self.outbox[seq] = Block(msg, int(data.size), time.monotonic())
        self._changed.set()

    def producer_done(self) -> None:
        self._producer_done = True
        self._changed.set()

    async def stream(self, producer: Coroutine[Any, Any, None]) -> GatewayStats:
        """Run ``producer`` (it puts the blocks, then calls :meth:`producer_done`)
        while :meth:`run` sends them; a producer that fails stops the stream with its error."""
        task = asyncio.create_task(producer)
        sender = asyncio.create_task(self.run())
        try:
            done, _ = await asyncio.wait({task, sender}, return_when=asyncio.FIRST_EXCEPTION)
            if task in done and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
            return await sender
        finally:
            task.cancel()
            sender.cancel()

    async def run(self) -> GatewayStats:
        """Stream until the producer is done and every block is acknowledged.

        Transient failures (connection loss, server restart, a call that ends before
        every block is answered, a retryable rejection) lead to a reconnect with
        backoff and a resume after the server's last durable sequence; the attempt
        gives up only after ``retry_timeout_s`` without any progress.
        """
        backoff = 0.1
        first = True
        self._last_progress = time.monotonic()
        while True:
            try:
                seq, _ = await self.resume_point()
                self._last_progress = time.monotonic()
                self._prune(seq)
                if not first:
                    self.stats.reconnects += 1
                    self.stats.resumed_after_sequence.append(seq)
                first = False
                if self._producer_done and not self.outbox:
                    return self.stats
                self._retry_after_s = 0.0
                await self._stream()
                if self._producer_done and not self.outbox:
                    return self.stats
                # the call ended with blocks unanswered or refused for now: try again
                wait = max(self._retry_after_s, backoff)
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in RETRY_CODES:
                    raise
                log.info("connection lost (%s); retrying in %.1f s", exc.code().name, backoff)
                wait = backoff
            if time.monotonic() - self._last_progress > self.retry_timeout_s:
                raise TimeoutError(f"gateway: no progress for {self.retry_timeout_s:g} s; {len(self.outbox)} blocks unacknowledged")
            await asyncio.sleep(wait)
            backoff = min(2.0, backoff * 2)

    def _prune(self, durable: int) -> None:
        """Blocks the server already holds were acknowledged before the link broke."""
        for seq in [s for s in self.outbox if s <= durable]:
            self._acked(self.outbox.pop(seq), seq, duplicate=True)
        self._changed.set()

    def _acked(self, b: Block, seq: int, duplicate: bool = False) -> None:
        self._last_progress = time.monotonic()
        self.stats.blocks_acked += 1
        self.stats.samples_acked += b.n_total
        self.stats.last_acked_sequence = max(self.stats.last_acked_sequence, seq)
        self.stats.duplicates_acked += duplicate
        if len(self.stats.ack_latency_s) < 100_000:
            self.stats.ack_latency_s.append(time.monotonic() - b.produced_at)

    async def _stream(self) -> None:
        inflight: set[int] = set()
        slots = asyncio.Event()
        slots.set()

        async def requests() -> AsyncIterator[ingest_pb2.SampleBlock]:
            sent: set[int] = set()
            while True:
                if self._retry_after_s:
                    return  # paused by the server: end the call, resume later
                todo = [s for s in self.outbox if s not in sent]
                if not todo:
                    if self._producer_done and not self.outbox:
                        return
                    self._changed.clear()
                    await self._changed.wait()
                    continue
                for s in todo:
                    while len(inflight) >= self.window and not self._retry_after_s:
                        slots.clear()
                        await slots.wait()
                    if self._retry_after_s:
                        return
                    b = self.outbox.get(s)
                    if b is None:
                        continue
                    sent.add(s)
                    inflight.add(s)
                    self.stats.blocks_sent += 1
                    yield b.msg

        call = self.client.ingest.Stream(requests())
        async for ack in call:
            inflight.discard(ack.sequence)
            slots.set()
            if ack.status == ingest_pb2.INGEST_STATUS_REJECTED and ack.retry_after_ms:
                # temporary: keep the block; stop sending; resume from the server's mark
                self._retry_after_s = max(self._retry_after_s, ack.retry_after_ms / 1000)
                self.stats.retries += 1
                self._changed.set()
                continue
            b = self.outbox.pop(ack.sequence, None)
            if b is None:
                continue
            if ack.status == ingest_pb2.INGEST_STATUS_ACCEPTED:
                self._acked(b, ack.sequence, duplicate=ack.reason.startswith("duplicate"))
            else:
                self.stats.blocks_rejected += 1
                if len(self.stats.rejections) < 100:
                    self.stats.rejections.append(f"{ack.sequence}: {ack.reason}")
            self._changed.set()
