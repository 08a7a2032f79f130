"""USGS PAGER empirical loss models: fatalities, economic losses, alert levels.

Issue "[4] Loss estimation".  Plain arrays and scalars in fixed units (MMI,
persons, USD), frozen dataclasses out; numpy/scipy only.  All arithmetic is
float64, inputs are never modified, and invalid input raises
:class:`ValueError` naming the argument and the limit.

Model [JW10]_ [JW13]_ [PAGER]_
------------------------------
Rate at shaking intensity ``S`` (MMI), one lognormal per country::

    nu(S) = Phi(ln(S / theta) / beta)

Expected fatalities and economic loss over the population ``P_j`` exposed at
intensity ``S_j``::

    E_deaths = sum_j P_j * nu(S_j)
    E_loss   = sum_j P_j * GDPpc * alpha * nu_econ(S_j)     (USD)

with ``theta, beta`` (and ``alpha``, the factor turning per-capita GDP into
exposed wealth per person) from the country's row of
``data/pager_fatality.csv`` / ``data/pager_economic.csv``, transcribed from
USGS's ``losspager/data/fatality.xml`` and ``economy.xml`` (file headers give
the commits).  China: ``theta = 10.328811, beta = 0.100058``.

MMI bins (the convention of ``losspager.models.exposure.calc_exposure``)
    Exposure is population per *integer* MMI bin ``n = 1 .. 10``, the bin
    holding ``n - 0.5 <= MMI < n + 0.5``; grid cells outside ``[0.5, 10.5)``
    are not counted (:func:`exposure_by_mmi`).  The rate of a bin is taken at
    its centre ``n``.
Bins that contribute (``losspager.models.emploss.EmpiricalLoss.getLosses``)
    Only MMI 5 .. 9.  The MMI 10 population is added to MMI 9 ("we treat MMI 10
    as MMI 9 for modeling purposes") and MMI 1 .. 4 contribute nothing.  This
    matters: for China ``nu(10) = 0.37`` but ``nu(9) = 0.084``.
No default country
    losspager falls back to ``theta = 16, beta = 0.15`` for an unknown code
    (commented "TODO: What should these values be?"); we raise instead.
Deviations from losspager
    Exposure is kept as float (losspager truncates each bin to an integer) and
    losses are returned as floats (losspager truncates per country with
    ``int``).  Alert thresholds are integers, so ``x < n`` and
    ``int(x) < n`` agree for every ``x >= 0``.

Alert levels [PAGER]_ (``EmpiricalLoss.getAlertLevel``)
    Fatalities: green ``< 1``, yellow ``< 100``, orange ``< 1000``, red
    ``>= 1000``.  Economic loss (USD): green ``< 1e6``, yellow ``< 1e8``,
    orange ``< 1e9``, red ``>= 1e9``.  The overall alert is the higher of the
    two.  The expected value is compared with the threshold directly.

Uncertainty [JW10]_ [PAGER]_ (``losspager.utils.probs``)
    The loss ``L`` is log-normal with median the estimate ``E`` and
    log-standard deviation ``zeta`` (the country's ``gnormvalue``)::

        P(a <= L < b) = Phi(ln(b / E) / zeta) - Phi(ln(a / E) / zeta)

    For several countries ``zeta = sqrt(sum zeta_c^2)`` over the countries
    whose loss truncated to an integer is positive (over all countries when
    none is), capped at 2.5 (``EmpiricalLoss.getCombinedG``).  PAGER reports
    the probabilities of its seven ranges (deaths or millions of USD):
    ``0-1, 1-10, 10-100, 100-1000, 1000-1e4, 1e4-1e5, >= 1e5``
    (:data:`PAGER_RANGES`).  By default we evaluate the formula as written
    (``E = 0`` puts all probability on the lowest range).  With
    ``pager_compat=True`` we reproduce ``calcEmpiricalProbFromRange``
    exactly, operational adjustments included: ``1e-5`` added to ``E`` and to
    both range ends, ``E`` replaced by 0.5 when ``E + 1e-5 < 0.001``,
    ``zeta`` replaced by 1.7613 when ``E + 1e-5 < 1`` and ``zeta > 1.7``, and
    the top range closed at ``1e12``.

References
----------
.. [JW10] Jaiswal, K. S. and Wald, D. J. (2010).  An empirical model for
   global earthquake fatality estimation.  Earthquake Spectra 26(4),
   1017-1037; and Jaiswal, K., Wald, D. and Hearne, M. (2009), Estimating
   casualties for large earthquakes worldwide using an empirical approach,
   USGS Open-File Report 2009-1136.
.. [JW13] Jaiswal, K. S. and Wald, D. J. (2013).  Estimating economic losses
   from earthquakes using an empirical approach.  Earthquake Spectra 29(3),
   309-324.
.. [PAGER] USGS PAGER, github.com/usgs/pager: ``losspager/models/emploss.py``,
   ``losspager/models/exposure.py``, ``losspager/utils/probs.py``,
   ``losspager/data/fatality.xml``, ``losspager/data/economy.xml``.
"""

