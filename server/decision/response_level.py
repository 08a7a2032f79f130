"""National-plan response level (I .. IV) from a versioned rule table.

Issue "[4] Loss estimation".  The thresholds are data: a YAML rule table,
validated once at load by pydantic models that reject unknown keys and name the
offending field (:func:`load_rule_table`; default
``quakewatch.plans/response_levels/cn-national-2012.yaml``, the National
Earthquake Emergency Plan of China as revised in 2012 [CN12]_).
:func:`evaluate` is a pure function of the table and the estimates.

Criteria [CN12]_ (REFERENCES.md, "Response levels")
-------------------------------------------------
deaths
    Dead and missing; levels I >= 300, II 50-299, III 10-49, IV 1-9 (the lower
    bound of IV is ours, see the table's notes).  The value is an expected
    value and is compared with the thresholds as it is, without rounding:
    299.6 is level II, 300 is level I.
direct loss share
    Direct economic loss / previous-year GDP of the province (same currency).
    Only level I has a number (>= 1 %); the plan describes II .. IV
    qualitatively, so they are reported as not evaluable.  The comparison
    ``loss >= share * GDP`` is exact (rational arithmetic on the binary
    inputs and the decimal threshold), so a loss of exactly 1 % is level I.
initial judgement (初判)
    Magnitude and population class (``populated`` 人口较密集地区 /
    ``densely_populated`` 人口密集地区): e.g. M >= 7.0 populated or M >= 6.0
    densely populated -> I.  Ranges include their lower and exclude their upper
    bound (7.0 is I, 6.99 is II in a populated area).

Combination (our reading of the plan, recorded in the table as
``initial_judgement_policy``)
    The level is the most severe of the levels of the criteria that count.
    With ``until_deaths_estimate`` (the 2012 default) the initial judgement
    counts only while no deaths estimate is given: the plan grades a disaster
    by its deaths and losses and calls the magnitude rule a preliminary
    judgement, and the level is revised as estimates arrive; a deaths estimate
    (the one criterion that grades all four levels) therefore replaces it, and
    the level can go down as well as up.  The loss share always counts.  With
    ``always`` the initial judgement stays in the maximum.  A criterion that
    places the event in no level (e.g. 0.4 expected deaths, a loss share below
    1 %) gives no level; when no criterion does, the decision's level is
    ``None`` and the reasons say why.

References
----------
.. [CN12] 国家地震应急预案 (National Earthquake Emergency Plan), General
   Office of the State Council, revised 2012-08-28; grading quoted by Xinhua,
   2014-10-08.
"""

from __future__ import annotations

import enum
import math
import numbers
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, Literal, NamedTuple, Self

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from ..errors import InvalidInput, NotFound, validation_problems

__all__ = [
    "DEFAULT_RULE_TABLE",
    "InitialJudgementPolicy",
    "Level",
    "LevelRule",
    "LossShare",
    "MagnitudeBands",
    "PopulationClass",
    "Range",
    "Reason",
    "ResponseDecision",
    "ResponseRuleTable",
    "evaluate",
    "load_rule_table",
    "parse_rule_table",
]

DEFAULT_RULE_TABLE = "response_levels/cn-national-2012.yaml"
"""Path of the default table inside the ``quakewatch.plans`` package."""


class Level(enum.Enum):
    """Response level; I is the most severe."""

    I = "I"  # noqa: E741 (the plan's name)
    II = "II"
    III = "III"
    IV = "IV"

    @property
    def severity(self) -> int:
        """4 for I down to 1 for IV."""
        return 4 - _ORDER.index(self)


_ORDER = (Level.I, Level.II, Level.III, Level.IV)


class PopulationClass(enum.Enum):
    POPULATED = "populated"  # 人口较密集地区
    DENSELY_POPULATED = "densely_populated"  # 人口密集地区


class InitialJudgementPolicy(enum.Enum):
    UNTIL_DEATHS_ESTIMATE = "until_deaths_estimate"
    ALWAYS = "always"


# --------------------------------------------------------------------------- #
# rule table schema
# --------------------------------------------------------------------------- #


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    """``[at_least, less_than)`` or ``(more_than, less_than)``; either end may be open."""

    at_least: float | None = None
    more_than: float | None = None
    less_than: float | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.at_least is not None and self.more_than is not None:
            raise ValueError("give at_least or more_than, not both")
        lower = self.at_least if self.at_least is not None else self.more_than
        if lower is None and self.less_than is None:
            raise ValueError("a range needs at_least, more_than or less_than")
        for v in (lower, self.less_than):
            if v is not None and not math.isfinite(v):
                raise ValueError("bounds must be finite")
        if lower is not None and self.less_than is not None and not lower < self.less_than:
            raise ValueError(f"lower bound {lower} must be < less_than {self.less_than}")
        return self

    def contains(self, x: float) -> bool:
        if self.at_least is not None and not x >= self.at_least:
            return False
        if self.more_than is not None and not x > self.more_than:
            return False
        return not (self.less_than is not None and not x < self.less_than)

    def describe(self) -> str:
        lo = f">= {self.at_least:g}" if self.at_least is not None else (f"> {self.more_than:g}" if self.more_than is not None else "")
        hi = f"< {self.less_than:g}" if self.less_than is not None else ""
        return " and ".join(p for p in (lo, hi) if p)

    def _interval(self) -> tuple[float, bool, float]:
        """(lower, lower excluded, upper) for the overlap check."""
        if self.at_least is not None:
            return self.at_least, False, math.inf if self.less_than is None else self.less_than
        lo = -math.inf if self.more_than is None else self.more_than
        return lo, self.more_than is not None, math.inf if self.less_than is None else self.less_than


