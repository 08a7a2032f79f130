"""Post-event rapid tagging of one structure: GREEN / YELLOW / RED with reasons.

Run once per closed event with what was measured; every indicator is judged on its
own, then the indicators are combined.

Indicators (independent; each gets its own level)
-------------------------------------------------
drift
    The largest peak inter-storey drift ratio over all storeys (e.g.
    ``quakewatch.ext.drift.DriftResult.drift_ratio``); it counts once, however many
    storeys exceed a limit.  It is compared with the limits of (code, system) in
    ``data/drift_limits.csv`` (:func:`drift_limits`); the indicator takes the
    ``indicator_level`` of the highest limit exceeded:

    * GB 50011-2010: above the elastic limit [theta_e] (Table 5.5.1) -> YELLOW;
      above the elasto-plastic limit [theta_p] (Table 5.5.5) -> RED level.
    * ASCE 41 (RC frames, transient drift): above IO or LS -> YELLOW; above CP -> RED level.
    * Hazus (Technical Manual Table 5.9a, high-code): above the slight or moderate
      median -> YELLOW; above the extensive or complete median -> RED level.  The Hazus
      values are medians of damage-state thresholds, not code limits: extensive (some
      elements at ultimate capacity) rather than complete is taken as the collapse
      side, which puts the RED level between the GB 50011 (2 %) and ASCE 41 CP (4 %)
      values for low-rise RC frames (Hazus C1L extensive 3 %).

    The mapping from performance level to indicator level is data (the CSV column
    ``indicator_level``), chosen by QuakeWatch; the limit values carry their sources.
frequency
    ``drop = -frequency_shift`` with ``frequency_shift = (f_post - f_pre) / f_pre`` of
    the fundamental frequency.  A drop up to 10 % is GREEN: a temporary drop of that
    size after strong shaking is not damage [REF].  Above 10 % -> YELLOW; above 20 %
    -> RED level (QuakeWatch default, ``data/tagging_thresholds.csv``).  A rise is GREEN.
peak response
    ``peak_response_ratio`` = peak measured response / the design value of the same
    quantity at the design-basis earthquake.  Above 1 -> YELLOW; above 2 -> RED level
    (QuakeWatch default, ``data/tagging_thresholds.csv``).

Combination [REF: raise red only when two independent indicators agree]
----------------------------------------------------------------------
* RED when at least two indicators are at RED level;
* otherwise YELLOW when any indicator is at YELLOW or RED level (one RED-level
  indicator alone gives YELLOW, and a reason says a second one is needed);
* otherwise GREEN.

A frequency drop alone therefore never gives RED, whatever its size.  A missing
indicator (``None``) is not counted and is named in the reasons; at least one
indicator is required.

Boundaries
----------
Every limit and threshold is exceeded only when the value is *strictly greater*; a
value equal to a limit complies (GB 50011-2010 eq. 5.5.1 and 5.5.5 read
``delta_u <= [theta] h``; REFERENCES.md: "up to ~10 %" is not damage).

References
----------
[REF] /work/shared/REFERENCES.md, "Operational modal analysis and health".
[GB10] GB 50011-2010, Code for seismic design of buildings, 5.5.1 and 5.5.5.
[HZ12] FEMA (2012), Hazus-MH 2.1 Earthquake Model Technical Manual, Table 5.9a.
"""

from __future__ import annotations

import csv
import enum
import functools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "TAGGING_RULES_VERSION",
    "DriftCode",
    "DriftLimit",
    "DriftLimits",
    "Indicator",
    "IndicatorResult",
    "IndicatorThresholds",
    "Level",
    "PostEventTag",
    "drift_limits",
    "indicator_thresholds",
    "known_codes",
    "known_systems",
    "tag_after_event",
]

#: Bump when a rule of the module docstring or a data file changes (goes into provenance).
TAGGING_RULES_VERSION: Final = "1"
_LIMITS_FILE: Final = "drift_limits.csv"
_THRESHOLDS_FILE: Final = "tagging_thresholds.csv"
_LIMIT_COLUMNS: Final = ("code", "system", "performance_level", "drift_ratio", "indicator_level", "source", "note")
_THRESHOLD_COLUMNS: Final = ("indicator", "level", "threshold", "source", "note")
#: Indicators at RED level needed for an overall RED.
_RED_QUORUM: Final = 2


class Level(str, enum.Enum):
    """Tag colour, also used for the level of each indicator (ordered GREEN < YELLOW < RED)."""

    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK: Final = {Level.GREEN: 0, Level.YELLOW: 1, Level.RED: 2}


