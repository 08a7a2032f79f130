"""DrillService servicer: drills for participants on drill servers of their own
(:mod:`quakewatch.server.drills.manager`)."""

from __future__ import annotations

import json

import grpc

from quakewatch.v1 import drills_pb2, drills_pb2_grpc

from ..drills.manager import DrillManager, DrillState
from ..storage.tokens import Principal
from .context import current_principal


def _message(mgr: DrillManager, p: Principal, st: DrillState, *, tokens: bool = False) -> drills_pb2.Drill:
    hidden = mgr.hidden_from(p, st)
    d = drills_pb2.Drill(drill_id=st.drill_id, blind=st.blind, status=st.status, drill_server=st.address,
                         scenario_id="" if hidden else st.scenario_id, name="" if hidden else st.name,
                         report_json="" if hidden else json.dumps(mgr.report(st), default=str))
    d.participants.extend(drills_pb2.DrillParticipant(role=x.role, tenant=x.tenant or "", name=x.name,
                                                      token=x.token if tokens else "") for x in st.participants)
    d.created.FromNanoseconds(round(st.created_s * 1e9))
    if st.injected_s is not None:
        d.injection_time.FromNanoseconds(round(st.injected_s * 1e9))
    return d


class DrillServicer(drills_pb2_grpc.DrillServiceServicer):
    def __init__(self, manager: DrillManager) -> None:
        self.manager = manager

    async def StartDrill(self, request: drills_pb2.StartDrillRequest, context: grpc.aio.ServicerContext) -> drills_pb2.Drill:
        p = current_principal()
        st = await self.manager.start(p, request.scenario, request.blind, request.start_in_s)
        return _message(self.manager, p, st, tokens=True)

    async def GetDrill(self, request: drills_pb2.GetDrillRequest, context: grpc.aio.ServicerContext) -> drills_pb2.Drill:
        p = current_principal()
        return _message(self.manager, p, self.manager.get(p, request.drill_id))

    async def GetDrillScenario(self, request: drills_pb2.GetDrillScenarioRequest,
                               context: grpc.aio.ServicerContext) -> drills_pb2.GetDrillScenarioResponse:
        return drills_pb2.GetDrillScenarioResponse(scenario_yaml=self.manager.scenario(current_principal(), request.drill_id))

    async def Acknowledge(self, request: drills_pb2.AcknowledgeRequest, context: grpc.aio.ServicerContext) -> drills_pb2.Drill:
        p = current_principal()
        st = await self.manager.acknowledge(p, request.drill_id, request.action_id, request.status, request.note,
                                            request.activation_id)
        return _message(self.manager, p, st)

    async def EndDrill(self, request: drills_pb2.EndDrillRequest, context: grpc.aio.ServicerContext) -> drills_pb2.Drill:
        p = current_principal()
        return _message(self.manager, p, await self.manager.end(p, request.drill_id))