from __future__ import annotations

import csv
import enum
import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from scipy.special import erfc, ndtr

__all__ = [
    "ALERT_THRESHOLDS",
    "N_MMI_BINS",
    "PAGER_RANGES",
    "ZETA_CAP",
    "AlertLevel",
    "AlertProbabilities",
    "EconomicModel",
    "FatalityModel",
    "LossKind",
    "PagerEstimate",
    "alert_level",
    "alert_probabilities",
    "combined_zeta",
    "economic_model",
    "estimate",
    "expected_economic_loss",
    "expected_fatalities",
    "exposure_by_mmi",
    "fatality_model",
    "fatality_rate",
    "load_economic_models",
    "load_fatality_models",
    "overall_alert",
    "range_probabilities",
]

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

N_MMI_BINS = 10
"""Exposure arrays hold the population of MMI bins 1 .. 10 (index ``n - 1``)."""
_MODEL_BINS = np.arange(5, 10)  # MMI 5 .. 9 contribute; MMI 10 is merged into 9
_BIN_EDGES = np.arange(0.5, N_MMI_BINS + 1.0)  # 0.5, 1.5, ..., 10.5
ZETA_CAP = 2.5
"""Upper limit of the combined zeta (``EmpiricalLoss.getCombinedG``)."""

_FATALITY_FILE = "pager_fatality.csv"
_ECONOMIC_FILE = "pager_economic.csv"
_FATALITY_COLUMNS = ("ccode", "theta", "beta", "zeta", "status", "source")
_ECONOMIC_COLUMNS = ("ccode", "theta", "beta", "alpha", "zeta", "status", "source")


class LossKind(enum.Enum):
    """What a loss is counted in."""

    FATALITIES = "fatalities"
    ECONOMIC_USD = "economic_usd"

    @property
    def pager_unit(self) -> float:
        """Unit of PAGER's ranges and thresholds: deaths, or millions of USD."""
        return 1.0 if self is LossKind.FATALITIES else 1e6


class AlertLevel(enum.Enum):
    """PAGER alert colours, in increasing severity."""

    GREEN = "green"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {AlertLevel.GREEN: 0, AlertLevel.YELLOW: 1, AlertLevel.ORANGE: 2, AlertLevel.RED: 3}

ALERT_THRESHOLDS: Mapping[LossKind, tuple[float, float, float]] = MappingProxyType(
    {LossKind.FATALITIES: (1.0, 100.0, 1000.0), LossKind.ECONOMIC_USD: (1e6, 1e8, 1e9)}
)
"""Lower bounds of yellow, orange and red (deaths; USD)."""

PAGER_RANGES: tuple[tuple[float, float], ...] = (
    (0.0, 1.0),
    (1.0, 10.0),
    (10.0, 100.0),
    (100.0, 1000.0),
    (1000.0, 1e4),
    (1e4, 1e5),
    (1e5, math.inf),
)
"""PAGER's loss ranges in deaths or millions of USD (``getProbabilities``)."""

