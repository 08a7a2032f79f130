"""Headquarters' and owners' products of a drill, read back from the drill server's
database whoever made them (participants or the built-in ones): the first loss estimate,
plan activation (with every action's acknowledgement and its time) and dispatch plan,
and for a structural-failure drill the health flag."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from .failure_drill import health_flag
from .timeline import NS, Timeline, wall_seconds

if TYPE_CHECKING:
    from .runner import DrillRun

__all__ = ["read_products"]


def read_products(run: DrillRun, tl: Timeline, end_s: float) -> None:
    """Headquarters' and owners' products, read from the drill server's database (whoever
    made them): the first loss estimate, plan activation and dispatch plan."""
    from quakewatch.server.storage.models import DispatchRecord, LossEstimateRecord, PlanActivation

    with Session(run.server.engine) as s:
        est = s.exec(select(LossEstimateRecord).order_by(col(LossEstimateRecord.created_at))).first()
        act = s.exec(select(PlanActivation).order_by(col(PlanActivation.created_at))).first()
        disp = s.exec(select(DispatchRecord).order_by(col(DispatchRecord.created_at))).first()
    if "health_flagged" in tl.milestones:
        flag, _ = health_flag(run)
        if flag is None:
            tl.note("health_flagged", "the structure stayed GREEN after the damage")
        else:
            reasons = run.results["health"]["flag"]["reasons"][:2]
            tl.mark("health_flagged", flag.time_ns / NS, f"{flag.status.upper()}: " + "; ".join(reasons))
    if "loss_estimate" in tl.milestones:
        _loss(run, tl, est)
    if "response_level" in tl.milestones:
        _activation(run, tl, act, end_s)
    if "dispatch_plan" in tl.milestones:
        _dispatch_plan(run, tl, disp)


def _loss(run: DrillRun, tl: Timeline, est: Any) -> None:
    if est is None:
        tl.note("loss_estimate", "no loss estimate was made")
        return
    tl.mark("loss_estimate", wall_seconds(est.created_at),
            f"{est.fatalities:.0f} deaths, {est.displaced:.0f} displaced, {est.economic_loss:.3g} loss; "
            f"PAGER {est.pager_alert or '-'}; {est.observations} observations")
    summary = json.loads(est.summary_json)
    run.results["loss"] = {
        "estimate_id": est.estimate_id, "fatalities": est.fatalities, "displaced": est.displaced,
        "economic_loss": est.economic_loss, "pager_alert": est.pager_alert, "response_level": est.response_level,
        "observations": est.observations,
        "monitored": [{"structure_id": m["structure_id"], "recorded_pga_g": (m["recorded"] or {}).get("PGA_g"),
                       "p_extensive_or_complete": sum(v for k, v in m["damage"].get("structural", {}).items()
                                                      if k in ("extensive", "complete"))}
                      for m in summary.get("monitored", [])]}


def _activation(run: DrillRun, tl: Timeline, act: Any, end_s: float) -> None:
    from ..decision.activation_store import action_items
    from ..decision.notify import listed

    if act is None:
        tl.note("response_level", "no plan was activated")
        return
    items = action_items(act)
    tl.mark("response_level", wall_seconds(act.created_at),
            f"level {act.level or 'none'} of {act.plan_id} v{act.plan_version}, {len(items)} actions")
    with Session(run.server.engine) as s:
        notes = listed(s, act.activation_id)
    # a drill server is an exercise server: whom the plan would have told, and when, never sent
    run.results["activation"] = {"activation_id": act.activation_id, "plan": f"{act.plan_id} v{act.plan_version}",
                                 "level": act.level or None, "actions": len(items),
                                 "notifications": [{k: m[k] for k in ("kind", "role", "channel", "address", "status", "created_at")}
                                                   for m in notes]}
    for a in items:
        done = a.updated_at if a.status.value in ("acknowledged", "done") else None
        tl.action(a.action_id, a.task or a.action_id, wall_seconds(a.deadline), a.status.value,
                  wall_seconds(done) if done is not None else None, end_s)


def _dispatch_plan(run: DrillRun, tl: Timeline, disp: Any) -> None:
    if disp is None:
        tl.note("dispatch_plan", "no dispatch plan was made")
        return
    doc = json.loads(disp.document_json)
    tl.mark("dispatch_plan", wall_seconds(disp.created_at), f"{disp.n_shipments} shipments, unmet {disp.unmet_total:.3g}")
    run.results["dispatch"] = {"dispatch_id": disp.dispatch_id, "shipments": disp.n_shipments,
                               "unmet_total": disp.unmet_total, "objective": doc.get("objective")}
