"""Plan activation: situation -> level -> checklist with absolute deadlines -> escalation.

Issue "[5] Emergency plans as data, plan activation".  Pure functions of a
validated plan (:class:`~quakewatch.server.decision.plan_loader.LoadedPlan`),
the situation and the clock; the servicer persists their results and audits
them.

Level
    The most severe level any criterion gives (REFERENCES.md, "Response
    levels": level = max over criteria).  With a ``rule_table`` (the national
    plan) its deaths / loss-share / initial-judgement grading is evaluated by
    :func:`~quakewatch.server.decision.response_level.evaluate`; the plan's
    own ``criteria`` add to it.  Magnitude criteria are an initial judgement:
    under ``until_deaths_estimate`` they stop counting once a deaths estimate
    exists, so the level can go down as well as up as estimates improve.
    Values are compared as given (299.6 deaths is below 300).
Checklist
    Every action of the level, with ``deadline = origin time + the action's
    deadline at that level``, or for an action with ``deadline_from`` the
    completion time of that action (until it is done: its deadline) plus the
    duration (:func:`anchor_deadlines`, re-applied on every status change).
Revision (:func:`revise`)
    A new level keeps the status of actions it shares with the old one,
    moves their deadlines to the new level's, adds its new actions as pending
    and cancels the pending or acknowledged actions it no longer has (done
    stays done).
Escalation (:func:`due_escalations`)
    An action not done by ``deadline + escalation.after`` escalates to
    ``escalation.to`` (default: the plan's ``escalation_role``, else its own
    role), and again every ``repeat`` while it stays open.  "Passed" is
    strict: at the deadline itself nothing fires.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from ..errors import FailedPrecondition, InvalidInput, NotFound
from .plan_loader import LoadedPlan
from .plan_schema import HealthStatus, LevelCriteria, MineRiskGrade
from .response_level import Level, PopulationClass, Range, evaluate

__all__ = [
    "ActionItem",
    "ActionStatus",
    "EscalationEvent",
    "LevelDecision",
    "LevelReason",
    "Situation",
    "anchor_deadlines",
    "checklist",
    "decide_level",
    "due_escalations",
    "revise",
    "update_status",
]


class ActionStatus(enum.Enum):
    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    DONE = "done"
    CANCELLED = "cancelled"


_OPEN = (ActionStatus.PENDING, ActionStatus.ACKNOWLEDGED)


@dataclass(frozen=True)
class Situation:
    """What is known now about the event; ``None`` = not known (the criterion is skipped)."""

    origin_time: datetime
    deaths: float | None = None
    direct_loss: float | None = None
    gdp_previous_year: float | None = None
    magnitude: float | None = None
    population_class: PopulationClass | None = None
    intensity: float | None = None
    pga_mps2: float | None = None
    structure_health: HealthStatus | None = None
    mine_risk_grade: MineRiskGrade | None = None
    source: str = ""
    origin_time_assumed: bool = False  # no origin time was known: deadlines count from when the plan was activated

    def __post_init__(self) -> None:
        if self.origin_time.tzinfo is None:
            raise InvalidInput("origin_time must carry a time zone", field="origin_time")
        for name in ("deaths", "direct_loss", "gdp_previous_year", "magnitude", "intensity", "pga_mps2"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise InvalidInput(f"{name}: must be a finite number, got {v!r}", field=name)
        for name in ("deaths", "direct_loss", "intensity", "pga_mps2"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise InvalidInput(f"{name}: must be >= 0, got {v!r}", field=name)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            if v is None or (k == "origin_time_assumed" and not v):
                continue
            out[k] = v.isoformat() if isinstance(v, datetime) else (v.value if isinstance(v, enum.Enum) else v)
        return out


@dataclass(frozen=True)
class LevelReason:
    criterion: str
    value: Any
    threshold: str
    level: Level | None


@dataclass(frozen=True)
class LevelDecision:
    level: Level | None
    reasons: tuple[LevelReason, ...]
    plan_id: str
    plan_version: str
    plan_sha256: str
    rule_table: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.value if self.level else None,
            "reasons": [{"criterion": r.criterion, "value": r.value, "threshold": r.threshold,
                         "level": r.level.value if r.level else None} for r in self.reasons],
            "plan": {"id": self.plan_id, "version": self.plan_version, "sha256": self.plan_sha256},
            "rule_table": self.rule_table,
        }


def _range_reasons(name: str, value: float | None, ranges: list[tuple[Level, Range]]) -> list[LevelReason]:
    if value is None:
        return []
    return [LevelReason(name, value, r.describe(), lv) for lv, r in ranges if r.contains(value)]


def _contains_exact(r: Range, x: Fraction) -> bool:
    def q(v: float) -> Fraction:
        return Fraction(repr(v))

    if r.at_least is not None and not x >= q(r.at_least):
        return False
    if r.more_than is not None and not x > q(r.more_than):
        return False
    return not (r.less_than is not None and not x < q(r.less_than))


def _criteria_reasons(plan_levels: list[tuple[Level, LevelCriteria]], s: Situation, magnitude_counts: bool) -> list[LevelReason]:
    out: list[LevelReason] = []
    for attr in ("deaths", "intensity", "pga_mps2"):
        out += _range_reasons(attr, getattr(s, attr), [(lv, r) for lv, c in plan_levels if (r := getattr(c, attr)) is not None])
    if s.direct_loss is not None and s.gdp_previous_year:
        # exact: loss >= share x GDP in rational arithmetic on the binary inputs and the decimal bound
        exact = Fraction(s.direct_loss) / Fraction(s.gdp_previous_year)
        share = s.direct_loss / s.gdp_previous_year
        out += [LevelReason("direct_loss_share", share, r.describe(), lv) for lv, c in plan_levels
                if (r := c.direct_loss_share) is not None and _contains_exact(r, exact)]
    if magnitude_counts and s.magnitude is not None:
        out += _range_reasons("magnitude", s.magnitude, [(lv, c.magnitude) for lv, c in plan_levels if c.magnitude])
        if s.population_class is not None:
            pc = s.population_class.value
            bands = [(lv, b) for lv, c in plan_levels if c.magnitude_by_population and (b := getattr(c.magnitude_by_population, pc))]
            out += _range_reasons(f"magnitude ({pc})", s.magnitude, bands)
    if s.structure_health is not None:
        out += [LevelReason("structure_health", s.structure_health.value, "one of " + ", ".join(h.value for h in c.structure_health), lv)
                for lv, c in plan_levels if c.structure_health and s.structure_health in c.structure_health]
    if s.mine_risk_grade is not None:
        out += [LevelReason("mine_risk_grade", s.mine_risk_grade.value, "one of " + ", ".join(g.value for g in c.mine_risk_grade), lv)
                for lv, c in plan_levels if c.mine_risk_grade and s.mine_risk_grade in c.mine_risk_grade]
    return out


def decide_level(loaded: LoadedPlan, s: Situation) -> LevelDecision:
    """The plan's level for the situation (module docstring)."""
    plan = loaded.plan
    reasons: list[LevelReason] = []
    policy = loaded.rule_table.initial_judgement_policy.value if loaded.rule_table else plan.initial_judgement_policy
    magnitude_counts = policy == "always" or s.deaths is None
    table_label = None
    if loaded.rule_table is not None:
        t = loaded.rule_table
        table_label = f"{t.id} v{t.version}"
        gdp_ok = s.direct_loss is not None and s.gdp_previous_year is not None
        pc_ok = s.magnitude is not None and s.population_class is not None
        d = evaluate(t, deaths=s.deaths, direct_loss=s.direct_loss if gdp_ok else None,
                     gdp_previous_year=s.gdp_previous_year if gdp_ok else None,
                     magnitude=s.magnitude if pc_ok else None, population_class=s.population_class if pc_ok else None)
        reasons += [LevelReason(r.criterion, r.value, r.threshold, r.level) for r in d.reasons]
    with_criteria = [(ls.level, ls.criteria) for ls in plan.levels if ls.criteria is not None]
    reasons += _criteria_reasons(with_criteria, s, magnitude_counts)
    levels = [r.level for r in reasons if r.level is not None]
    level = max(levels, key=lambda lv: lv.severity) if levels else None
    return LevelDecision(level, tuple(reasons), plan.id, plan.version, loaded.sha256, table_label)


