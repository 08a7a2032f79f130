"""DecisionService plan and dispatch methods: Respond, GetActivation, UpdateAction, PlanDispatch.

Thin: decode the request, call the domain functions in ``decision/``
(:mod:`~quakewatch.server.decision.activation_store`,
:mod:`~quakewatch.server.decision.dispatch`), encode the result.
"""

from __future__ import annotations

import asyncio

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from sqlalchemy.engine import Engine
from sqlmodel import Session

from quakewatch.v1 import decision_pb2

from ..decision import activation_store
from ..decision.activation import ActionStatus
from ..decision.dispatch import TravelOptions, plan_shelters, plan_supplies, plan_teams
from ..decision.nrml import InputFileError
from ..decision.plan_loader import LoadedPlan, PlanInvalid, parse_plan_text, shipped_plans
from ..decision.plan_schema import parse_duration
from ..decision.resources import read_costs, read_points, read_shelters, read_sites, read_teams, read_vehicles
from ..decision.respond import situation_from_estimate
from ..errors import InvalidInput, NotFound, PermissionDenied
from ..storage import audit
from ..storage.models import DispatchRecord, LossEstimateRecord
from ..settings import Settings
from ..storage.tokens import Principal, Role
from .context import current_principal

#: roles that may activate plans and update actions (owners: their own tenant's)
PLAN_ROLES = frozenset({Role.ADMIN, Role.HQ, Role.DRILL, Role.OWNER})
#: roles that may plan dispatch
DISPATCH_ROLES = frozenset({Role.ADMIN, Role.HQ, Role.DRILL})


def _role(p: Principal, allowed: frozenset[Role], what: str) -> None:
    if p.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise PermissionDenied(f"role {p.role.value!r} may not {what} ({names})")


def _opt(request: Any, name: str) -> float | None:
    return getattr(request, name) if request.HasField(name) else None


def _ts(t: datetime) -> Any:
    from google.protobuf.timestamp_pb2 import Timestamp

    out = Timestamp()
    out.FromDatetime(t if t.tzinfo else t.replace(tzinfo=UTC))
    return out


def activation_to_pb(act: activation_store.Activation, now: datetime) -> decision_pb2.Activation:
    doc = act.document(now)
    out = decision_pb2.Activation(
        activation_id=act.row.activation_id, plan_id=act.row.plan_id, plan_version=act.row.plan_version,
        plan_sha256=act.row.plan_sha256, level=act.row.level, level_name=doc["level_name"] or "",
        revision=act.row.revision, document_json=json.dumps(doc, default=str))
    out.origin_time.CopyFrom(_ts(act.row.origin_time))
    for item in act.items:
        a = out.actions.add(action_id=item.action_id, role=item.role, task=item.task, depends_on=list(item.depends_on),
                            status=item.status.value, overdue=item.overdue(now), updated_by=item.updated_by, note=item.note)
        a.deadline.CopyFrom(_ts(item.deadline))
        for when, to in item.escalations:
            e = a.escalations.add(to_role=to)
            e.time.CopyFrom(_ts(when))
    return out