_RANGE_ALERT = (
    AlertLevel.GREEN,
    AlertLevel.YELLOW,
    AlertLevel.YELLOW,
    AlertLevel.ORANGE,
    AlertLevel.RED,
    AlertLevel.RED,
    AlertLevel.RED,
)


# --------------------------------------------------------------------------- #
# validation helpers (edge only)
# --------------------------------------------------------------------------- #


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0.0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return v


def _non_negative(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0.0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return v


def _ccode(value: str) -> str:
    if not isinstance(value, str) or len(value.strip()) != 2 or not value.strip().isalpha():
        raise ValueError(f"ccode must be a two-letter country code, got {value!r}")
    return value.strip().upper()


def _exposure(name: str, exposure: ArrayLike) -> FloatArray:
    a = np.array(exposure, dtype=np.float64, copy=True)
    if a.shape != (N_MMI_BINS,):
        raise ValueError(f"{name} must have shape ({N_MMI_BINS},) (population of MMI 1..10), got {a.shape}")
    if not np.all(np.isfinite(a)) or (a < 0.0).any():
        raise ValueError(f"{name} must be finite and >= 0")
    return a


# --------------------------------------------------------------------------- #
# models
# --------------------------------------------------------------------------- #


def fatality_rate(mmi: ArrayLike, theta: float, beta: float) -> FloatArray:
    """``Phi(ln(mmi / theta) / beta)`` [JW10]_, elementwise.

    Parameters
    ----------
    mmi : array_like, shape (...)
        Shaking intensity (MMI), >= 0; ``mmi = 0`` gives 0.
    theta, beta : float
        Median and log-standard deviation of the rate function, > 0.

    Returns
    -------
    ndarray, shape (...), float64
    """
    t = _positive("theta", theta)
    b = _positive("beta", beta)
    s = np.asarray(mmi, dtype=np.float64)
    if not np.all(np.isfinite(s)) or (s < 0.0).any():
        raise ValueError("mmi must be finite and >= 0")
    with np.errstate(divide="ignore"):  # ln(0) = -inf -> Phi = 0
        z = np.log(s / t) / b
    out: FloatArray = ndtr(z)
    return out


@dataclass(frozen=True)
class FatalityModel:
    """One country's empirical fatality model (a row of ``pager_fatality.csv``).

    ``zeta`` is the log-standard deviation of the estimate (``gnormvalue``);
    ``status`` is ``InCountry`` (own events) or ``InGroup`` (regional group).
    """

    ccode: str
    theta: float
    beta: float
    zeta: float
    status: str = "custom"
    source: str = "custom"

    def __post_init__(self) -> None:
        object.__setattr__(self, "ccode", _ccode(self.ccode))
        for name in ("theta", "beta", "zeta"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))

    def rates(self, mmi: ArrayLike) -> FloatArray:
        """Fatality rate (deaths per exposed person) at ``mmi``."""
        return fatality_rate(mmi, self.theta, self.beta)


@dataclass(frozen=True)
class EconomicModel:
    """One country's empirical economic loss model (a row of ``pager_economic.csv``).

    ``alpha`` turns per-capita GDP into exposed wealth per person [JW13]_.
    """

    ccode: str
    theta: float
    beta: float
    alpha: float
    zeta: float
    status: str = "custom"
    source: str = "custom"

    def __post_init__(self) -> None:
        object.__setattr__(self, "ccode", _ccode(self.ccode))
        for name in ("theta", "beta", "alpha", "zeta"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))

    def rates(self, mmi: ArrayLike) -> FloatArray:
        """Loss ratio (loss / exposed wealth) at ``mmi``."""
        return fatality_rate(mmi, self.theta, self.beta)


