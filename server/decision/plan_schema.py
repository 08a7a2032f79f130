"""Schema of an emergency plan (``plans/*.yaml``), validated by pydantic.

Issue "[5] Emergency plans as data".  A plan is versioned data: who the roles
are, which levels exist and what triggers each, which actions each level
demands (role, task, deadline after the event, dependencies, escalation),
the relief norms it applies and whom it notifies.  Unknown keys are errors
everywhere (``extra="forbid"``); the cross-field rules (roles and levels
that exist, dependencies without cycles and active at the same levels,
deadlines not earlier than those of what an action waits for) are checked by
:func:`semantic_errors` so that each is reported at its own field.
:mod:`~quakewatch.server.decision.plan_loader` turns both kinds of error into
``file:line: field: message``.

Example (abridged; the shipped plans are in ``plans/``)::

    schema: quakewatch-plan/1
    id: bridge-owner-example
    version: "1"
    title: Earthquake emergency plan of the Yellow River bridge
    owner_kind: bridge
    roles:
      duty_engineer: {name: Duty engineer on call}
      chief_engineer: {name: Chief engineer}
    escalation_role: chief_engineer
    levels:
      - level: I
        name: bridge closed
        criteria:
          structure_health: [RED]
          pga_mps2: {at_least: 2.0}
    actions:
      - id: close_bridge
        levels: [I]
        role: duty_engineer
        task: Close the bridge to traffic at both abutments
        deadline: 15min
        escalation: {to: chief_engineer, after: 5min}

Durations are ``<number><unit>`` with unit ``s``, ``min``, ``h`` or ``d``
(``90s``, ``30min``, ``2h``, ``1.5d``) or ISO 8601 (``PT30M``); a deadline
may differ per level (``deadline: {I: 30min, II: 2h}``).  A deadline counts from
the event, or with ``deadline_from: <action>`` (one of ``depends_on``) from the
moment that action is done ("goods delivered within 6 h of the dispatch order");
until then it is provisional, counted from that action's own deadline.
"""

from __future__ import annotations

import urllib.parse

import enum
import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from .response_level import Level, Range

__all__ = [
    "SCHEMA_ID",
    "Action",
    "Escalation",
    "HealthStatus",
    "LevelCriteria",
    "LevelSpec",
    "MineRiskGrade",
    "Notification",
    "OwnerKind",
    "Plan",
    "ReliefSpec",
    "Role",
    "parse_duration",
    "semantic_errors",
]