class PlanMethods:
    """Mixed into :class:`~quakewatch.server.api.decision.DecisionServicer`."""

    engine: Engine
    settings: Settings
    base: Path
    store: Path

    # -- plans ----------------------------------------------------------------------
    def _plan(self, name: str) -> tuple[LoadedPlan, str]:
        if not name:
            raise InvalidInput("plan: give a shipped plan id or a plan file in the decision data directory", field="plan")
        shipped = {p.stem: p for p in shipped_plans()}
        if name in shipped:
            path = shipped[name]
        else:
            path = (self.base / name).resolve()
            if not path.is_relative_to(self.base.resolve()):
                raise InvalidInput(f"plan {name!r} leads outside the decision data directory", field="plan")
            if not path.is_file():
                raise NotFound(f"plan {name!r}: not a shipped plan ({', '.join(shipped)}) nor a file in the decision data directory",
                               field="plan")
        text = path.read_text(encoding="utf-8")
        loaded, errors = parse_plan_text(text, name, path.parent)
        if loaded is None:
            raise PlanInvalid(errors)
        return loaded, text

    def _estimate_doc(self, p: Principal, request: decision_pb2.RespondRequest) -> dict[str, Any] | None:
        if request.estimate_id and request.estimate_json:
            raise InvalidInput("estimate_id and estimate_json: give one", field="estimate_id")
        if request.estimate_json:
            try:
                return json.loads(request.estimate_json)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"estimate_json: not JSON: {exc}", field="estimate_json") from None
        if request.estimate_id:
            with Session(self.engine) as s:
                record = s.get(LossEstimateRecord, request.estimate_id)
            if record is None or (p.tenant is not None and record.tenant != p.tenant):
                raise NotFound(f"loss estimate {request.estimate_id!r} not found", field="estimate_id")
            doc = json.loads(record.summary_json)
            doc["estimate_id"] = record.estimate_id
            return doc
        return None

    def _respond(self, p: Principal, request: decision_pb2.RespondRequest) -> decision_pb2.Activation:
        now = datetime.now(UTC)
        doc = self._estimate_doc(p, request)
        origin = request.origin_time.ToDatetime(tzinfo=UTC) if request.HasField("origin_time") else None
        situation_args = dict(
            origin_time=origin, default_origin_time=now, magnitude=_opt(request, "magnitude"), population_class=request.population_class or None,
            gdp_previous_year=_opt(request, "gdp_previous_year"), intensity=_opt(request, "intensity"),
            pga_mps2=_opt(request, "pga_mps2"), structure_health=request.structure_health or None,
            mine_risk_grade=request.mine_risk_grade or None)
        if request.activation_id:
            situation = situation_from_estimate(doc, **situation_args)  # type: ignore[arg-type]
            act = activation_store.revise_with(self.engine, p, request.activation_id, situation, now=now)
        else:
            loaded, text = self._plan(request.plan)
            situation = situation_from_estimate(doc, **situation_args)  # type: ignore[arg-type]
            act = activation_store.create(self.engine, p, loaded, text, situation, now=now, exercise=self.settings.exercise)
        return activation_to_pb(act, now)

    async def Respond(self, request: decision_pb2.RespondRequest, context: grpc.aio.ServicerContext) -> decision_pb2.Activation:
        p = current_principal()
        _role(p, PLAN_ROLES, "activate plans")
        return await asyncio.to_thread(self._respond, p, request)

    async def GetActivation(self, request: decision_pb2.GetActivationRequest, context: grpc.aio.ServicerContext) -> decision_pb2.Activation:
        p = current_principal()
        _role(p, PLAN_ROLES, "read activations")
        now = datetime.now(UTC)
        act = await asyncio.to_thread(activation_store.get, self.engine, p, request.activation_id, now=now)
        return activation_to_pb(act, now)

    async def UpdateAction(self, request: decision_pb2.UpdateActionRequest, context: grpc.aio.ServicerContext) -> decision_pb2.Activation:
        p = current_principal()
        _role(p, PLAN_ROLES, "update actions")
        try:
            status = ActionStatus(request.status)
        except ValueError:
            raise InvalidInput(f"status: acknowledged or done, got {request.status!r}", field="status") from None
        if len(request.note) > 2000:
            raise InvalidInput(f"note: at most 2000 characters, got {len(request.note)}", field="note")
        now = datetime.now(UTC)
        act = await asyncio.to_thread(activation_store.set_status, self.engine, p, request.activation_id, request.action_id,
                                      status, request.note, now=now)
        return activation_to_pb(act, now)

    # -- dispatch -------------------------------------------------------------------
    def _dispatch(self, p: Principal, request: decision_pb2.PlanDispatchRequest) -> decision_pb2.DispatchPlan:
        deadline = request.deadline or ("none" if request.costs_csv else "10h")
        try:
            deadline_h = None if deadline.strip().lower() == "none" else parse_duration(deadline).total_seconds() / 3600.0
            horizon_h = parse_duration(request.horizon).total_seconds() / 3600.0 if request.horizon else None
        except ValueError as exc:
            raise InvalidInput(f"deadline / horizon: {exc}", field="deadline") from None
        opts = TravelOptions(objective=request.objective or "distance",  # type: ignore[arg-type]
                             speed_kmh=_opt(request, "speed_kmh") or 40.0,
                             detour_factor=_opt(request, "detour_factor") or 1.3, deadline_h=deadline_h)
        if not (request.depots_csv or request.teams_csv or request.shelters_csv):
            raise InvalidInput("depots_csv, teams_csv or shelters_csv: nothing to plan", field="depots_csv")
        doc: dict[str, Any] = {}
        try:
            demands = read_points(request.demands_csv, "demands_csv", extra=("displaced",)) if request.demands_csv else None
            if request.depots_csv:
                if demands is None:
                    raise InvalidInput("demands_csv: needed with depots_csv", field="demands_csv")
                depots = read_points(request.depots_csv, "depots_csv")
                costs = read_costs(request.costs_csv, depots.ids, demands.ids, "costs_csv") if request.costs_csv else None
                fleet = read_vehicles(request.vehicles_csv, depots.ids, "vehicles_csv") if request.vehicles_csv else None
                doc = plan_supplies(depots, demands, costs=costs, opts=opts,
                                    shortage_penalty=dict(request.shortage_penalty) or None, weights=dict(request.weights) or None,
                                    fleet_t=fleet, unit_tonnes=dict(request.unit_tonnes) or None, horizon_h=horizon_h)
            if request.shelters_csv:
                if demands is None:
                    raise InvalidInput("demands_csv: needed with shelters_csv (a displaced column)", field="demands_csv")
                doc["shelters"] = plan_shelters(read_shelters(request.shelters_csv, "shelters_csv"), demands, opts=opts,
                                                max_open=request.max_open if request.HasField("max_open") else None)
            if request.teams_csv:
                doc["teams"] = plan_teams(read_teams(request.teams_csv, "teams_csv"), read_sites(request.sites_csv, "sites_csv"),
                                          opts=opts)
        except InputFileError as exc:
            raise InvalidInput(str(exc), field=str(exc).split(":", 1)[0]) from None
        dispatch_id = secrets.token_hex(8)
        unmet = float(sum(u["quantity"] for u in doc.get("unmet", [])))
        record = DispatchRecord(dispatch_id=dispatch_id, tenant=p.tenant, created_by=p.token_id, objective=doc.get("objective", 0.0),
                                n_shipments=len(doc.get("shipments", [])), unmet_total=unmet,
                                document_json=json.dumps(doc, default=str), created_at=datetime.now(UTC))

        @audit.retry_chain_conflicts
        def save() -> None:
            with Session(self.engine) as s:
                s.add(DispatchRecord.model_validate(record.model_dump()))
                audit.add(s, actor=p.token_id, role=p.role.value, tenant=p.tenant, action="dispatch.plan", target=dispatch_id,
                          details={"objective": doc.get("objective"), "shipments": len(doc.get("shipments", [])), "unmet": unmet,
                                   "options": doc.get("options"), "teams": "teams" in doc, "shelters": "shelters" in doc})
                s.commit()

        save()
        out = decision_pb2.DispatchPlan(dispatch_id=dispatch_id, objective=doc.get("objective", 0.0),
                                        document_json=json.dumps(doc, default=str))
        for sh in doc.get("shipments", []):
            out.shipments.add(from_id=sh["from"], to_id=sh["to"], commodity=sh["commodity"], quantity=sh["quantity"],
                              unit_cost=sh["unit_cost"])
        for u in doc.get("unmet", []):
            out.unmet.add(demand_id=u["demand"], commodity=u["commodity"], quantity=u["quantity"])
        return out

    async def PlanDispatch(self, request: decision_pb2.PlanDispatchRequest, context: grpc.aio.ServicerContext) -> decision_pb2.DispatchPlan:
        p = current_principal()
        _role(p, DISPATCH_ROLES, "plan dispatch")
        return await asyncio.to_thread(self._dispatch, p, request)