def _read_table(path: Path | None, filename: str, columns: tuple[str, ...]) -> list[tuple[str, dict[str, str]]]:
    if path is None:
        text = resources.files(__package__).joinpath("data", filename).read_text(encoding="utf-8")
        label = filename
    else:
        text = Path(path).read_text(encoding="utf-8")
        label = str(path)
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip() and not line.startswith("#")]
    reader = csv.reader(line for _, line in numbered)
    header = tuple(h.strip() for h in next(reader, ()))
    if header != columns:
        raise ValueError(f"{label}: columns must be {columns}, got {header}")
    rows = []
    for (n, _), values in zip(numbered[1:], reader, strict=True):
        if len(values) != len(columns):
            raise ValueError(f"{label} line {n}: expected {len(columns)} fields, got {len(values)}")
        rows.append((f"{label} line {n}", dict(zip(columns, (v.strip() for v in values), strict=True))))
    return rows


_M = TypeVar("_M", FatalityModel, EconomicModel)


def _build(rows: list[tuple[str, dict[str, str]]], make: type[_M]) -> Mapping[str, _M]:
    out: dict[str, _M] = {}
    for where, row in rows:
        try:
            numbers = {k: float(v) for k, v in row.items() if k not in ("ccode", "status", "source")}
            model = make(ccode=row["ccode"], status=row["status"], source=row["source"], **numbers)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if model.ccode in out:
            raise ValueError(f"{where}: duplicate ccode {model.ccode}")
        out[model.ccode] = model
    return MappingProxyType(out)


def load_fatality_models(path: str | Path | None = None) -> Mapping[str, FatalityModel]:
    """Fatality models by country code, from ``path`` or the shipped table."""
    if path is None:
        return _default_fatality()
    rows = _read_table(Path(path), _FATALITY_FILE, _FATALITY_COLUMNS)
    return _build(rows, FatalityModel)


def load_economic_models(path: str | Path | None = None) -> Mapping[str, EconomicModel]:
    """Economic models by country code, from ``path`` or the shipped table."""
    if path is None:
        return _default_economic()
    rows = _read_table(Path(path), _ECONOMIC_FILE, _ECONOMIC_COLUMNS)
    return _build(rows, EconomicModel)


@functools.cache
def _default_fatality() -> Mapping[str, FatalityModel]:
    return _build(_read_table(None, _FATALITY_FILE, _FATALITY_COLUMNS), FatalityModel)


@functools.cache
def _default_economic() -> Mapping[str, EconomicModel]:
    return _build(_read_table(None, _ECONOMIC_FILE, _ECONOMIC_COLUMNS), EconomicModel)


def fatality_model(ccode: str) -> FatalityModel:
    """The shipped fatality model of ``ccode``; unknown codes raise (no default)."""
    code = _ccode(ccode)
    try:
        return _default_fatality()[code]
    except KeyError:
        raise ValueError(f"ccode {code!r} has no PAGER fatality model") from None


def economic_model(ccode: str) -> EconomicModel:
    """The shipped economic model of ``ccode``; unknown codes raise (no default)."""
    code = _ccode(ccode)
    try:
        return _default_economic()[code]
    except KeyError:
        raise ValueError(f"ccode {code!r} has no PAGER economic model") from None


# --------------------------------------------------------------------------- #
# exposure and expected losses
# --------------------------------------------------------------------------- #


