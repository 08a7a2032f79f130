"""HealthService servicer: structural health status, modal results, assessments."""

from __future__ import annotations

import asyncio

import grpc
from sqlalchemy.engine import Engine

from quakewatch.v1 import health_pb2, health_pb2_grpc

from .. import registry
from ..analysis import health_store
from ..settings import HealthSettings
from ..storage.tokens import Principal
from .context import current_principal
from .convert import ns_of


class HealthServicer(health_pb2_grpc.HealthServiceServicer):
    def __init__(self, engine: Engine, cfg: HealthSettings) -> None:
        self.engine = engine
        self.cfg = cfg

    async def GetStructureHealth(self, request: health_pb2.GetStructureHealthRequest, context: grpc.aio.ServicerContext) -> health_pb2.GetStructureHealthResponse:
        return await asyncio.to_thread(self._health, current_principal(), request.structure_id)

    def _health(self, p: Principal, structure_id: str) -> health_pb2.GetStructureHealthResponse:
        registry.get_structure(self.engine, p, structure_id)  # access check, NotFound
        out = health_pb2.GetStructureHealthResponse(structure_id=structure_id, status=health_pb2.HEALTH_STATUS_UNKNOWN)
        periodic = health_store.latest_assessment(self.engine, structure_id, "periodic")
        post = health_store.latest_assessment(self.engine, structure_id, "post_event")
        latest = health_store.results_of(self.engine, structure_id, 1, oldest_first=False)
        n = health_store.count_results(self.engine, structure_id)
        out.baseline.windows_collected = min(n, self.cfg.baseline_windows)
        out.baseline.windows_required = self.cfg.baseline_windows
        out.baseline.trained = periodic is not None
        if latest:
            out.latest_modal_result.CopyFrom(latest[0])
            out.baseline.modes.extend(m for m in latest[0].modes if m.mode_id)
        if periodic is not None:
            out.latest_assessment.CopyFrom(periodic)
        if post is not None:
            out.latest_post_event.CopyFrom(post)
        # the current status: the worse of the latest periodic assessment and a post-event
        # tag newer than it (a post-event tag stands until a later window is assessed)
        current = [a for a in (periodic, post) if a is not None]
        if post is not None and periodic is not None and periodic.time_ns > post.time_ns and post.status != health_pb2.HEALTH_STATUS_RED:
            current = [periodic]
        if current:
            worst = max(current, key=lambda a: _rank(a.status))
            out.status = worst.status
            out.reasons.extend(worst.reasons)
        else:
            out.reasons.append(f"baseline training: {out.baseline.windows_collected} of {self.cfg.baseline_windows} windows identified")
        return out

    async def ListModalResults(self, request: health_pb2.ListModalResultsRequest, context: grpc.aio.ServicerContext) -> health_pb2.ListModalResultsResponse:
        results, token = await asyncio.to_thread(
            health_store.list_results, self.engine, current_principal(), request.structure_id, ns_of(request.start_time),
            ns_of(request.end_time), request.page_size, request.page_token)
        return health_pb2.ListModalResultsResponse(results=results, next_page_token=token)

    async def ListAssessments(self, request: health_pb2.ListAssessmentsRequest, context: grpc.aio.ServicerContext) -> health_pb2.ListAssessmentsResponse:
        items, token = await asyncio.to_thread(
            health_store.list_assessments, self.engine, current_principal(), request.structure_id, ns_of(request.start_time),
            ns_of(request.end_time), request.page_size, request.page_token, request.kind)
        return health_pb2.ListAssessmentsResponse(assessments=items, next_page_token=token)


_RANK: dict[int, int] = {health_pb2.HEALTH_STATUS_RED: 3, health_pb2.HEALTH_STATUS_YELLOW: 2, health_pb2.HEALTH_STATUS_GREEN: 1}


def _rank(status: int) -> int:
    return _RANK.get(int(status), 0)
