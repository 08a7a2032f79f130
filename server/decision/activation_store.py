"""Activations in the database: create, revise, acknowledge, escalate, each audited.

Issue "[5] ... plan activation".  Every change of an activation is one
transaction together with its audit entry (action ``plan.activate``,
``plan.revise``, ``plan.action``, ``plan.escalate``; details name the plan id,
version and SHA-256, the level and the action), so the audit trail shows which
plan version every decision was taken with.  An activation stores the plan
text it was decided with: a plan file edited later does not change what an
open activation escalates to.  Writes are conditional on the revision read
(optimistic concurrency) and re-run on a lost race.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ..errors import FailedPrecondition, NotFound
from ..storage import audit
from ..storage.models import PlanActivation, as_utc
from ..storage.tokens import Principal
from . import notify
from .activation import ActionItem, ActionStatus, EscalationEvent, Situation, checklist, decide_level, due_escalations, revise, update_status
from .plan_loader import LoadedPlan, PlanInvalid, parse_plan_text

__all__ = ["Activation", "action_items", "create", "escalate_open", "get", "revise_with", "set_status"]

T = TypeVar("T")
_ATTEMPTS = 20


class _Stale(Exception):
    """The row changed between read and write."""


def _items_to_json(items: list[ActionItem]) -> str:
    return json.dumps([i.as_dict() for i in items])


def _items_from_json(text: str) -> list[ActionItem]:
    out = []
    for d in json.loads(text):
        out.append(ActionItem(
            action_id=d["id"], role=d["role"], task=d["task"], deadline=datetime.fromisoformat(d["deadline"]),
            depends_on=tuple(d["depends_on"]), status=ActionStatus(d["status"]),
            escalations=tuple((datetime.fromisoformat(e["time"]), e["to"]) for e in d["escalations"]),
            updated_by=d.get("updated_by", ""), updated_at=datetime.fromisoformat(d["updated_at"]) if d.get("updated_at") else None,
            note=d.get("note", ""), deadline_from=d.get("deadline_from"),
            duration=timedelta(seconds=d["duration_s"]) if d.get("duration_s") is not None else None))
    return out


def action_items(row: PlanActivation) -> list[ActionItem]:
    """The action items of a stored activation (status, deadline, who updated it and when)."""
    return _items_from_json(row.actions_json)


@functools.lru_cache(maxsize=64)
def _stored_plan(text: str, label: str) -> LoadedPlan:
    """A stored plan text, parsed once: plans are immutable, and the escalation job reads
    every open activation every few seconds."""
    loaded, errors = parse_plan_text(text, label)
    if loaded is None:  # stored only after validation
        raise PlanInvalid(errors)
    return loaded


class Activation:
    """A stored activation with its plan re-loaded and its items decoded."""

    def __init__(self, row: PlanActivation) -> None:
        self.row = row
        self.plan: LoadedPlan = _stored_plan(row.plan_text, f"{row.plan_id} v{row.plan_version}")
        self.items = _items_from_json(row.actions_json)
        #: the activation's messages (``notify.listed``), filled by the store's functions
        self.notifications: list[dict[str, Any]] = []

    def document(self, now: datetime | None = None) -> dict[str, Any]:
        r = self.row
        spec = self.plan.plan.level_spec_by_name(r.level) if r.level else None
        return {
            "activation_id": r.activation_id, "revision": r.revision, "open": r.open,
            "level": r.level or None, "level_name": spec.name if spec else None,
            "plan": {"id": r.plan_id, "version": r.plan_version, "sha256": r.plan_sha256, "title": self.plan.plan.title},
            "origin_time": as_utc(r.origin_time).isoformat(),
            "decision": json.loads(r.decision_json), "situation": json.loads(r.situation_json),
            "actions": [i.as_dict(now) for i in self.items],
            "exercise": bool(r.exercise), "notifications": self.notifications,
        }


def _noted(s: Session, act: Activation) -> Activation:
    act.notifications = notify.listed(s, act.row.activation_id)
    return act


def _escalation_details(e: EscalationEvent) -> dict[str, Any]:
    return {"action": e.action_id, "to": e.to_role, "due": e.due.isoformat(), "count": e.count}


def _retry(fn: Callable[[], T]) -> T:
    from sqlalchemy.exc import IntegrityError

    last: Exception | None = None
    for _ in range(_ATTEMPTS):
        try:
            return fn()
        except _Stale as exc:
            last = exc
        except IntegrityError as exc:
            if not audit.is_chain_conflict(exc):
                raise
            last = exc
    raise FailedPrecondition(f"activation: kept colliding with concurrent changes ({last}); try again", field="activation_id")


def _audit(s: Session, p: Principal | None, action: str, target: str, details: dict[str, Any]) -> None:
    if p is None:
        audit.add(s, actor="scheduler", role="system", tenant=None, action=action, target=target, details=details)
    else:
        audit.add(s, actor=p.token_id, role=p.role.value, tenant=p.tenant, action=action, target=target, details=details)


def _plan_details(loaded: LoadedPlan) -> dict[str, Any]:
    return {"plan_id": loaded.plan.id, "plan_version": loaded.plan.version, "plan_sha256": loaded.sha256,
            "rule_table": f"{loaded.rule_table.id} v{loaded.rule_table.version}" if loaded.rule_table else None}


def create(engine: Engine, p: Principal, loaded: LoadedPlan, plan_text: str, situation: Situation,
           *, now: datetime | None = None, exercise: bool = False) -> Activation:
    """Decide the level, build the checklist, store and audit it, with the plan's
    notifications of that level (``exercise``: recorded, never sent)."""
    now = now or datetime.now(UTC)
    decision = decide_level(loaded, situation)
    items = checklist(loaded, decision.level, situation.origin_time)
    items, events = due_escalations(items, loaded, now)  # an activation made late is overdue at once

    def unit() -> Activation:
        row = PlanActivation(
            activation_id=secrets.token_hex(8), tenant=p.tenant, created_by=p.token_id, plan_id=loaded.plan.id,
            plan_version=loaded.plan.version, plan_sha256=loaded.sha256, plan_text=plan_text,
            level=decision.level.value if decision.level else "", origin_time=situation.origin_time,
            situation_json=json.dumps(situation.as_dict()), decision_json=json.dumps(decision.as_dict(), default=str),
            actions_json=_items_to_json(items), created_at=now, updated_at=now, exercise=exercise)
        with Session(engine) as s:
            s.add(row)
            _audit(s, p, "plan.activate", row.activation_id,
                   {**_plan_details(loaded), "level": row.level or None, "situation": situation.as_dict(),
                    "actions": [i.action_id for i in items]})
            notify.enqueue(s, row, loaded, "activation", row.level, now)
            for e in events:
                _audit(s, None, "plan.escalate", row.activation_id, {**_plan_details(loaded), **_escalation_details(e)})
                notify.enqueue(s, row, loaded, "escalation", row.level, now, roles=[e.to_role], details=_escalation_details(e))
            s.commit()
            s.refresh(row)
            return _noted(s, Activation(row))

    return _retry(unit)


def _load(s: Session, p: Principal | None, activation_id: str) -> PlanActivation:
    row = s.get(PlanActivation, activation_id)
    if row is None or (p is not None and p.tenant is not None and row.tenant != p.tenant):
        raise NotFound(f"activation {activation_id!r} not found", field="activation_id")
    return row


def _write(s: Session, row: PlanActivation, **values: Any) -> None:
    res = s.execute(update(PlanActivation).where(col(PlanActivation.activation_id) == row.activation_id)
                    .where(col(PlanActivation.revision) == row.revision)
                    .values(revision=row.revision + 1, **values))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        s.rollback()
        raise _Stale(row.activation_id)


def _escalate_in(s: Session, act: Activation, now: datetime) -> tuple[list[ActionItem], list[EscalationEvent]]:
    items, events = due_escalations(act.items, act.plan, now)
    for e in events:
        _audit(s, None, "plan.escalate", act.row.activation_id, {**_plan_details(act.plan), **_escalation_details(e)})
        notify.enqueue(s, act.row, act.plan, "escalation", act.row.level, now, roles=[e.to_role],
                       details=_escalation_details(e))
    return items, events


def get(engine: Engine, p: Principal, activation_id: str, *, now: datetime | None = None) -> Activation:
    """The activation, with any escalation that came due recorded first."""
    now = now or datetime.now(UTC)

    def unit() -> Activation:
        with Session(engine) as s:
            row = _load(s, p, activation_id)
            act = Activation(row)
            if row.open:
                items, events = _escalate_in(s, act, now)
                if events:
                    _write(s, row, actions_json=_items_to_json(items), updated_at=now)
                    s.commit()
                    s.refresh(row)
                    act = Activation(row)
            return _noted(s, act)

    return _retry(unit)


def revise_with(engine: Engine, p: Principal, activation_id: str, situation: Situation, *, now: datetime | None = None) -> Activation:
    """A new estimate for an open activation: level re-decided with the stored plan."""
    now = now or datetime.now(UTC)

    def unit() -> Activation:
        with Session(engine) as s:
            row = _load(s, p, activation_id)
            if not row.open:
                raise FailedPrecondition(f"activation {activation_id!r} is closed", field="activation_id")
            act = Activation(row)
            assumed = bool(json.loads(row.situation_json).get("origin_time_assumed", False))
            sit = replace(situation, origin_time=as_utc(row.origin_time), origin_time_assumed=assumed)
            decision = decide_level(act.plan, sit)
            items = revise(act.items, act.plan, decision.level, sit.origin_time)
            act.items = items
            items, _ = _escalate_in(s, act, now)
            level = decision.level.value if decision.level else ""
            _audit(s, p, "plan.revise", activation_id,
                   {**_plan_details(act.plan), "from_level": row.level or None, "level": level or None,
                    "situation": sit.as_dict()})
            if level != row.level:
                notify.enqueue(s, row, act.plan, "level_change", level, now, details={"from_level": row.level or None})
            _write(s, row, level=level, situation_json=json.dumps(sit.as_dict()),
                   decision_json=json.dumps(decision.as_dict(), default=str), actions_json=_items_to_json(items),
                   updated_at=now)
            s.commit()
            s.refresh(row)
            return _noted(s, Activation(row))

    return _retry(unit)


def set_status(engine: Engine, p: Principal, activation_id: str, action_id: str, status: ActionStatus, note: str = "",
               *, now: datetime | None = None) -> Activation:
    """Acknowledge or complete an action (audited)."""
    now = now or datetime.now(UTC)

    def unit() -> Activation:
        with Session(engine) as s:
            row = _load(s, p, activation_id)
            act = Activation(row)
            items, _ = _escalate_in(s, act, now)
            items = update_status(items, action_id, status, by=p.token_id, note=note, now=now)
            _audit(s, p, "plan.action", activation_id,
                   {**_plan_details(act.plan), "action": action_id, "status": status.value, "note": note})
            _write(s, row, actions_json=_items_to_json(items), updated_at=now)
            s.commit()
            s.refresh(row)
            return _noted(s, Activation(row))

    return _retry(unit)


def escalate_open(engine: Engine, *, now: datetime | None = None) -> list[EscalationEvent]:
    """Record every escalation due on open activations (the periodic job)."""
    now = now or datetime.now(UTC)
    with Session(engine) as s:
        ids = list(s.exec(select(PlanActivation.activation_id).where(col(PlanActivation.open))).all())
    events: list[EscalationEvent] = []

    for activation_id in ids:
        def unit(activation_id: str = activation_id) -> list[EscalationEvent]:
            with Session(engine) as s:
                row = _load(s, None, activation_id)
                act = Activation(row)
                items, evs = _escalate_in(s, act, now)
                if evs:
                    _write(s, row, actions_json=_items_to_json(items), updated_at=now)
                    s.commit()
                return evs

        events += _retry(unit)
    return events
