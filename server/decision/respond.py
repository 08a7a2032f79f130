"""From a loss estimate (or an event) to a plan's level and checklist: ``quakewatch respond``.

Issue "[5] Emergency plans as data, plan activation".  :func:`situation_from_estimate`
reads what a plan's criteria need from the estimate document of ``[4]``
(``quakewatch loss --json`` or ``DecisionService.EstimateLoss``): its
``situation`` block when the estimate came from a scenario (deaths, direct
loss, GDP, magnitude, population class, largest intensity, origin time), else
the totals (an OpenQuake job has no rupture: deaths from the ``fatalities`` or
Hazus ``severity_4`` casualties, direct loss from the sum of the economic loss
types).  Values given by the caller (observed intensity, a structure's health,
a mine's grade, an origin time) override or complete it.
:func:`respond` decides the level, builds the checklist and, given ``now``,
the escalations already due.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from ..errors import InvalidInput
from .activation import ActionItem, LevelDecision, Situation, checklist, decide_level, due_escalations
from .plan_loader import LoadedPlan
from .plan_schema import HealthStatus, MineRiskGrade
from .relief import relief_needs
from .response_level import PopulationClass

__all__ = ["respond", "response_document", "situation_from_estimate"]

_ECONOMIC = ("structural", "nonstructural", "contents", "business_interruption")


def _num(doc: dict[str, Any], key: str, where: str) -> float | None:
    v = doc.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InvalidInput(f"{where}.{key}: must be a finite number, got {v!r}", field=f"{where}.{key}")
    return float(v)


def _time(value: Any, field: str) -> datetime:
    if isinstance(value, datetime):
        t = value
    else:
        try:
            t = datetime.fromisoformat(str(value))
        except ValueError:
            raise InvalidInput(f"{field}: not an ISO 8601 time: {value!r}", field=field) from None
    if t.tzinfo is None:
        raise InvalidInput(f"{field}: give a time zone (e.g. +08:00 or Z): {value!r}", field=field)
    return t.astimezone(UTC)


def situation_from_estimate(doc: dict[str, Any] | None, *, origin_time: datetime | str | None = None,
                            default_origin_time: datetime | None = None, **overrides: Any) -> Situation:
    """The situation a plan is evaluated on (module docstring).

    ``overrides`` may set any :class:`~quakewatch.server.decision.activation.Situation`
    field (``intensity``, ``pga_mps2``, ``structure_health``, ``mine_risk_grade``,
    ``magnitude``, ``population_class``, ``gdp_previous_year``, ``deaths``,
    ``direct_loss``); ``None`` values are ignored.  When neither the caller nor
    the estimate gives the origin time, ``default_origin_time`` (e.g. now) is used
    and the situation says so (``origin_time_assumed``); without it that is an error.
    """
    values: dict[str, Any] = {}
    source = ""
    if doc is not None:
        if not isinstance(doc, dict) or "totals" not in doc:
            raise InvalidInput("estimate: not a loss estimate document (no 'totals'); use the JSON of quakewatch loss --json",
                               field="estimate")
        sit = doc.get("situation")
        if isinstance(sit, dict):
            for key in ("deaths", "direct_loss", "gdp_previous_year", "magnitude", "intensity"):
                values[key] = _num(sit, key, "situation")
            if sit.get("population_class") is not None:
                values["population_class"] = sit["population_class"]
            if sit.get("origin_time"):
                values["origin_time"] = _time(sit["origin_time"], "situation.origin_time")
        else:
            cas = doc["totals"].get("casualties", {})
            deaths = cas.get("fatalities", cas.get("severity_4"))
            values["deaths"] = None if deaths is None else _num({"d": deaths}, "d", "totals.casualties")
            losses = doc["totals"].get("losses", {})
            econ = [float(v) for k, v in losses.items() if k in _ECONOMIC]
            values["direct_loss"] = sum(econ) if econ else None
        prov = doc.get("provenance") or {}
        source = f"estimate {doc.get('estimate_id') or prov.get('name') or prov.get('method', '')}".strip()
    for key, v in overrides.items():
        if v is not None:
            values[key] = v
    if origin_time is not None:
        values["origin_time"] = _time(origin_time, "origin_time")
    if "origin_time" not in values:
        if default_origin_time is None:
            raise InvalidInput("origin_time: the estimate does not say when the event happened; give --origin-time",
                               field="origin_time")
        values["origin_time"] = _time(default_origin_time, "origin_time")
        values["origin_time_assumed"] = True
    pc = values.get("population_class")
    try:
        if pc is not None and not isinstance(pc, PopulationClass):
            values["population_class"] = PopulationClass(pc)
        if values.get("structure_health") is not None and not isinstance(values["structure_health"], HealthStatus):
            values["structure_health"] = HealthStatus(str(values["structure_health"]).upper())
        if values.get("mine_risk_grade") is not None and not isinstance(values["mine_risk_grade"], MineRiskGrade):
            values["mine_risk_grade"] = MineRiskGrade(str(values["mine_risk_grade"]).lower())
    except ValueError as exc:
        raise InvalidInput(f"situation: {exc}", field="situation") from None
    values = {k: v for k, v in values.items() if v is not None}
    return Situation(source=source, **values)


def respond(loaded: LoadedPlan, situation: Situation, *, now: datetime | None = None) -> tuple[LevelDecision, list[ActionItem], list[Any]]:
    """Level, checklist and (given ``now``) escalations already due."""
    decision = decide_level(loaded, situation)
    items = checklist(loaded, decision.level, situation.origin_time)
    events: list[Any] = []
    if now is not None:
        items, events = due_escalations(items, loaded, now)
    return decision, items, events


def response_document(loaded: LoadedPlan, situation: Situation, decision: LevelDecision, items: list[ActionItem],
                      escalations: list[Any], *, now: datetime | None = None, displaced: float | None = None) -> dict[str, Any]:
    """The JSON of ``quakewatch respond --json`` and ``DecisionService.Respond``."""
    plan = loaded.plan
    doc: dict[str, Any] = {
        "level": decision.level.value if decision.level else None,
        "level_name": (s.name if decision.level and (s := plan.level_spec(decision.level)) else None),
        **{k: v for k, v in decision.as_dict().items() if k != "level"},
        "plan_title": plan.title,
        "situation": situation.as_dict(),
        "actions": [i.as_dict(now) for i in items],
        "escalations": [{"action": e.action_id, "to": e.to_role, "due": e.due.isoformat(), "count": e.count}
                        for e in escalations],
        "notifications": [n.model_dump(mode="json") for n in plan.notifications
                          if decision.level is not None and (n.levels is None or decision.level in n.levels)],
    }
    if now is not None:
        doc["as_of"] = now.isoformat()
    if displaced is not None and decision.level is not None and plan.relief is not None:
        r = plan.relief
        needs = relief_needs(displaced, r.days, tent_floor_area_m2=r.tent_floor_area_m2,
                             **({"norms": loaded.relief_norms} if loaded.relief_norms else {}))
        doc["relief"] = {"displaced_people": displaced, "days": r.days,
                         "deadline": (situation.origin_time + r.deadline).isoformat(),
                         "items": {i.commodity: {"quantity": i.quantity, "unit": i.unit} for i in needs.items}}
    return doc