class LossShare(_Strict):
    """Direct economic loss / previous-year provincial GDP; ``at_least`` None = qualitative."""

    at_least: float | None
    wording: str

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.at_least is not None and not 0.0 < self.at_least <= 1.0:
            raise ValueError(f"at_least must be a share in (0, 1], got {self.at_least}")
        return self


class MagnitudeBands(_Strict):
    """Initial-judgement magnitude range per population class (None = no band)."""

    populated: Range | None
    densely_populated: Range | None

    def band(self, pc: PopulationClass) -> Range | None:
        return self.populated if pc is PopulationClass.POPULATED else self.densely_populated


class PopulationClassInfo(_Strict):
    name_zh: str
    definition: str | None


class PopulationClasses(_Strict):
    populated: PopulationClassInfo
    densely_populated: PopulationClassInfo


class LevelRule(_Strict):
    level: Level
    name: str
    name_zh: str
    deaths: Range
    direct_loss_share: LossShare
    initial_judgement: MagnitudeBands


class ResponseRuleTable(_Strict):
    """A versioned rule table (schema of ``plans/response_levels/*.yaml``)."""

    id: str
    version: str
    title: str
    source: str
    effective_date: date
    deaths_include_missing: bool
    initial_judgement_policy: InitialJudgementPolicy
    notes: tuple[str, ...] = ()
    population_classes: PopulationClasses
    levels: tuple[LevelRule, ...]

    @field_validator("id", "version")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must be non-empty")
        return v

    @field_validator("levels")
    @classmethod
    def _levels(cls, levels: tuple[LevelRule, ...]) -> tuple[LevelRule, ...]:
        got = [r.level for r in levels]
        missing = [lv.value for lv in _ORDER if lv not in got]
        if missing:
            raise ValueError(f"level {', '.join(missing)} missing (need I, II, III, IV once each)")
        if got != list(_ORDER):
            raise ValueError(f"must be I, II, III, IV once each in that order, got {[lv.value for lv in got]}")
        _disjoint("deaths", [(r.level, r.deaths) for r in levels])
        for pc in PopulationClass:
            bands = [(r.level, b) for r in levels if (b := r.initial_judgement.band(pc)) is not None]
            _disjoint(f"initial_judgement.{pc.value}", bands)
        return levels

    def rule(self, level: Level) -> LevelRule:
        return self.levels[_ORDER.index(level)]


def _disjoint(what: str, ranges: list[tuple[Level, Range]]) -> None:
    spans = sorted(((r._interval(), lv) for lv, r in ranges), key=lambda t: (t[0][0], t[0][1]))
    # sorted by lower bound, any overlap shows between neighbours; [.., x) and [x, ..) only touch
    for ((_, _, hi), a), ((lo, _, _), b) in zip(spans, spans[1:]):
        if lo < hi:
            raise ValueError(f"{what}: ranges of levels {a.value} and {b.value} overlap")


def parse_rule_table(data: Any) -> ResponseRuleTable:
    """Validate an already-parsed table (mapping); errors name the field."""
    if not isinstance(data, dict):
        raise InvalidInput(f"rule table must be a mapping, got {type(data).__name__}", field="rule_table")
    try:
        return ResponseRuleTable.model_validate(data)
    except ValidationError as exc:
        first, problems = validation_problems(exc, "rule_table")
        raise InvalidInput("invalid rule table: " + problems, field=first) from None


def load_rule_table(path: str | Path | None = None) -> ResponseRuleTable:
    """Load and validate a YAML rule table; ``None`` = the 2012 national table shipped in plans/."""
    import yaml  # PyYAML: only needed to read tables

    if path is None:
        text = resources.files("quakewatch.plans").joinpath(*DEFAULT_RULE_TABLE.split("/")).read_text(encoding="utf-8")
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NotFound(f"rule table {path} does not exist", field="path") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"rule table is not valid YAML: {exc}", field="path") from None
    return parse_rule_table(data)


# --------------------------------------------------------------------------- #
# evaluation
# --------------------------------------------------------------------------- #


class Reason(NamedTuple):
    """One criterion: its value, the threshold it met (or why none), the level it gives."""

    criterion: str
    value: float
    threshold: str
    level: Level | None


