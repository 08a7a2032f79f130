"""AlertService servicer: the live feed of alerts the server raises."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from sqlalchemy.engine import Engine

from quakewatch.v1 import alerts_pb2, alerts_pb2_grpc

from .. import registry
from ..analysis.fanout import AlertHub, drain
from ..errors import InvalidInput
from .context import current_principal

KINDS = ("mine.grade", "eew", "report")


class AlertServicer(alerts_pb2_grpc.AlertServiceServicer):
    def __init__(self, engine: Engine, hub: AlertHub) -> None:
        self.engine = engine
        self.hub = hub

    async def Watch(self, request: alerts_pb2.WatchAlertsRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[alerts_pb2.Alert]:
        p = current_principal()
        unknown = [k for k in request.kinds if k not in KINDS]
        if unknown:
            raise InvalidInput(f"kinds: unknown kind(s) {', '.join(unknown)} (known: {', '.join(KINDS)})", field="kinds")
        if request.structure_id:  # access check (and NotFound) before subscribing
            await asyncio.to_thread(registry.get_structure, self.engine, p, request.structure_id)
        kinds = frozenset(request.kinds)
        sub = self.hub.subscribe(p, request.structure_id, (lambda a: a.kind in kinds) if kinds else None)
        async for msg in drain(self.hub, sub, "alerts"):
            yield msg
