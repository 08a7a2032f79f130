"""DecisionService servicer: loss estimates from scenarios, stored with their provenance
(plan activation and dispatch: :mod:`.decision_plans`)."""

from __future__ import annotations

import asyncio
import gzip
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from sqlalchemy.engine import Engine
from sqlmodel import Session

from quakewatch.v1 import decision_pb2, decision_pb2_grpc

from ..decision.export import to_document
from ..decision.nrml import InputFileError
from ..decision.observations import observed_in_window, registered_locations
from ..decision.scenario import run_scenario
from ..decision.scenario_spec import parse_scenario, referenced_files
from ..errors import InvalidInput, NotFound, PermissionDenied
from ..settings import Settings
from ..storage.models import LossEstimateRecord
from ..storage.tokens import Principal, Role
from .context import current_principal
from .convert import ns_of
from .decision_plans import PlanMethods

#: roles that may run and read loss estimates (headquarters, drills, admins)
ROLES = frozenset({Role.ADMIN, Role.HQ, Role.DRILL})


def _check_role(p: Principal) -> None:
    if p.role not in ROLES:
        raise PermissionDenied(f"role {p.role.value!r} may not run loss estimates (hq, drill or admin)")


def _inside(base: Path, name: str) -> Path:
    path = (base / name).resolve()
    if not path.is_relative_to(base.resolve()):
        raise InvalidInput(f"scenario file {name!r} leads outside the decision data directory", field="scenario")
    return path


class DecisionServicer(PlanMethods, decision_pb2_grpc.DecisionServiceServicer):
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.base = settings.decision_dir
        self.store = settings.data_dir / "estimates"
        self._one_at_a_time = asyncio.Semaphore(1)  # an estimate uses every core it is given

    async def EstimateLoss(self, request: decision_pb2.EstimateLossRequest,
                           context: grpc.aio.ServicerContext) -> decision_pb2.LossEstimate:
        p = current_principal()
        _check_role(p)
        try:
            spec = parse_scenario(request.scenario, "scenario")
        except InputFileError as exc:
            raise InvalidInput(str(exc), field="scenario") from None
        if spec.ground_motion.realisations > self.settings.decision.max_realisations:
            raise InvalidInput(f"ground_motion.realisations: at most {self.settings.decision.max_realisations}, "
                               f"got {spec.ground_motion.realisations}", field="scenario")
        for name in referenced_files(spec):
            _inside(self.base, name)
        observed = None
        if request.HasField("observed_start_time") or request.HasField("observed_end_time"):
            start, end = ns_of(request.observed_start_time), ns_of(request.observed_end_time)
            if not start or not end or end <= start:
                raise InvalidInput("observed_start_time and observed_end_time: both, end after start",
                                   field="observed_end_time")
            observed = await asyncio.to_thread(observed_in_window, self.engine, p, start, end)
        locations = await asyncio.to_thread(registered_locations, self.engine, p) if spec.monitored else None
        async with self._one_at_a_time:
            try:
                est, extra = await asyncio.to_thread(run_scenario, spec, self.base, threads=self.settings.decision.threads,
                                                     observed=observed, locations=locations)
            except InputFileError as exc:
                raise InvalidInput(str(exc).replace(str(self.base.resolve()), "<decision data>"),
                                   field="scenario") from None
        doc = to_document(est, extra)
        return await asyncio.to_thread(self._save, p, spec.name, doc, request.include_assets)

    def _save(self, p: Principal, name: str, doc: dict[str, Any], include_assets: bool) -> decision_pb2.LossEstimate:
        estimate_id = secrets.token_hex(8)
        self.store.mkdir(parents=True, exist_ok=True)
        with gzip.open(self.store / f"{estimate_id}.json.gz", "wt") as handle:
            json.dump(doc, handle, default=str)
        summary = {k: v for k, v in doc.items() if k != "assets"}
        head = _headline(doc)
        record = LossEstimateRecord(
            estimate_id=estimate_id, tenant=p.tenant, created_by=p.token_id, name=name[:256],
            response_level=head["response_level"], pager_alert=head["pager_alert"],
            fatalities=head["fatalities"], economic_loss=head["economic_loss"], displaced=head["displaced"],
            n_assets=len(doc["assets"]), realisations=int(doc["n_events"]),
            observations=int((doc.get("ground_motion") or {}).get("observations", 0)),
            summary_json=json.dumps(summary, default=str), created_at=datetime.now(UTC))
        with Session(self.engine) as session:
            session.add(record)
            session.commit()
            session.refresh(record)
        return _message(record, summary, doc if include_assets else None)

    async def GetLossEstimate(self, request: decision_pb2.GetLossEstimateRequest,
                              context: grpc.aio.ServicerContext) -> decision_pb2.LossEstimate:
        p = current_principal()
        _check_role(p)
        return await asyncio.to_thread(self._get, p, request.estimate_id, request.include_assets)

    def _get(self, p: Principal, estimate_id: str, include_assets: bool) -> decision_pb2.LossEstimate:
        with Session(self.engine) as session:
            record = session.get(LossEstimateRecord, estimate_id)
        if record is None or (p.tenant is not None and record.tenant != p.tenant):
            raise NotFound(f"loss estimate {estimate_id!r} not found")
        summary = json.loads(record.summary_json)
        doc = None
        if include_assets:
            with gzip.open(self.store / f"{estimate_id}.json.gz", "rt") as handle:
                doc = json.load(handle)
        return _message(record, summary, doc)


def _headline(doc: dict[str, Any]) -> dict[str, Any]:
    cas = doc["totals"]["casualties"]
    deaths = cas.get("fatalities", cas.get("severity_4", 0.0))
    return {
        "response_level": (doc.get("response_level") or {}).get("level") or "",
        "pager_alert": (doc.get("pager") or {}).get("alert") or "",
        "fatalities": float(deaths), "economic_loss": float(sum(doc["totals"]["losses"].values())),
        "displaced": float(cas.get("homeless", 0.0)),
    }


def _message(record: LossEstimateRecord, summary: dict[str, Any], doc: dict[str, Any] | None) -> decision_pb2.LossEstimate:
    out = decision_pb2.LossEstimate(
        estimate_id=record.estimate_id, name=record.name, response_level=record.response_level,
        pager_alert=record.pager_alert, fatalities=record.fatalities, economic_loss=record.economic_loss,
        displaced=record.displaced, n_assets=record.n_assets, realisations=record.realisations,
        observations=record.observations,
        document_json=json.dumps(doc if doc is not None else summary, default=str))
    created = record.created_at if record.created_at.tzinfo else record.created_at.replace(tzinfo=UTC)
    out.created.FromDatetime(created)
    for name, d in summary["totals"].get("distribution", {}).items():
        out.totals.add(name=name, mean=d["mean"], std=d["std"], p5=d["p5"], p50=d["p50"], p95=d["p95"])
    return out