@dataclass(frozen=True)
class ResponseDecision:
    """Outcome of :func:`evaluate`.

    ``level`` is the most severe level of the criteria that counted (``None``
    when none gives a level); ``reasons`` lists those criteria;
    ``initial_judgement`` is what magnitude and population class alone give
    (whether or not it counted); ``basis`` names what counted.
    """

    level: Level | None
    reasons: tuple[Reason, ...]
    initial_judgement: Level | None
    basis: Literal["loss_estimate", "initial_judgement", "loss_estimate+initial_judgement", "none"]
    rule_table_id: str
    rule_table_version: str


def _number(name: str, value: float, *, minimum: float | None = None, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(f"{name}: must be a number, got {value!r}", field=name)
    v = float(value)
    if not math.isfinite(v):
        raise InvalidInput(f"{name}: must be finite, got {value!r}", field=name)
    if positive and not v > 0.0:
        raise InvalidInput(f"{name}: must be > 0, got {value!r}", field=name)
    if minimum is not None and v < minimum:
        raise InvalidInput(f"{name}: must be >= {minimum:g}, got {value!r}", field=name)
    return v


def evaluate(
    table: ResponseRuleTable,
    *,
    deaths: float | None = None,
    direct_loss: float | None = None,
    gdp_previous_year: float | None = None,
    magnitude: float | None = None,
    population_class: PopulationClass | str | None = None,
) -> ResponseDecision:
    """Response level from the estimates available now.

    Parameters
    ----------
    table : ResponseRuleTable
    deaths : float, optional
        Expected dead and missing, >= 0.
    direct_loss, gdp_previous_year : float, optional
        Direct economic loss and the province's previous-year GDP, same
        currency; both or neither.
    magnitude : float, optional
        Event magnitude, with ``population_class`` (both or neither) for the
        initial judgement.
    """
    reasons: list[Reason] = []
    counted_initial = False
    if deaths is not None:
        d = _number("deaths", deaths, minimum=0.0)
        lv = next((r.level for r in table.levels if r.deaths.contains(d)), None)
        threshold = table.rule(lv).deaths.describe() if lv else "in no deaths range: " + ", ".join(
            f"{r.level.value} {r.deaths.describe()}" for r in table.levels
        )
        reasons.append(Reason("deaths", d, threshold, lv))

    if (direct_loss is None) != (gdp_previous_year is None):
        missing = "gdp_previous_year" if gdp_previous_year is None else "direct_loss"
        raise InvalidInput(f"{missing}: direct_loss and gdp_previous_year go together", field=missing)
    if direct_loss is not None and gdp_previous_year is not None:
        loss = _number("direct_loss", direct_loss, minimum=0.0)
        gdp = _number("gdp_previous_year", gdp_previous_year, positive=True)
        lv, threshold = None, ""
        for r in table.levels:
            share = r.direct_loss_share.at_least
            if share is not None and Fraction(loss) >= Fraction(repr(share)) * Fraction(gdp):
                lv, threshold = r.level, f">= {share:g} of previous-year provincial GDP"
                break
        if lv is None:
            numeric = [f"{r.level.value} >= {r.direct_loss_share.at_least:g}" for r in table.levels if r.direct_loss_share.at_least is not None]
            qualitative = [r.level.value for r in table.levels if r.direct_loss_share.at_least is None]
            threshold = f"below {', '.join(numeric) or 'no numeric threshold'}; {', '.join(qualitative)} qualitative in the plan (not evaluated)"
        reasons.append(Reason("direct_loss_share", loss / gdp, threshold, lv))

    if (magnitude is None) != (population_class is None):
        missing = "population_class" if population_class is None else "magnitude"
        raise InvalidInput(f"{missing}: magnitude and population_class go together", field=missing)
    initial: Level | None = None
    if magnitude is not None and population_class is not None:
        m = _number("magnitude", magnitude)
        try:
            pc = PopulationClass(population_class.value if isinstance(population_class, PopulationClass) else population_class)
        except ValueError:
            names = ", ".join(p.value for p in PopulationClass)
            raise InvalidInput(f"population_class: must be one of {names}, got {population_class!r}", field="population_class") from None
        initial = next((r.level for r in table.levels if (b := r.initial_judgement.band(pc)) is not None and b.contains(m)), None)
        counts = table.initial_judgement_policy is InitialJudgementPolicy.ALWAYS or deaths is None
        if counts:
            counted_initial = True
            band = table.rule(initial).initial_judgement.band(pc) if initial else None
            threshold = band.describe() if band else f"in no {pc.value} magnitude band"
            reasons.append(Reason(f"magnitude ({pc.value})", m, threshold, initial))

    levels = [r.level for r in reasons if r.level is not None]
    level = max(levels, key=lambda lv: lv.severity) if levels else None
    has_loss = deaths is not None or direct_loss is not None
    basis: Literal["loss_estimate", "initial_judgement", "loss_estimate+initial_judgement", "none"]
    if has_loss and counted_initial:
        basis = "loss_estimate+initial_judgement"
    elif has_loss:
        basis = "loss_estimate"
    elif counted_initial:
        basis = "initial_judgement"
    else:
        basis = "none"
    return ResponseDecision(level, tuple(reasons), initial, basis, table.id, table.version)