@dataclass(frozen=True)
class ActionItem:
    """One action of an activation, with its absolute deadline and status."""

    action_id: str
    role: str
    task: str
    deadline: datetime
    depends_on: tuple[str, ...] = ()
    status: ActionStatus = ActionStatus.PENDING
    escalations: tuple[tuple[datetime, str], ...] = ()
    updated_by: str = ""
    updated_at: datetime | None = None
    note: str = ""
    deadline_from: str | None = None  # the deadline counts from when this action is done
    duration: timedelta | None = None  # ... by this much

    def overdue(self, now: datetime) -> bool:
        return self.status in _OPEN and now > self.deadline

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.action_id, "role": self.role, "task": self.task, "deadline": self.deadline.isoformat(),
               "depends_on": list(self.depends_on), "status": self.status.value,
               "escalations": [{"time": t.isoformat(), "to": r} for t, r in self.escalations]}
        if now is not None:
            out["overdue"] = self.overdue(now)
        if self.updated_at is not None:
            out.update(updated_by=self.updated_by, updated_at=self.updated_at.isoformat(), note=self.note)
        if self.deadline_from is not None and self.duration is not None:
            out.update(deadline_from=self.deadline_from, duration_s=self.duration.total_seconds())
        return out


def checklist(loaded: LoadedPlan, level: Level | None, origin_time: datetime) -> list[ActionItem]:
    """The actions of ``level`` in plan order, deadlines made absolute."""
    if level is None:
        return []
    items = []
    for a in loaded.plan.actions_at(level):
        d = a.deadline_at(level)
        if d is None:  # the validator rules this out
            raise InvalidInput(f"action {a.id!r} has no deadline at level {level.value}", field="plan")
        items.append(ActionItem(a.id, a.role, a.task, origin_time + d, a.depends_on,
                                deadline_from=a.deadline_from, duration=d if a.deadline_from else None))
    return anchor_deadlines(items)