def exposure_by_mmi(mmi: ArrayLike, population: ArrayLike) -> FloatArray:
    """Population per integer MMI bin, ``n - 0.5 <= MMI < n + 0.5`` for ``n = 1 .. 10``.

    Parameters
    ----------
    mmi, population : array_like, same shape
        Intensity and population of each grid cell; both finite, population >= 0.
        Cells with ``MMI < 0.5`` or ``MMI >= 10.5`` are not counted.

    Returns
    -------
    ndarray, shape (10,), float64
        ``out[n - 1]`` = population of bin ``n``.
    """
    s = np.asarray(mmi, dtype=np.float64)
    p = np.asarray(population, dtype=np.float64)
    if s.shape != p.shape:
        raise ValueError(f"population must have the shape of mmi {s.shape}, got {p.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("mmi must be finite")
    if not np.all(np.isfinite(p)) or (p < 0.0).any():
        raise ValueError("population must be finite and >= 0")
    # bins[i] = n with n - 0.5 <= s < n + 0.5 (exact comparisons with the edges)
    bins = np.searchsorted(_BIN_EDGES, s.ravel(), side="right")
    keep = (bins >= 1) & (bins <= N_MMI_BINS)
    out: FloatArray = np.bincount(bins[keep] - 1, weights=p.ravel()[keep], minlength=N_MMI_BINS).astype(np.float64)
    return out


def _model_exposure(name: str, exposure: ArrayLike) -> FloatArray:
    e = _exposure(name, exposure)
    e[8] += e[9]  # MMI 10 counted as MMI 9 (losspager getLosses)
    return e[4:9]  # MMI 5 .. 9


def expected_fatalities(exposure: ArrayLike, model: FatalityModel) -> float:
    """``sum_j P_j nu(S_j)`` over MMI 5 .. 9 (MMI 10 counted as 9) [JW10]_.

    Parameters
    ----------
    exposure : array_like, shape (10,)
        Population of MMI bins 1 .. 10 (:func:`exposure_by_mmi`), persons.
    model : FatalityModel
    """
    e = _model_exposure("exposure", exposure)
    return float(np.dot(e, model.rates(_MODEL_BINS)))


def expected_economic_loss(exposure: ArrayLike, model: EconomicModel, gdp_per_capita_usd: float) -> float:
    """``sum_j P_j GDPpc alpha nu(S_j)`` in USD over MMI 5 .. 9 (MMI 10 counted as 9) [JW13]_.

    Parameters
    ----------
    exposure : array_like, shape (10,)
        Population of MMI bins 1 .. 10, persons.
    model : EconomicModel
    gdp_per_capita_usd : float
        Per-capita GDP of the country in the event year, USD, > 0.
    """
    gdp = _positive("gdp_per_capita_usd", gdp_per_capita_usd)
    e = _model_exposure("exposure", exposure)
    return float(np.dot(e * (gdp * model.alpha), model.rates(_MODEL_BINS)))


# --------------------------------------------------------------------------- #
# alerts and uncertainty
# --------------------------------------------------------------------------- #


def alert_level(loss: float, kind: LossKind) -> AlertLevel:
    """PAGER alert of an expected loss (deaths, or USD); thresholds in :data:`ALERT_THRESHOLDS`."""
    x = _non_negative("loss", loss)
    yellow, orange, red = ALERT_THRESHOLDS[kind]
    if x < yellow:
        return AlertLevel.GREEN
    if x < orange:
        return AlertLevel.YELLOW
    if x < red:
        return AlertLevel.ORANGE
    return AlertLevel.RED


def overall_alert(*levels: AlertLevel) -> AlertLevel:
    """The highest of the given alert levels (fatality and economic)."""
    if not levels:
        raise ValueError("levels must name at least one alert level")
    return max(levels, key=lambda lv: lv.rank)


def combined_zeta(zetas: Iterable[float], losses: Iterable[float]) -> float:
    """Combined log-standard deviation of a multi-country loss (``getCombinedG``).

    ``sqrt(sum zeta_c^2)`` over the countries whose loss truncated to an
    integer is positive (``loss >= 1``), over all countries when none is;
    capped at :data:`ZETA_CAP`.
    """
    z = [_positive("zetas", v) for v in zetas]
    x = [_non_negative("losses", v) for v in losses]
    if len(z) != len(x) or not z:
        raise ValueError(f"zetas and losses must be non-empty and of equal length, got {len(z)} and {len(x)}")
    counted = [zc for zc, xc in zip(z, x, strict=True) if xc >= 1.0] or z
    return min(math.sqrt(sum(zc * zc for zc in counted)), ZETA_CAP)


def _phi_pager(x: float) -> float:
    return float(0.5 * erfc(-x / math.sqrt(2.0)))  # losspager.utils.probs.phi


def range_probabilities(
    expected: float, zeta: float, kind: LossKind, *, pager_compat: bool = False
) -> tuple[float, ...]:
    """Probabilities of PAGER's seven loss ranges (:data:`PAGER_RANGES`).

    Parameters
    ----------
    expected : float
        Estimated loss (median of the log-normal), deaths or USD, >= 0.
    zeta : float
        Log-standard deviation, > 0.
    kind : LossKind
        Ranges are in deaths, or in millions of USD.
    pager_compat : bool
        Reproduce ``losspager.utils.probs.calcEmpiricalProbFromRange``
        (module docstring); by default the formula as written.

    Returns
    -------
    tuple of 7 floats, summing to 1 (to rounding) unless ``pager_compat``.
    """
    e = _non_negative("expected", expected) / kind.pager_unit
    g = _positive("zeta", zeta)
    if pager_compat:
        e += 1e-5
        if e < 1.0 and g > 1.7:
            g = 1.7613
        if e < 0.001:
            e = 0.5
        out = []
        for lo, hi in PAGER_RANGES:
            top = 1e12 if math.isinf(hi) else hi
            p_hi = _phi_pager((math.log(top + 1e-5) - math.log(e)) / g)
            p_lo = _phi_pager((math.log(lo + 1e-5) - math.log(e)) / g)
            out.append(p_hi - p_lo)
        return tuple(out)
    edges = np.array([lo for lo, _ in PAGER_RANGES] + [math.inf])
    return tuple(float(v) for v in np.diff(_cdf(edges, e, g)))


def _cdf(x: FloatArray, median: float, zeta: float) -> FloatArray:
    """``P(L < x)`` for log-normal ``L`` (all mass at 0 when ``median == 0``)."""
    if median == 0.0:
        return np.where(x > 0.0, 1.0, 0.0)
    with np.errstate(divide="ignore"):
        out: FloatArray = ndtr(np.log(x / median) / zeta)
    return out


@dataclass(frozen=True)
class AlertProbabilities:
    """Probability of each alert level given the log-normal error of the estimate."""

    green: float
    yellow: float
    orange: float
    red: float

    def __getitem__(self, level: AlertLevel) -> float:
        return float(getattr(self, level.value))

    @property
    def most_likely(self) -> AlertLevel:
        return max(AlertLevel, key=lambda lv: self[lv])


def alert_probabilities(
    expected: float, zeta: float, kind: LossKind, *, pager_compat: bool = False
) -> AlertProbabilities:
    """``P(alert = level)`` for each level; see :func:`range_probabilities`.

    By default computed at the alert thresholds directly; with ``pager_compat``
    the PAGER range probabilities are summed per alert colour.
    """
    if pager_compat:
        ranges = range_probabilities(expected, zeta, kind, pager_compat=True)
        sums = dict.fromkeys(AlertLevel, 0.0)
        for p, lv in zip(ranges, _RANGE_ALERT, strict=True):
            sums[lv] += p
        return AlertProbabilities(*(sums[lv] for lv in AlertLevel))
    e = _non_negative("expected", expected)
    g = _positive("zeta", zeta)
    edges = np.array([0.0, *ALERT_THRESHOLDS[kind], math.inf])
    probs = np.diff(_cdf(edges, e, g))
    return AlertProbabilities(*(float(v) for v in probs))


# --------------------------------------------------------------------------- #
# one event, several countries
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class PagerEstimate:
    """Empirical PAGER losses of one event.

    ``*_by_country`` map country codes to expected losses; the economic fields
    are ``None`` when no per-capita GDP was given.  ``provenance`` names the
    model rows used (country -> source) and the algorithm.
    """

    fatalities_by_country: Mapping[str, float]
    fatalities: float
    fatality_zeta: float
    fatality_alert: AlertLevel
    fatality_probabilities: AlertProbabilities
    economic_loss_by_country: Mapping[str, float] | None
    economic_loss_usd: float | None
    economic_zeta: float | None
    economic_alert: AlertLevel | None
    economic_probabilities: AlertProbabilities | None
    overall_alert: AlertLevel
    provenance: Mapping[str, str]


def estimate(
    exposure: Mapping[str, ArrayLike],
    *,
    gdp_per_capita_usd: Mapping[str, float] | None = None,
    fatality_models: Mapping[str, FatalityModel] | None = None,
    economic_models: Mapping[str, EconomicModel] | None = None,
    pager_compat: bool = False,
) -> PagerEstimate:
    """Fatalities, economic loss, zeta, alerts and alert probabilities of one event.

    Parameters
    ----------
    exposure : mapping of country code -> array_like, shape (10,)
        Population of MMI bins 1 .. 10 in each country.
    gdp_per_capita_usd : mapping of country code -> float, optional
        Event-year per-capita GDP (USD) of every country in ``exposure``;
        without it no economic loss is estimated.
    fatality_models, economic_models : mapping, optional
        Defaults: the shipped tables.
    pager_compat : bool
        Passed to :func:`alert_probabilities`.
    """
    if not exposure:
        raise ValueError("exposure must name at least one country")
    fat_models = _default_fatality() if fatality_models is None else fatality_models
    deaths: dict[str, float] = {}
    prov: dict[str, str] = {"algorithm": "USGS PAGER empirical model (Jaiswal & Wald 2010, 2013)"}
    for raw, expo in exposure.items():
        code = _ccode(raw)
        if code in deaths:
            raise ValueError(f"exposure names country {code} twice")
        if code not in fat_models:
            raise ValueError(f"exposure: ccode {code!r} has no PAGER fatality model")
        deaths[code] = expected_fatalities(expo, fat_models[code])
        prov[f"fatality.{code}"] = fat_models[code].source
    total = math.fsum(deaths.values())
    zeta = combined_zeta([fat_models[c].zeta for c in deaths], deaths.values())
    f_alert = alert_level(total, LossKind.FATALITIES)
    f_probs = alert_probabilities(total, zeta, LossKind.FATALITIES, pager_compat=pager_compat)

    econ: dict[str, float] | None = None
    e_total: float | None = None
    e_zeta: float | None = None
    e_alert: AlertLevel | None = None
    e_probs: AlertProbabilities | None = None
    levels = [f_alert]
    if gdp_per_capita_usd is not None:
        eco_models = _default_economic() if economic_models is None else economic_models
        gdp = {_ccode(k): v for k, v in gdp_per_capita_usd.items()}
        econ = {}
        for raw, expo in exposure.items():
            code = _ccode(raw)
            if code not in eco_models:
                raise ValueError(f"exposure: ccode {code!r} has no PAGER economic model")
            if code not in gdp:
                raise ValueError(f"gdp_per_capita_usd must give country {code}")
            econ[code] = expected_economic_loss(expo, eco_models[code], gdp[code])
            prov[f"economic.{code}"] = eco_models[code].source
        e_total = math.fsum(econ.values())
        e_zeta = combined_zeta([eco_models[c].zeta for c in econ], econ.values())
        e_alert = alert_level(e_total, LossKind.ECONOMIC_USD)
        e_probs = alert_probabilities(e_total, e_zeta, LossKind.ECONOMIC_USD, pager_compat=pager_compat)
        levels.append(e_alert)
    return PagerEstimate(
        fatalities_by_country=MappingProxyType(deaths),
        fatalities=total,
        fatality_zeta=zeta,
        fatality_alert=f_alert,
        fatality_probabilities=f_probs,
        economic_loss_by_country=None if econ is None else MappingProxyType(econ),
        economic_loss_usd=e_total,
        economic_zeta=e_zeta,
        economic_alert=e_alert,
        economic_probabilities=e_probs,
        overall_alert=overall_alert(*levels),
        provenance=MappingProxyType(prov),
    )
