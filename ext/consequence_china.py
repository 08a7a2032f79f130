"""Chinese intensity-based direct loss: damage grades, DPMs, loss ratios.

Part of issue "[4] Loss estimation" (re-exported by
:mod:`quakewatch.ext.consequence`).  Arrays in, frozen dataclasses out; numpy
only; float64; inputs never modified; invalid input raises :class:`ValueError`
naming the argument and the limit.

Damage grades [GB24335]_
    ``CHINA_DAMAGE_GRADES`` = basically intact, slight, moderate, severe,
    destroyed (基本完好, 轻微破坏, 中等破坏, 严重破坏, 毁坏).

Damage probability matrix (DPM)
    For each structure class and each integer seismic intensity degree
    (Chinese scale, GB/T 17742), the fractions of floor area in the five
    grades; every row sums to 1 within 1e-6.  DPMs are defined per degree, so
    an intensity ``I`` uses the degree containing it,
    ``n = floor(I + 0.5)`` (``n - 0.5 <= I < n + 0.5``); there is no
    interpolation between rows.  Below the lowest tabulated degree the stock
    is taken as basically intact (``below_table="intact"``, the Chinese scale
    attributes no building damage below VI) or rejected
    (``below_table="raise"``); above the highest degree it is rejected.

Loss ratios [GB18208]_
    Per structure class and grade, a range ``[low, high]`` of the repair (or
    replacement) cost as a fraction of the replacement cost; the midpoint
    ``(low + high) / 2`` is used.

Direct loss [GB18208]_
    ``loss_i = floor_area_i * unit_cost_i * sum_g P_i,g * LR_class(i),g``,
    i.e. the sum over classes and grades of floor area x replacement unit
    cost x loss ratio, with ``P`` the DPM row of the asset's class and degree.

Tables are inputs.  No DPM and no loss-ratio table ships with QuakeWatch:
the primary documents (GB/T 18208.4-2011 annex tables; Yin Zhiqian's DPMs;
regional studies) could not be consulted in a form the values could be
verified against, and numbers are not invented.  Load published tables with
:meth:`ChinaDPM.from_csv` / :meth:`ChinaLossRatios.from_csv` (or build them
from arrays) and cite them in the file.

CSV formats (``#`` comment lines allowed, a non-empty ``source`` on every row)::

    structure_class,intensity,basically_intact_pct,slight_pct,moderate_pct,severe_pct,destroyed_pct,source
    brick_concrete,VII,...

    structure_class,grade,low_pct,high_pct,source
    brick_concrete,moderate,...

``intensity`` is an integer or a Roman numeral; ``grade`` one of
``CHINA_DAMAGE_GRADES``.

References
----------
.. [GB24335] GB/T 24335-2009, *Classification of earthquake damage to
   buildings and special structures* (建(构)筑物地震破坏等级划分).
.. [GB18208] GB/T 18208.4-2011, *Post-earthquake field works - Part 4:
   Assessment of direct loss* (地震现场工作 第4部分: 灾害直接损失评估),
   China Earthquake Administration, issued 2011-12-30, replaces
   GB/T 18208.4-2005.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from quakewatch.ext._consequence_tables import (
    SUM_TOL,
    FloatArray,
    IntArray,
    frozen,
    frozen_int,
    labels,
    lookup,
    nonnegative,
    read_table,
    sources,
)

__all__ = [
    "CHINA_DAMAGE_GRADES",
    "CHINA_DAMAGE_GRADES_ZH",
    "ChinaDPM",
    "ChinaLossEstimate",
    "ChinaLossRatios",
    "china_direct_loss",
]

ArrayLike = npt.ArrayLike

CHINA_DAMAGE_GRADES: tuple[str, ...] = ("basically_intact", "slight", "moderate", "severe", "destroyed")
CHINA_DAMAGE_GRADES_ZH: tuple[str, ...] = ("基本完好", "轻微破坏", "中等破坏", "严重破坏", "毁坏")
_N_G = len(CHINA_DAMAGE_GRADES)
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10, "XI": 11, "XII": 12}


def _degree(raw: str, where: str) -> int:
    text = raw.strip().upper()
    if text in _ROMAN:
        return _ROMAN[text]
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{where}: {raw!r} is not an intensity degree (1..12 or I..XII)") from None
    if not 1 <= value <= 12:
        raise ValueError(f"{where}: intensity {value} must be within [1, 12]")
    return value


@dataclass(frozen=True, eq=False)
class ChinaDPM:
    """Damage probability matrices by structure class and intensity degree.

    Parameters
    ----------
    structure_classes : sequence of str, length n_classes
    intensities : array_like of int, shape (n_degrees,)
        Consecutive integer degrees within [1, 12], increasing.
    fractions : array_like, shape (n_classes, n_degrees, 5)
        Fraction of floor area per grade (``CHINA_DAMAGE_GRADES`` order);
        each row in [0, 1] and summing to 1 within 1e-6.
    source : str
        Provenance (publication and table number).
    """

    structure_classes: tuple[str, ...]
    intensities: IntArray
    fractions: FloatArray
    source: str = ""

    def __post_init__(self) -> None:
        classes = labels("structure_classes", self.structure_classes)
        if len(set(classes)) != len(classes):
            raise ValueError("structure_classes must be distinct")
        deg = np.asarray(self.intensities)
        if deg.ndim != 1 or deg.size == 0 or not np.issubdtype(deg.dtype, np.integer):
            raise ValueError(f"intensities must be a non-empty 1-D integer sequence, got {deg!r}")
        if deg[0] < 1 or deg[-1] > 12 or (np.diff(deg) != 1).any():
            raise ValueError("intensities must be consecutive increasing degrees within [1, 12]")
        f = np.asarray(self.fractions, dtype=np.float64)
        if f.shape != (len(classes), deg.size, _N_G):
            raise ValueError(f"fractions must have shape ({len(classes)}, {deg.size}, 5), got {f.shape}")
        if not np.isfinite(f).all() or (f < 0).any() or (f > 1).any():
            raise ValueError("fractions must be finite and within [0, 1]")
        bad = np.argwhere(np.abs(f.sum(axis=2) - 1.0) > SUM_TOL)
        if bad.size:
            c, d = bad[0]
            raise ValueError(
                f"fractions must sum to 1 within {SUM_TOL:g} per row; "
                f"{classes[c]!r} at intensity {int(deg[d])} sums to {float(f[c, d].sum())!r}"
            )
        object.__setattr__(self, "structure_classes", classes)
        object.__setattr__(self, "intensities", frozen_int(deg))
        object.__setattr__(self, "fractions", frozen(f))

    @classmethod
    def from_mapping(
        cls, table: Mapping[str, Mapping[int, Sequence[float]]], *, source: str, percent: bool = False
    ) -> ChinaDPM:
        """Build from ``{class: {degree: (5 values)}}``; all classes need the same degrees."""
        classes = tuple(table)
        if not classes:
            raise ValueError("table must have at least one structure class")
        degrees = sorted(table[classes[0]])
        for c in classes:
            if sorted(table[c]) != degrees:
                raise ValueError(f"table[{c!r}] must list the degrees {degrees}, got {sorted(table[c])}")
        scale = 0.01 if percent else 1.0
        f = np.array([[list(table[c][d]) for d in degrees] for c in classes], dtype=np.float64) * scale
        return cls(classes, np.array(degrees, dtype=np.int64), f, source)

    @classmethod
    def from_csv(cls, path: str | Path) -> ChinaDPM:
        """Read the CSV format of the module docstring (percent per grade)."""
        cols = [f"{g}_pct" for g in CHINA_DAMAGE_GRADES]
        rows = read_table(Path(path), ["structure_class", "intensity", *cols])
        table: dict[str, dict[int, list[float]]] = {}
        for r in rows:
            c = r.text("structure_class")
            d = _degree(r.text("intensity"), r.where("intensity"))
            if d in table.setdefault(c, {}):
                raise ValueError(f"{r.where('intensity')}: duplicate row for {c!r} at degree {d}")
            table[c][d] = [r.number(col, low=0, high=100) for col in cols]
        return cls.from_mapping(table, source=sources(rows), percent=True)


@dataclass(frozen=True, eq=False)
class ChinaLossRatios:
    """Loss-ratio ranges per structure class and damage grade.

    Parameters
    ----------
    structure_classes : sequence of str, length n_classes
    low, high : array_like, shape (n_classes, 5)
        Range bounds (fraction of replacement cost), ``0 <= low <= high <= 1``,
        non-decreasing with grade.
    source : str
    """

    structure_classes: tuple[str, ...]
    low: FloatArray
    high: FloatArray
    source: str = ""

    def __post_init__(self) -> None:
        classes = labels("structure_classes", self.structure_classes)
        if len(set(classes)) != len(classes):
            raise ValueError("structure_classes must be distinct")
        lo = np.asarray(self.low, dtype=np.float64)
        hi = np.asarray(self.high, dtype=np.float64)
        for name, a in (("low", lo), ("high", hi)):
            if a.shape != (len(classes), _N_G):
                raise ValueError(f"{name} must have shape ({len(classes)}, 5), got {a.shape}")
            if not np.isfinite(a).all() or (a < 0).any() or (a > 1).any():
                raise ValueError(f"{name} must be finite and within [0, 1]")
            if (np.diff(a, axis=1) < 0).any():
                raise ValueError(f"{name} must be non-decreasing with damage grade")
        if (lo > hi).any():
            raise ValueError("low must be <= high for every class and grade")
        object.__setattr__(self, "structure_classes", classes)
        object.__setattr__(self, "low", frozen(lo))
        object.__setattr__(self, "high", frozen(hi))

    @property
    def midpoint(self) -> FloatArray:
        """``(low + high) / 2``, shape (n_classes, 5): the ratio used for losses."""
        out: FloatArray = 0.5 * (self.low + self.high)
        return out

    @classmethod
    def from_csv(cls, path: str | Path) -> ChinaLossRatios:
        """Read the CSV format of the module docstring (percent)."""
        rows = read_table(Path(path), ["structure_class", "grade", "low_pct", "high_pct"])
        table: dict[str, dict[str, tuple[float, float]]] = {}
        for r in rows:
            c, g = r.text("structure_class"), r.text("grade")
            if g not in CHINA_DAMAGE_GRADES:
                raise ValueError(f"{r.where('grade')}: {g!r} not one of {CHINA_DAMAGE_GRADES}")
            if g in table.setdefault(c, {}):
                raise ValueError(f"{r.where('grade')}: duplicate row for {c!r}, {g!r}")
            table[c][g] = (r.number("low_pct", low=0, high=100), r.number("high_pct", low=0, high=100))
        for c, grades in table.items():
            missing = [g for g in CHINA_DAMAGE_GRADES if g not in grades]
            if missing:
                raise ValueError(f"{Path(path).name}: {c!r} has no rows for grades {missing}")
        classes = tuple(table)
        lo = np.array([[table[c][g][0] for g in CHINA_DAMAGE_GRADES] for c in classes]) / 100.0
        hi = np.array([[table[c][g][1] for g in CHINA_DAMAGE_GRADES] for c in classes]) / 100.0
        return cls(classes, lo, hi, sources(rows))


@dataclass(frozen=True, eq=False)
class ChinaLossEstimate:
    """Direct building loss per asset (currency of ``unit_cost``).

    Attributes
    ----------
    degree : ndarray of int64, shape (n_assets,)
        Intensity degree used (``floor(I + 0.5)``).
    grade_fractions : ndarray, shape (n_assets, 5)
        Floor-area fractions per grade (``CHINA_DAMAGE_GRADES`` order).
    loss_ratio : ndarray, shape (n_assets,)
        ``sum_g grade_fractions * midpoint loss ratio``.
    replacement_value : ndarray, shape (n_assets,)
        ``floor_area_m2 * unit_cost``.
    loss : ndarray, shape (n_assets,)
        ``replacement_value * loss_ratio``.
    source : str
        DPM and loss-ratio provenance.
    """

    degree: IntArray
    grade_fractions: FloatArray
    loss_ratio: FloatArray
    replacement_value: FloatArray
    loss: FloatArray
    source: str

    @property
    def total(self) -> float:
        """Portfolio direct loss (currency)."""
        return float(self.loss.sum())


def china_direct_loss(
    intensity: ArrayLike,
    floor_area_m2: ArrayLike,
    unit_cost: ArrayLike,
    structure_class: ArrayLike | Sequence[str],
    *,
    dpm: ChinaDPM | None = None,
    loss_ratios: ChinaLossRatios | None = None,
    below_table: str = "intact",
) -> ChinaLossEstimate:
    """Direct building loss from seismic intensity, GB/T 18208.4 style.

    Parameters
    ----------
    intensity : array_like, shape (n_assets,)
        Seismic intensity (Chinese scale, degrees), finite, within [1, 12].
    floor_area_m2 : array_like, shape (n_assets,)
        Floor area (m^2), >= 0.
    unit_cost : array_like, shape (n_assets,)
        Replacement cost per m^2 (currency / m^2), >= 0.
    structure_class : sequence of str, length n_assets
        Class name present in both ``dpm`` and ``loss_ratios``.
    dpm : ChinaDPM
        Required: no damage probability matrix ships with QuakeWatch.
    loss_ratios : ChinaLossRatios
        Required: no loss-ratio table ships with QuakeWatch.
    below_table : {"intact", "raise"}
        Below the lowest tabulated degree: basically intact, or raise.

    Returns
    -------
    ChinaLossEstimate
    """
    if dpm is None:
        raise ValueError(
            "dpm is required: QuakeWatch ships no damage probability matrix (no published table could be "
            "verified); load one with ChinaDPM.from_csv"
        )
    if loss_ratios is None:
        raise ValueError(
            "loss_ratios is required: QuakeWatch ships no GB/T 18208.4 loss-ratio table (the standard's "
            "values could not be verified); load one with ChinaLossRatios.from_csv"
        )
    if below_table not in ("intact", "raise"):
        raise ValueError(f"below_table must be 'intact' or 'raise', got {below_table!r}")
    inten = np.array(intensity, dtype=np.float64, copy=True).reshape(-1)
    if inten.size == 0:
        raise ValueError("intensity must not be empty")
    if np.isnan(inten).any():
        raise ValueError("intensity must not contain NaN")
    if not np.isfinite(inten).all() or (inten < 1.0).any() or (inten > 12.0).any():
        raise ValueError("intensity must be finite and within [1, 12] (Chinese intensity scale)")
    n = inten.size
    area = nonnegative("floor_area_m2", floor_area_m2, n)
    cost = nonnegative("unit_cost", unit_cost, n)
    classes = labels("structure_class", structure_class, n)
    ci = lookup("structure_class", classes, dpm.structure_classes, "damage probability matrix")
    li = lookup("structure_class", classes, loss_ratios.structure_classes, "loss ratios")

    degree = np.floor(inten + 0.5).astype(np.int64)
    lo_deg, hi_deg = int(dpm.intensities[0]), int(dpm.intensities[-1])
    above = degree > hi_deg
    if above.any():
        raise ValueError(
            f"intensity must be < {hi_deg + 0.5} (highest DPM degree {hi_deg}); got {inten[above].max()}"
        )
    below = degree < lo_deg
    if below.any() and below_table == "raise":
        raise ValueError(
            f"intensity must be >= {lo_deg - 0.5} (lowest DPM degree {lo_deg}); got {inten[below].min()}"
        )
    grades = np.zeros((n, _N_G))
    grades[below, 0] = 1.0
    ok = ~below
    grades[ok] = dpm.fractions[ci[ok], degree[ok] - lo_deg]

    ratio = np.einsum("ng,ng->n", grades, loss_ratios.midpoint[li])
    value = area * cost
    return ChinaLossEstimate(
        degree=frozen_int(degree),
        grade_fractions=frozen(grades),
        loss_ratio=frozen(ratio),
        replacement_value=frozen(value),
        loss=frozen(value * ratio),
        source=f"{dpm.source}; {loss_ratios.source}",
    )