def anchor_deadlines(items: list[ActionItem]) -> list[ActionItem]:
    """Deadlines counted from another action: from its completion, else (provisionally) its deadline.

    Dependencies are acyclic (validated), so repeated passes settle; chains are
    short, and a pass per link is cheap.
    """
    out = list(items)
    for _ in range(len(out)):
        by_id = {i.action_id: i for i in out}
        changed = False
        for k, item in enumerate(out):
            anchor = by_id.get(item.deadline_from) if item.deadline_from else None
            if anchor is None or item.duration is None or item.status not in _OPEN:
                continue
            base = anchor.updated_at if anchor.status is ActionStatus.DONE and anchor.updated_at else anchor.deadline
            if item.deadline != base + item.duration:
                out[k] = replace(item, deadline=base + item.duration)
                changed = True
        if not changed:
            break
    return out


def revise(items: list[ActionItem], loaded: LoadedPlan, level: Level | None, origin_time: datetime) -> list[ActionItem]:
    """The checklist after a level change (module docstring); plan order, then old extras."""
    old = {i.action_id: i for i in items}
    fresh = checklist(loaded, level, origin_time)
    out: list[ActionItem] = []
    for item in fresh:
        prev = old.pop(item.action_id, None)
        if prev is None:
            out.append(item)
        elif prev.status is ActionStatus.CANCELLED:
            out.append(replace(prev, deadline=item.deadline, status=ActionStatus.PENDING, escalations=(), duration=item.duration))
        else:
            out.append(replace(prev, deadline=item.deadline, duration=item.duration))
    for prev in old.values():
        out.append(replace(prev, status=ActionStatus.CANCELLED) if prev.status in _OPEN else prev)
    return anchor_deadlines(out)


@dataclass(frozen=True)
class EscalationEvent:
    action_id: str
    to_role: str
    due: datetime
    count: int


def due_escalations(items: list[ActionItem], loaded: LoadedPlan, now: datetime) -> tuple[list[ActionItem], list[EscalationEvent]]:
    """Escalations that have come due by ``now`` and were not yet recorded; items updated."""
    plan = loaded.plan
    by_id = {a.id: a for a in plan.actions}
    out, events = [], []
    for item in items:
        action = by_id.get(item.action_id)
        if item.status not in _OPEN:
            out.append(item)
            continue
        esc = action.escalation if action else None
        to = esc.to if esc else (plan.escalation_role or item.role)
        first = item.deadline + (esc.after if esc else timedelta(0))
        if not now > first:
            out.append(item)
            continue
        n = 1
        if esc is not None and esc.repeat is not None:
            n = 1 + int((now - first) // esc.repeat)
            if first + (n - 1) * esc.repeat == now:  # strictly after each repeat time
                n -= 1
        new = list(item.escalations)
        for k in range(len(new), n):
            due = first + (k * esc.repeat if esc is not None and esc.repeat is not None else timedelta(0))
            new.append((now, to))
            events.append(EscalationEvent(item.action_id, to, due, k + 1))
        out.append(replace(item, escalations=tuple(new)) if len(new) != len(item.escalations) else item)
    return out, events


def update_status(items: list[ActionItem], action_id: str, status: ActionStatus, *, by: str, note: str = "",
                  now: datetime | None = None) -> list[ActionItem]:
    """Record an acknowledgement or completion; an action is done only after what it depends on."""
    now = now or datetime.now(UTC)
    by_id = {i.action_id: i for i in items}
    item = by_id.get(action_id)
    if item is None:
        raise NotFound(f"action {action_id!r} is not in this activation", field="action_id")
    if status not in (ActionStatus.ACKNOWLEDGED, ActionStatus.DONE):
        raise InvalidInput(f"status: set acknowledged or done, got {status.value!r}", field="status")
    if item.status is ActionStatus.CANCELLED:
        raise FailedPrecondition(f"action {action_id!r} was cancelled (the level no longer calls for it)", field="action_id")
    if item.status is ActionStatus.DONE:
        raise FailedPrecondition(f"action {action_id!r} is already done", field="action_id")
    if status is ActionStatus.DONE:
        waiting = [d for d in item.depends_on if d in by_id and by_id[d].status is not ActionStatus.DONE]
        if waiting:
            raise FailedPrecondition(f"action {action_id!r} waits for {', '.join(waiting)} (not done yet)", field="action_id")
    return anchor_deadlines([replace(i, status=status, updated_by=by, updated_at=now, note=note) if i.action_id == action_id else i
                             for i in items])