class DriftCode(str, enum.Enum):
    """Source of a drift-limit table (values of the ``code`` column)."""

    GB50011 = "GB50011"
    ASCE41 = "ASCE41"
    HAZUS = "HAZUS"


class Indicator(str, enum.Enum):
    """The independent indicators of a tag."""

    DRIFT = "drift"
    FREQUENCY = "frequency"
    PEAK_RESPONSE = "peak_response"


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class DriftLimit:
    """One row of ``data/drift_limits.csv``.

    Attributes
    ----------
    performance_level : str
        E.g. ``"elastic"``, ``"elasto_plastic"``, ``"IO"``, ``"CP"``, ``"slight"``.
    drift_ratio : float
        Inter-storey drift ratio limit (dimensionless).
    text : str
        The value as written in the table (``"1/550"``, ``"0.0533"``).
    indicator_level : Level
        Level of the drift indicator once this limit is exceeded.
    source, note : str
        Where the value comes from and how well it was checked.
    """

    performance_level: str
    drift_ratio: float
    text: str
    indicator_level: Level
    source: str
    note: str


@dataclass(frozen=True, slots=True)
class DriftLimits:
    """All limits of one (code, system), ordered by increasing ``drift_ratio``."""

    code: DriftCode
    system: str
    limits: tuple[DriftLimit, ...]

    def limit(self, performance_level: str) -> DriftLimit:
        """The limit named ``performance_level`` (case-insensitive); ValueError listing the known ones."""
        for lim in self.limits:
            if lim.performance_level.lower() == performance_level.lower():
                return lim
        known = ", ".join(lim.performance_level for lim in self.limits)
        raise ValueError(
            f"performance_level {performance_level!r} unknown for {self.code.value} {self.system}; known: {known}"
        )


@dataclass(frozen=True, slots=True)
class IndicatorThresholds:
    """Thresholds of the frequency and peak-response indicators (exceeded when strictly greater).

    Attributes
    ----------
    frequency_drop_yellow, frequency_drop_red : float
        Fractional drop of the fundamental frequency, ``0 < yellow < red < 1``.
    peak_response_yellow, peak_response_red : float
        Peak response / design value, ``0 < yellow < red``.
    source : str
        Where the values come from.
    """

    frequency_drop_yellow: float
    frequency_drop_red: float
    peak_response_yellow: float
    peak_response_red: float
    source: str = "custom"

    def __post_init__(self) -> None:
        pairs = (
            ("frequency_drop", self.frequency_drop_yellow, self.frequency_drop_red, 1.0),
            ("peak_response", self.peak_response_yellow, self.peak_response_red, math.inf),
        )
        for name, yellow, red, upper in pairs:
            if not (0.0 < yellow < red < upper):
                raise ValueError(
                    f"{name} thresholds must satisfy 0 < yellow < red < {upper:g}, got yellow={yellow!r}, red={red!r}"
                )


