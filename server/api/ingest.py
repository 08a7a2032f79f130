"""IngestService servicer: a bidirectional stream, read and acknowledged concurrently.

A reader task validates and submits each block as it arrives; the response side
waits for each block's durability in arrival order and acknowledges it. The queue
between them is bounded (``max_inflight_blocks``), so a slow disk pushes back on
the gateway through gRPC flow control instead of growing memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import cast

import grpc
from sqlalchemy.engine import Engine

from quakewatch.v1 import ingest_pb2, ingest_pb2_grpc

from ..errors import QuakeWatchError, Unauthenticated, Unavailable
from ..storage.tokens import is_active
from ..ingest.manager import IngestManager, Outcome
from .context import current_principal

_END = object()
log = logging.getLogger(__name__)


class IngestServicer(ingest_pb2_grpc.IngestServiceServicer):
    TOKEN_RECHECK_S = 60.0

    def __init__(self, manager: IngestManager, max_inflight: int, engine: Engine) -> None:
        self.manager = manager
        self.max_inflight = max_inflight
        self.engine = engine

    async def Stream(self, request_iterator: AsyncIterator[ingest_pb2.SampleBlock], context: grpc.aio.ServicerContext) -> AsyncIterator[ingest_pb2.IngestAck]:
        principal = current_principal()
        queue: asyncio.Queue[object] = asyncio.Queue(self.max_inflight)
        manager = self.manager

        async def read() -> None:
            checked = time.monotonic()
            try:
                async for block in request_iterator:
                    if time.monotonic() - checked > self.TOKEN_RECHECK_S:
                        # a stream lives for months: a revoked token must not keep it open
                        if not await asyncio.to_thread(is_active, self.engine, principal.token_id):
                            raise Unauthenticated("authorization: the token was revoked")
                        checked = time.monotonic()
                    if block.structure_id not in manager.runtimes:
                        await manager.load_runtime(block.structure_id)
                    outcome = manager.submit(principal, block)
                    await queue.put((block.structure_id, block.stream_id, outcome))
            except QuakeWatchError as exc:
                await queue.put(exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Never end the call with OK while blocks are unanswered: the gateway
                # must reconnect and resume.
                log.exception("ingest stream reader failed")
                await queue.put(Unavailable("ingest: internal error while reading the stream; resume after GetResumePoint"))
            finally:
                await queue.put(_END)

        reader = asyncio.create_task(read())
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, QuakeWatchError):
                    raise item
                structure_id, stream_id, outcome = cast(tuple[str, str, Outcome], item)
                await manager.durable(outcome)
                yield ingest_pb2.IngestAck(
                    sequence=outcome.sequence,
                    status=ingest_pb2.INGEST_STATUS_ACCEPTED if outcome.accepted else ingest_pb2.INGEST_STATUS_REJECTED,
                    reason=outcome.reason,
                    field=outcome.field,
                    structure_id=structure_id,
                    stream_id=stream_id or "default",
                    retry_after_ms=outcome.retry_after_ms,
                )
        finally:
            reader.cancel()

    async def GetResumePoint(self, request: ingest_pb2.GetResumePointRequest, context: grpc.aio.ServicerContext) -> ingest_pb2.GetResumePointResponse:
        await self.manager.load_runtime(request.structure_id)
        seq, end_ns = self.manager.resume_point(current_principal(), request.structure_id, request.stream_id)
        return ingest_pb2.GetResumePointResponse(last_durable_sequence=seq, last_end_time_ns=end_ns)