SCHEMA_ID = "quakewatch-plan/1"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|min|h|d)\s*$")
_ISO = re.compile(r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_UNIT_S = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_ID = r"^[a-z][a-z0-9_\-]*$"


def parse_duration(value: Any) -> timedelta:
    """``"30min"``, ``"2h"``, ``"PT30M"`` -> timedelta; bare numbers are refused (no unit)."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a duration is a string like '30min', '2h' or 'PT30M', got {value!r}")
    m = _DURATION.match(value)
    if m:
        return timedelta(seconds=float(m.group(1)) * _UNIT_S[m.group(2)])
    m = _ISO.match(value.strip())
    if m and any(m.groups()):
        d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        return timedelta(days=d, hours=h, minutes=mi, seconds=s)
    raise ValueError(f"{value!r} is not a duration: use '<number><s|min|h|d>' (e.g. '30min') or ISO 8601 ('PT30M')")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OwnerKind(enum.Enum):
    GOVERNMENT = "government"
    BRIDGE = "bridge"
    DAM = "dam"
    MINE = "mine"
    BUILDING = "building"
    TUNNEL = "tunnel"


class HealthStatus(enum.Enum):
    """Structure health (``[3]``): continuous assessment or post-event tag."""

    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"


class MineRiskGrade(enum.Enum):
    """Mine seismic risk warning grade (``[7]``), increasing."""

    NONE = "none"
    WEAK = "weak"
    MEDIUM = "medium"
    STRONG = "strong"


class Role(_Strict):
    name: str = Field(min_length=1)
    name_zh: str | None = None
    description: str | None = None


class MagnitudeByPopulation(_Strict):
    populated: Range | None = None
    densely_populated: Range | None = None


class LevelCriteria(_Strict):
    """What puts the event at this level; any one criterion that holds suffices.

    ``deaths`` (dead and missing, expected), ``direct_loss_share`` (direct
    economic loss / previous-year GDP of the province), ``magnitude`` (any
    area) and ``magnitude_by_population`` (initial judgement, national plan
    style), ``intensity`` (the largest estimated or observed seismic
    intensity, GB/T 17742), ``pga_mps2`` (the largest peak ground acceleration
    recorded at the plan's structures), ``structure_health`` (a structure of
    the plan assessed or tagged with one of these), ``mine_risk_grade`` (the
    mine's warning grade is one of these).
    """

    deaths: Range | None = None
    direct_loss_share: Range | None = None
    magnitude: Range | None = None
    magnitude_by_population: MagnitudeByPopulation | None = None
    intensity: Range | None = None
    pga_mps2: Range | None = None
    structure_health: tuple[HealthStatus, ...] | None = None
    mine_risk_grade: tuple[MineRiskGrade, ...] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> LevelCriteria:
        if all(getattr(self, f) is None for f in type(self).model_fields):
            raise ValueError("criteria: give at least one criterion")
        return self


class LevelSpec(_Strict):
    level: Level
    name: str = Field(min_length=1)
    name_zh: str | None = None
    criteria: LevelCriteria | None = None
    description: str | None = None


class Escalation(_Strict):
    """Who is told when the action is not done by its deadline, and when."""

    to: str
    after: Duration = timedelta(0)
    repeat: Duration | None = None

    @field_validator("after")
    @classmethod
    def _non_negative(cls, v: timedelta) -> timedelta:
        if v < timedelta(0):
            raise ValueError("after must be >= 0")
        return v

    @field_validator("repeat")
    @classmethod
    def _positive(cls, v: timedelta | None) -> timedelta | None:
        if v is not None and v <= timedelta(0):
            raise ValueError("repeat must be > 0")
        return v


class Action(_Strict):
    id: str = Field(pattern=_ID)
    levels: tuple[Level, ...] = Field(min_length=1)
    role: str
    task: str = Field(min_length=1)
    deadline: Duration | dict[Level, Duration]
    deadline_from: str | None = None
    depends_on: tuple[str, ...] = ()
    escalation: Escalation | None = None
    notify: bool = False

    @field_validator("deadline", mode="before")
    @classmethod
    def _deadline(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: parse_duration(x) for k, x in v.items()}
        return parse_duration(v)

    def deadline_at(self, level: Level) -> timedelta | None:
        if isinstance(self.deadline, dict):
            return self.deadline.get(level)
        return self.deadline


class Notification(_Strict):
    role: str
    channel: Literal["phone", "sms", "email", "fax", "radio", "grpc", "webhook"]
    address: str = Field(min_length=1)
    levels: tuple[Level, ...] | None = None


class ReliefSpec(_Strict):
    """Relief norms (a CSV in the format of ``relief_norms.csv``; ``default`` = Sphere 2018),
    the planning period and the relief deadline.  Optional: an owner's plan without it
    computes no relief needs (it does not silently inherit humanitarian norms)."""

    norms: str = "default"
    days: float = Field(default=3.0, gt=0.0)
    deadline: Duration = timedelta(hours=10)
    tent_floor_area_m2: float | None = Field(default=None, gt=0.0)


class Plan(_Strict):
    """An emergency plan (module docstring)."""

    schema_: Literal["quakewatch-plan/1"] = Field(alias="schema")
    id: str = Field(pattern=_ID)
    version: str = Field(min_length=1)
    title: str = Field(min_length=1)
    owner_kind: OwnerKind
    source: str | None = None
    effective_date: date | None = None
    notes: tuple[str, ...] = ()
    rule_table: str | None = None
    initial_judgement_policy: Literal["until_deaths_estimate", "always"] = "until_deaths_estimate"
    roles: dict[str, Role] = Field(min_length=1)
    escalation_role: str | None = None
    levels: tuple[LevelSpec, ...] = Field(min_length=1)
    actions: tuple[Action, ...] = ()
    notifications: tuple[Notification, ...] = ()
    relief: ReliefSpec | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def level_spec(self, level: Level) -> LevelSpec | None:
        return next((s for s in self.levels if s.level is level), None)

    def level_spec_by_name(self, name: str) -> LevelSpec | None:
        return next((s for s in self.levels if s.level.value == name), None)

    def actions_at(self, level: Level) -> list[Action]:
        return [a for a in self.actions if level in a.levels]


Loc = tuple[str | int, ...]


def _cycle(graph: dict[str, tuple[str, ...]]) -> list[str] | None:
    """One dependency cycle (as a path a -> ... -> a), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in graph.get(n, ()):
            if m not in graph:
                continue
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in graph:
        if n not in state and (found := visit(n)):
            return found
    return None


def semantic_errors(plan: Plan) -> list[tuple[Loc, str]]:
    """Cross-field errors of a schema-valid plan, each with the location of its field."""
    errors: list[tuple[Loc, str]] = []
    roles = plan.roles
    known_roles = ", ".join(sorted(roles))
    levels = [s.level for s in plan.levels]
    defined = ", ".join(lv.value for lv in levels)

    def role_ok(loc: Loc, name: str) -> None:
        if name not in roles:
            errors.append((loc, f"unknown role {name!r} (roles: {known_roles})"))

    for i, s in enumerate(plan.levels):
        if levels.count(s.level) > 1 and levels.index(s.level) != i:
            errors.append((("levels", i, "level"), f"level {s.level.value} is defined twice"))
    order = [lv.severity for lv in levels]
    if order != sorted(order, reverse=True) and len(set(levels)) == len(levels):
        errors.append((("levels",), f"list levels from the most severe (I) down, got {defined}"))
    if plan.rule_table is None and any(s.criteria is None for s in plan.levels):
        i = next(i for i, s in enumerate(plan.levels) if s.criteria is None)
        errors.append((("levels", i, "criteria"), "criteria missing: without a rule_table every level needs criteria"))
    if plan.escalation_role is not None:
        role_ok(("escalation_role",), plan.escalation_role)

    ids = [a.id for a in plan.actions]
    by_id = {a.id: a for a in plan.actions}
    for i, a in enumerate(plan.actions):
        if ids.index(a.id) != i:
            errors.append((("actions", i, "id"), f"action id {a.id!r} is used twice"))
        role_ok(("actions", i, "role"), a.role)
        for k, lv in enumerate(a.levels):
            if lv not in levels:
                errors.append((("actions", i, "levels", k), f"level {lv.value} is not defined in levels (defined: {defined})"))
        if isinstance(a.deadline, dict):
            for lv in a.levels:
                if lv not in a.deadline:
                    errors.append((("actions", i, "deadline"), f"no deadline for level {lv.value}"))
            for lv in a.deadline:
                if lv not in a.levels:
                    errors.append((("actions", i, "deadline", lv.value), f"deadline for level {lv.value}, which is not in the action's levels"))
        if a.escalation is not None:
            role_ok(("actions", i, "escalation", "to"), a.escalation.to)
        if a.deadline_from is not None and a.deadline_from not in a.depends_on:
            errors.append((("actions", i, "deadline_from"), f"{a.deadline_from!r} must be one of depends_on "
                                                             f"({', '.join(a.depends_on) or 'empty'})"))
        for k, dep in enumerate(a.depends_on):
            loc: Loc = ("actions", i, "depends_on", k)
            other = by_id.get(dep)
            if other is None:
                errors.append((loc, f"unknown action {dep!r}"))
                continue
            for lv in a.levels:
                if lv not in levels:
                    continue
                if lv not in other.levels:
                    errors.append((loc, f"{dep!r} is not an action of level {lv.value}, where {a.id!r} is"))
                    continue
                mine, theirs = a.deadline_at(lv), other.deadline_at(lv)
                if a.deadline_from is not None:  # counted from another action: later by construction
                    continue
                if mine is not None and theirs is not None and mine < theirs:
                    errors.append((loc, f"deadline {_fmt(mine)} at level {lv.value} is earlier than the deadline "
                                        f"{_fmt(theirs)} of {dep!r}, which it waits for"))
    cycle = _cycle({a.id: a.depends_on for a in plan.actions})
    if cycle:
        first = ids.index(cycle[0])
        errors.append((("actions", first, "depends_on"), "cyclic dependencies: " + " -> ".join(cycle)))
    for i, n in enumerate(plan.notifications):
        role_ok(("notifications", i, "role"), n.role)
        bad = address_error(n.channel, n.address)
        if bad:
            errors.append((("notifications", i, "address"), bad))
        for k, lv in enumerate(n.levels or ()):
            if lv not in levels:
                errors.append((("notifications", i, "levels", k), f"level {lv.value} is not defined in levels (defined: {defined})"))
    return errors


def address_error(channel: str, address: str) -> str | None:
    """Why ``address`` cannot be one of ``channel`` (None when it can): a webhook is an
    http(s) URL with a host, an email address has one ``@`` with a dot in its domain and
    no spaces, control characters or display name (``Name <x@y>``), a phone, SMS or fax number has at least 3 digits and nothing but ``+``, digits, spaces,
    dashes, dots and parentheses."""
    a = address.strip()
    if channel == "webhook":
        url = urllib.parse.urlsplit(a)
        if url.scheme not in ("http", "https") or not url.hostname:
            return f"a webhook address is an http:// or https:// URL with a host, got {address!r}"
    elif channel == "email":
        local, at, domain = a.partition("@")
        if not (local and at and "." in domain.strip(".") and "@" not in domain
                and not any(ch.isspace() or ch in '<>,;()"\\' or ord(ch) < 32 for ch in a)):
            return f"not an email address (one plain address, no display name): {address!r}"
    elif channel in ("phone", "sms", "fax"):
        if sum(ch.isdigit() for ch in a) < 3 or any(not (ch.isdigit() or ch in "+-. ()") for ch in a):
            return f"a {channel} number has at least 3 digits and only +, digits, spaces, dashes, dots and parentheses, got {address!r}"
    return None


def _fmt(d: timedelta) -> str:
    s = d.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size and s % size == 0:
            return f"{int(s // size)}{unit}"
    return f"{s:g}s"