def _data_rows(filename: str, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a packaged CSV (lines starting with ``#`` skipped) with their line numbers."""
    text = resources.files(__package__).joinpath("data", filename).read_text(encoding="utf-8")
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip() and not line.startswith("#")]
    reader = csv.reader(line for _, line in numbered)
    header = tuple(next(reader))
    if header != columns:
        raise ValueError(f"{filename}: columns must be {columns}, got {header}")
    rows = []
    for (n, _), values in zip(numbered[1:], reader, strict=True):
        if len(values) != len(columns):
            raise ValueError(f"{filename} line {n}: expected {len(columns)} fields, got {len(values)}")
        rows.append((n, dict(zip(columns, (v.strip() for v in values), strict=True))))
    return rows


def _ratio(text: str, where: str) -> float:
    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{where}: drift_ratio must be a decimal or n/d, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise ValueError(f"{where}: drift_ratio must be in (0, 1), got {text!r}")
    return value


@functools.cache
def _limit_table() -> dict[tuple[DriftCode, str], DriftLimits]:
    grouped: dict[tuple[DriftCode, str], list[DriftLimit]] = {}
    for n, row in _data_rows(_LIMITS_FILE, _LIMIT_COLUMNS):
        where = f"{_LIMITS_FILE} line {n}"
        try:
            code = DriftCode(row["code"])
            level = Level(row["indicator_level"])
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if level is Level.GREEN:
            raise ValueError(f"{where}: indicator_level must be YELLOW or RED")
        limit = DriftLimit(
            row["performance_level"], _ratio(row["drift_ratio"], where), row["drift_ratio"], level, row["source"], row["note"]
        )
        group = grouped.setdefault((code, row["system"]), [])
        if any(lim.performance_level == limit.performance_level for lim in group):
            raise ValueError(f"{where}: duplicate {code.value} {row['system']} {limit.performance_level}")
        group.append(limit)
    table = {}
    for (code, system), group in grouped.items():
        ordered = tuple(sorted(group, key=lambda lim: lim.drift_ratio))
        ranks = [lim.indicator_level.rank for lim in ordered]
        if ranks != sorted(ranks):
            raise ValueError(f"{_LIMITS_FILE}: {code.value} {system}: a RED limit lies below a YELLOW one")
        table[(code, system)] = DriftLimits(code, system, ordered)
    return table


@functools.cache
def indicator_thresholds() -> IndicatorThresholds:
    """Default thresholds of the frequency and peak-response indicators (``data/tagging_thresholds.csv``)."""
    values: dict[tuple[str, Level], float] = {}
    sources = []
    for n, row in _data_rows(_THRESHOLDS_FILE, _THRESHOLD_COLUMNS):
        try:
            values[(row["indicator"], Level(row["level"]))] = float(row["threshold"])
        except ValueError as exc:
            raise ValueError(f"{_THRESHOLDS_FILE} line {n}: {exc}") from None
        sources.append(f"{row['indicator']} {row['level']}: {row['source']}")
    try:
        return IndicatorThresholds(
            values[("frequency_drop", Level.YELLOW)],
            values[("frequency_drop", Level.RED)],
            values[("peak_response_ratio", Level.YELLOW)],
            values[("peak_response_ratio", Level.RED)],
            "; ".join(sources),
        )
    except KeyError as exc:
        raise ValueError(f"{_THRESHOLDS_FILE}: missing row {exc.args[0]}") from None


def known_codes() -> tuple[str, ...]:
    """Codes with at least one table in ``data/drift_limits.csv``."""
    return tuple(sorted({code.value for code, _ in _limit_table()}))


def _code(code: DriftCode | str) -> DriftCode:
    if isinstance(code, DriftCode):
        return code
    if isinstance(code, str):
        key = "".join(ch for ch in code.upper() if ch.isalnum())
        for member in DriftCode:
            if member.value == key:
                return member
    raise ValueError(f"code {code!r} unknown; known: {', '.join(known_codes())}")


def known_systems(code: DriftCode | str) -> tuple[str, ...]:
    """Systems (structure types) with a table for ``code``."""
    c = _code(code)
    return tuple(sorted(system for cc, system in _limit_table() if cc is c))


def drift_limits(code: DriftCode | str, system: str) -> DriftLimits:
    """The drift limits of ``system`` under ``code``.

    Parameters
    ----------
    code : DriftCode or str
        ``"GB50011"``, ``"ASCE41"`` or ``"HAZUS"`` (case, spaces and dashes ignored:
        ``"GB 50011"`` works).
    system : str
        Structure type as in the table, case-insensitive: GB50011 ``rc_frame``,
        ``rc_frame_shear_wall``, ``rc_shear_wall``, ``steel``; ASCE41 ``rc_frame``;
        HAZUS model building type with design level, e.g. ``C1M_HC``.

    Raises
    ------
    ValueError
        Unknown code or system; the message lists the known ones.
    """
    c = _code(code)
    table = _limit_table()
    if isinstance(system, str):
        for (cc, name), limits in table.items():
            if cc is c and name.lower() == system.strip().lower():
                return limits
    raise ValueError(f"system {system!r} unknown for code {c.value}; known: {', '.join(known_systems(c))}")


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    """One indicator of a tag.

    Attributes
    ----------
    indicator : Indicator
    level : Level or None
        None when the indicator is missing (not counted).
    value : float or None
        Max drift ratio, fractional frequency *drop*, or peak response ratio.
    limit : float or None
        The limit that decided the level: the highest one exceeded, or the lowest one
        (not exceeded) for GREEN.
    limit_name : str
        Its name (``"elastic"``, ``"RED threshold"``...); empty when missing.
    reason : str
        Human-readable sentence naming the indicator, the value and the limit.
    storey : int or None
        Drift only: index of the storey with the largest ratio; storey ``k`` spans
        instrumented levels ``k`` and ``k + 1`` (as in ``quakewatch.ext.drift``), and
        the reasons use the same numbering.
    """

    indicator: Indicator
    level: Level | None
    value: float | None
    limit: float | None
    limit_name: str
    reason: str
    storey: int | None = None


@dataclass(frozen=True, slots=True)
class PostEventTag:
    """Tag of one structure after one event (rules in the module docstring).

    Attributes
    ----------
    status : Level
        GREEN, YELLOW or RED.
    reasons : tuple of str
        First the combination rule that decided the status, then one sentence per
        indicator (drift, frequency, peak response), missing ones included.
    indicators : tuple of IndicatorResult
        Drift, frequency, peak response, in that order.
    n_red_indicators : int
        Indicators at RED level.
    code : DriftCode
    system : str
        The drift table used.
    thresholds : IndicatorThresholds
        The frequency and peak-response thresholds used.
    rules_version : str
        :data:`TAGGING_RULES_VERSION`.
    """

    status: Level
    reasons: tuple[str, ...]
    indicators: tuple[IndicatorResult, ...]
    n_red_indicators: int
    code: DriftCode
    system: str
    thresholds: IndicatorThresholds
    rules_version: str = TAGGING_RULES_VERSION


# ----------------------------------------------------------------------------- indicators


def _fmt_ratio(value: float) -> str:
    return f"{value:.5f} (1/{1.0 / value:.0f})" if value > 0.0 else "0"


def _scalar(value: float, name: str, *, lower: float, lower_inclusive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    out = float(value)
    ok = (out >= lower if lower_inclusive else out > lower) and math.isfinite(out)
    if not ok:
        bound = ">=" if lower_inclusive else ">"
        raise ValueError(f"{name} must be finite and {bound} {lower:g}, got {value!r}")
    return out


def _drift_indicator(drift_ratios: npt.ArrayLike | None, limits: DriftLimits) -> IndicatorResult:
    table = f"{limits.code.value} {limits.system}"
    if drift_ratios is None:
        return IndicatorResult(Indicator.DRIFT, None, None, None, "", "drift: not available (no floor drift measured); not counted")
    arr = np.array(drift_ratios, dtype=np.float64, ndmin=1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"drift_ratios must be a non-empty 1-D sequence (one ratio per storey), got shape {arr.shape}")
    if not (np.isfinite(arr).all() and (arr >= 0.0).all()):
        raise ValueError("drift_ratios must be finite and >= 0")
    k = int(np.argmax(arr))
    value = float(arr[k])
    where = f"peak inter-storey drift ratio {_fmt_ratio(value)} in storey {k} (levels {k}-{k + 1})"
    exceeded = [lim for lim in limits.limits if value > lim.drift_ratio]
    if not exceeded:
        first = limits.limits[0]
        reason = (
            f"drift: {where} within the {table} {first.performance_level} limit {first.text} "
            f"({first.drift_ratio:.5f}) -> GREEN"
        )
        return IndicatorResult(Indicator.DRIFT, Level.GREEN, value, first.drift_ratio, first.performance_level, reason, k)
    top = exceeded[-1]
    above = limits.limits[len(exceeded)] if len(exceeded) < len(limits.limits) else None
    reason = (
        f"drift: {where} exceeds the {table} {top.performance_level} limit {top.text} ({top.drift_ratio:.5f})"
    )
    if above is not None:
        reason += f", below the {above.performance_level} limit {above.text} ({above.drift_ratio:.5f})"
    reason += f" -> {top.indicator_level.value}"
    return IndicatorResult(Indicator.DRIFT, top.indicator_level, value, top.drift_ratio, top.performance_level, reason, k)


def _graded(
    indicator: Indicator, value: float, label: str, yellow: float, red: float, unit: str = ""
) -> IndicatorResult:
    """Level of a value against (yellow, red) thresholds, exceeded when strictly greater."""

    def show(x: float) -> str:
        return f"{100.0 * x:.1f} %" if unit == "%" else f"{x:.2f}"

    if value > red:
        level, limit, name, verb = Level.RED, red, "RED threshold", "exceeds"
    elif value > yellow:
        level, limit, name, verb = Level.YELLOW, yellow, "YELLOW threshold", "exceeds"
    else:
        level, limit, name, verb = Level.GREEN, yellow, "YELLOW threshold", "does not exceed"
    reason = f"{indicator.value}: {label} {show(value)} {verb} the {name} {show(limit)}"
    if level is not Level.RED:
        reason += f" (RED level above {show(red)})"
    return IndicatorResult(indicator, level, value, limit, name, f"{reason} -> {level.value}")


def _frequency_indicator(frequency_shift: float | None, th: IndicatorThresholds) -> IndicatorResult:
    if frequency_shift is None:
        return IndicatorResult(
            Indicator.FREQUENCY, None, None, None, "", "frequency: not available (no pre/post-event fundamental frequency); not counted"
        )
    shift = _scalar(frequency_shift, "frequency_shift", lower=-1.0, lower_inclusive=False)
    drop = -shift
    if drop <= 0.0:
        reason = (
            f"frequency: fundamental frequency changed by {100.0 * shift:+.1f} % (no drop; "
            f"YELLOW threshold {100.0 * th.frequency_drop_yellow:.1f} % drop) -> GREEN"
        )
        return IndicatorResult(Indicator.FREQUENCY, Level.GREEN, drop, th.frequency_drop_yellow, "YELLOW threshold", reason)
    return _graded(
        Indicator.FREQUENCY, drop, "fundamental frequency drop", th.frequency_drop_yellow, th.frequency_drop_red, "%"
    )


def _peak_indicator(peak_response_ratio: float | None, th: IndicatorThresholds) -> IndicatorResult:
    if peak_response_ratio is None:
        return IndicatorResult(
            Indicator.PEAK_RESPONSE, None, None, None, "", "peak_response: not available (no design value given); not counted"
        )
    ratio = _scalar(peak_response_ratio, "peak_response_ratio", lower=0.0, lower_inclusive=True)
    return _graded(
        Indicator.PEAK_RESPONSE,
        ratio,
        "peak response / design value",
        th.peak_response_yellow,
        th.peak_response_red,
    )


# ----------------------------------------------------------------------------- tag


def tag_after_event(
    *,
    drift_ratios: Sequence[float] | npt.ArrayLike | None,
    system: str,
    code: DriftCode | str = DriftCode.GB50011,
    frequency_shift: float | None = None,
    peak_response_ratio: float | None = None,
    thresholds: IndicatorThresholds | None = None,
) -> PostEventTag:
    """GREEN / YELLOW / RED tag of one structure after one event (rules in the module docstring).

    Parameters
    ----------
    drift_ratios : sequence of float or None
        Peak inter-storey drift ratio of each instrumented storey (dimensionless,
        finite, >= 0); None when no drift was measured.
    system : str
        Structure type in the drift table of ``code`` (:func:`drift_limits`).
    code : DriftCode or str, optional
        Drift table, default ``"GB50011"``.
    frequency_shift : float, optional
        ``(f_post - f_pre) / f_pre`` of the fundamental frequency, > -1 (negative =
        drop); None when not identified.
    peak_response_ratio : float, optional
        Peak measured response / design value of the same quantity at the
        design-basis earthquake, >= 0; None when unknown.
    thresholds : IndicatorThresholds, optional
        Override of :func:`indicator_thresholds` (e.g. per structure).

    Returns
    -------
    PostEventTag

    Raises
    ------
    ValueError
        Unknown code or system (the message lists the known ones), invalid values,
        or no indicator at all.
    """
    limits = drift_limits(code, system)
    th = indicator_thresholds() if thresholds is None else thresholds
    if drift_ratios is None and frequency_shift is None and peak_response_ratio is None:
        raise ValueError("at least one of drift_ratios, frequency_shift, peak_response_ratio is required")
    indicators = (
        _drift_indicator(drift_ratios, limits),
        _frequency_indicator(frequency_shift, th),
        _peak_indicator(peak_response_ratio, th),
    )
    red = [ind.indicator.value for ind in indicators if ind.level is Level.RED]
    elevated = [ind.indicator.value for ind in indicators if ind.level is Level.YELLOW]
    missing = [ind.indicator.value for ind in indicators if ind.level is None]
    if len(red) >= _RED_QUORUM:
        status = Level.RED
        summary = f"RED: {len(red)} independent indicators at RED level ({', '.join(red)})"
    elif red:
        status = Level.YELLOW
        summary = (
            f"YELLOW: 1 indicator at RED level ({red[0]}); RED needs at least {_RED_QUORUM} independent "
            "indicators at RED level"
        )
        if red == [Indicator.FREQUENCY.value]:
            summary += " (a frequency drop alone never gives RED)"
    elif elevated:
        status = Level.YELLOW
        summary = f"YELLOW: indicators at YELLOW level: {', '.join(elevated)}"
    else:
        status = Level.GREEN
        summary = "GREEN: no available indicator exceeds its first limit"
    if missing:
        summary += f"; missing: {', '.join(missing)}"
    return PostEventTag(
        status=status,
        reasons=(summary, *(ind.reason for ind in indicators)),
        indicators=indicators,
        n_red_indicators=len(red),
        code=limits.code,
        system=limits.system,
        thresholds=th,
    )
