"""Graded mine seismic risk warning (none / weak / medium / strong) from a versioned rule table.

Issue "[7] Mine seismic monitoring": "graded warning none / weak / medium /
strong from a versioned rule table; every grade change is an alert with its
reasons".  A table (``plans/mine_warning/*.yaml``, pydantic, unknown keys
rejected) sets the indicator window, the reference period and, per grade
(most severe first), a list of conditions; a condition is a set of indicator
ranges that must all hold (an indicator that cannot be computed fails it),
and a grade applies when any of its conditions holds.  The grade is the most
severe that applies, else ``none``.  :func:`timeline` re-evaluates after
every event but blasts and lists the grade changes with the event that caused each.

Example::

    id: rockburst-warning-example
    version: "1"
    window: 24h
    reference: 30d
    grades:
      - grade: strong
        any:
          - {energy_deviation: {at_least: 3}, b_value: {less_than: 0.8}}
          - {max_magnitude: {at_least: 2.5}}
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..decision.plan_schema import Duration
from ..decision.response_level import Range
from ..errors import InvalidInput, validation_problems
from .mine_catalog import MineCatalog
from .mine_indicators import MineIndicators, indicators

__all__ = ["DEFAULT_TABLE", "Grade", "GradeChange", "MineGrade", "WarningTable", "evaluate", "load_table", "status", "timeline"]

DEFAULT_TABLE = "mine_warning/rockburst-warning-example.yaml"

Indicator = Literal["n_events", "rate_per_day", "energy_j", "frequency_deviation", "energy_deviation", "b_value",
                    "apparent_stress_pa", "energy_index", "cumulative_apparent_volume_m3", "max_magnitude"]


class Grade(enum.Enum):
    NONE = "none"
    WEAK = "weak"
    MEDIUM = "medium"
    STRONG = "strong"

    @property
    def severity(self) -> int:
        return list(Grade).index(self)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GradeRule(_Strict):
    grade: Literal["weak", "medium", "strong"]
    any: tuple[dict[Indicator, Range], ...] = Field(min_length=1)

    @field_validator("any")
    @classmethod
    def _non_empty(cls, v: tuple[dict[str, Range], ...]) -> tuple[dict[str, Range], ...]:
        if any(not cond for cond in v):
            raise ValueError("a condition needs at least one indicator")
        return v


class WarningTable(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_\-]*$")
    version: str = Field(min_length=1)
    title: str = Field(min_length=1)
    source: str | None = None
    notes: tuple[str, ...] = ()
    window: Duration = timedelta(hours=24)
    reference: Duration = timedelta(days=30)
    mc: float | None = None
    min_events: int = Field(default=30, ge=2)
    mu_pa: float = Field(default=3.0e10, gt=0)
    grades: tuple[GradeRule, ...] = Field(min_length=1)

    @field_validator("grades")
    @classmethod
    def _order(cls, v: tuple[GradeRule, ...]) -> tuple[GradeRule, ...]:
        names = [g.grade for g in v]
        order = [n for n in ("strong", "medium", "weak") if n in names]
        if names != order:
            raise ValueError(f"list each grade once, most severe first (strong, medium, weak), got {names}")
        return v


def load_table(path: str | Path | None = None) -> WarningTable:
    """A rule table (default: the shipped example); errors name the field."""
    if path is None:
        text = resources.files("quakewatch.plans").joinpath(*DEFAULT_TABLE.split("/")).read_text(encoding="utf-8")
        label = DEFAULT_TABLE
    else:
        label = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"{label}: cannot read: {exc.strerror or exc}", field="rules") from None
    try:
        return WarningTable.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{label}: not valid YAML: {exc}", field="rules") from None
    except ValidationError as exc:
        raise InvalidInput(f"{label}: {validation_problems(exc, 'rules')[1]}", field="rules") from None


@dataclass(frozen=True)
class MineGrade:
    grade: Grade
    reasons: tuple[str, ...]
    indicators: MineIndicators
    table: str

    def as_dict(self) -> dict[str, Any]:
        return {"grade": self.grade.value, "reasons": list(self.reasons), "indicators": self.indicators.as_dict(),
                "rule_table": self.table}


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def evaluate(table: WarningTable, ind: MineIndicators) -> MineGrade:
    """The grade the indicators call for, with the condition(s) that hold."""
    label = f"{table.id} v{table.version}"
    for rule in table.grades:
        reasons = []
        for cond in rule.any:
            values = {name: getattr(ind, name) for name in cond}
            if all(v is not None and r.contains(float(v)) for (name, r), v in zip(cond.items(), values.values())):
                reasons.append(" and ".join(f"{name} {_fmt(float(values[name]))} {r.describe()}" for name, r in cond.items()))
        if reasons:
            return MineGrade(Grade(rule.grade), tuple(reasons), ind, label)
    return MineGrade(Grade.NONE, (), ind, label)


def status(catalog: MineCatalog, table: WarningTable, t_s: float, *, coverage_start_s: float | None = None) -> MineGrade:
    ind = indicators(catalog, t_s, window_s=table.window.total_seconds(), reference_s=table.reference.total_seconds(),
                     mc=table.mc, min_events=table.min_events, mu_pa=table.mu_pa, coverage_start_s=coverage_start_s)
    return evaluate(table, ind)


@dataclass(frozen=True)
class GradeChange:
    time_s: float
    event_id: str
    previous: Grade
    grade: Grade
    reasons: tuple[str, ...]


def timeline(catalog: MineCatalog, table: WarningTable, *, only: set[str] | None = None, initial: Grade = Grade.NONE,
             coverage_start_s: float | None = None) -> list[GradeChange]:
    """The grade after every event but blasts; one entry per change (the first grade above none included).

    ``only``: evaluate after these events only (the ones just added), starting
    from the ``initial`` grade.  A grade can also fall when events leave the
    window without a new one; changes are evaluated at event times, so such a
    fall shows at the next event.
    """
    out: list[GradeChange] = []
    current = initial
    for i, (t, kind) in enumerate(zip(catalog.time_s, catalog.type)):
        if kind == "blast" or (only is not None and catalog.event_id[i] not in only):
            continue
        g = status(catalog, table, float(t), coverage_start_s=coverage_start_s)
        if g.grade is not current:
            out.append(GradeChange(float(t), catalog.event_id[i], current, g.grade, g.reasons))
            current = g.grade
    return out
