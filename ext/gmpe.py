"""Ground-motion prediction equations (GMPEs) for a rupture at many sites.

Issue "[4] Loss estimation", hazard part.  Arrays in, frozen dataclasses out;
numpy only.  All arithmetic is float64, inputs are never modified, and
invalid input raises :class:`ValueError` naming the argument and the limit.

Intensity measures are named in OpenQuake style: ``"PGA"``, ``"PGV"``,
``"SA(0.3)"`` (5 %-damped pseudo-spectral acceleration, period in s).
Results are natural logarithms: of g for PGA and SA, of cm/s for PGV.

Models (registry :data:`GMPES`, one class per paper)
----------------------------------------------------
``"BSSA14"``: :class:`BooreEtAl2014` [BSSA14]_, coefficients in
``data/bssa14.csv`` (the authors' revised table of 2014-07-15, 107 periods
0.01-10 s plus PGA and PGV).  Equation numbers refer to the paper:

* ``ln Y = F_E + F_P + F_S`` (1); event term ``F_E`` with the mechanism
  dummies ``U, SS, NS, RS`` and hinge magnitude ``Mh`` (2); path term
  ``F_P = [c1 + c2 (M - Mref)] ln(R / Rref) + (c3 + Dc3)(R - Rref)`` (3) with
  ``R = sqrt(Rjb^2 + h^2)`` (4) and the regional ``Dc3`` (global / California
  / Taiwan / New Zealand 0; "china_turkey"; "italy_japan").
* Site term ``F_S = ln F_lin + ln F_nl + F_dz1`` (5): linear (6), nonlinear
  (7)-(8) driven by ``PGAr``, the median PGA for ``Vs30 = 760 m/s`` (eqs. 2-4
  with the PGA coefficients and the same region), always on; basin term (9)
  with ``dz1 = z1 - mu_z1(Vs30)`` (10), ``mu_z1`` of California (11) or Japan
  (12), **off by default** (``basin=None``), and zero for ``T < 0.65 s``,
  PGA, PGV, and sites whose ``z1`` is NaN (unknown: ``dz1 = 0`` as the
  authors recommend).
* Aleatory variability ``sigma = sqrt(phi^2 + tau^2)`` (13), ``tau(M)`` (14),
  ``phi(M, Rjb, Vs30)`` (15)-(17).

Untabulated periods
    Between two tabulated periods ``T1 < T < T2`` the model is evaluated at
    both and ``ln Y``, ``tau`` and ``phi`` are interpolated linearly in
    ``ln T``, as the authors' Fortran code does (its tables at the
    untabulated 0.21 and 0.23 s are matched to 1e-5; OpenQuake instead
    interpolates the coefficients, which differs by up to about 0.4 %).  ``sigma`` is
    ``sqrt(tau^2 + phi^2)`` of the interpolated terms.  Periods outside
    [0.01, 10] s are rejected.
Mechanism
    From a :class:`~quakewatch.ext.rupture.Rupture`'s rake
    (:func:`~quakewatch.ext.rupture.slip_type`); "unspecified" (``e0``) for a
    bare magnitude unless ``mechanism`` is given.
Applicability (not enforced)
    M 3-8.5 (strike-slip, reverse), 3-7 (normal); Rjb 0-400 km; Vs30
    150-1500 m/s.  Outside, the equations are extrapolated as published.

References
----------
.. [BSSA14] Boore, D. M., Stewart, J. P., Seyhan, E. & Atkinson, G. M.
   (2014). NGA-West2 equations for predicting PGA, PGV, and 5% damped PSA
   for shallow crustal earthquakes. Earthquake Spectra 30(3), 1057-1085.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any, ClassVar, Final, Protocol

import numpy as np
import numpy.typing as npt

from quakewatch.ext.rupture import Rupture, SiteDistances, SlipType

__all__ = [
    "GMPES",
    "GMPE_ALGORITHM_VERSION",
    "BooreEtAl2014",
    "GroundMotionModel",
    "GroundMotionPrediction",
    "Imt",
    "parse_imt",
    "predict",
]

FloatArray = npt.NDArray[np.float64]

#: Bump when a definition in the module docstring changes (goes into provenance).
GMPE_ALGORITHM_VERSION: Final = "1"
_IMT_RE: Final = re.compile(r"^(PGA|PGV|SA\(\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*\))$")
_MECHANISMS: Final = ("unspecified", "strike-slip", "normal", "reverse")


@dataclass(frozen=True, slots=True)
class Imt:
    """A parsed intensity measure type: ``name`` PGA / PGV / SA, ``period_s`` (0 unless SA)."""

    name: str
    period_s: float = 0.0

    def __str__(self) -> str:
        return f"SA({self.period_s!r})" if self.name == "SA" else self.name


def parse_imt(imt: str) -> Imt:
    """Parse ``"PGA"``, ``"PGV"`` or ``"SA(T)"`` (T in s, > 0)."""
    if not isinstance(imt, str):
        raise ValueError(f"imt must be a string such as 'PGA', 'PGV' or 'SA(0.3)', got {imt!r}")
    m = _IMT_RE.match(imt.strip())
    if m is None:
        raise ValueError(f"imt must be 'PGA', 'PGV' or 'SA(T)' with T in seconds, got {imt!r}")
    if m.group(2) is None:
        return Imt(m.group(1))
    period = float(m.group(2))
    if not period > 0.0:
        raise ValueError(f"imt period must be > 0 s, got {imt!r}")
    return Imt("SA", period)


@dataclass(frozen=True, slots=True, eq=False)
class GroundMotionPrediction:
    """Median and variability of one IMT at each site.

    Attributes
    ----------
    imt : str
        Canonical IMT string, e.g. ``"SA(0.3)"``.
    model : str
        Registry name of the GMPE and its options, e.g. ``"BSSA14(region=global, basin=None)"``.
    ln_mean : ndarray of float64, shape (n_sites,)
        Natural log of the median: g for PGA and SA, cm/s for PGV.
    sigma_total, tau, phi : ndarray of float64, shape (n_sites,)
        Total, between-event and within-event standard deviations (natural log units).
    algorithm_version : str
        :data:`GMPE_ALGORITHM_VERSION`.
    """

    imt: str
    model: str
    ln_mean: FloatArray
    sigma_total: FloatArray
    tau: FloatArray
    phi: FloatArray
    algorithm_version: str = GMPE_ALGORITHM_VERSION


class GroundMotionModel(Protocol):
    """What :func:`predict` needs from a registry entry (constructed with keyword options)."""

    name: ClassVar[str]

    @property
    def label(self) -> str: ...

    def period_range_s(self) -> tuple[float, float]: ...

    def predict(
        self,
        imt: Imt,
        mw: float,
        mechanism: SlipType | None,
        rjb_km: FloatArray,
        vs30_mps: FloatArray,
        z1_km: FloatArray | None,
    ) -> tuple[FloatArray, FloatArray, FloatArray]: ...


# ----------------------------------------------------------------------------- BSSA14

_BSSA14_COLUMNS: Final = (
    "period_s", "e0", "e1", "e2", "e3", "e4", "e5", "e6", "mh", "c1", "c2", "c3", "mref", "rref",
    "h", "dc3_global", "dc3_china_turkey", "dc3_italy_japan", "c", "vc", "vref", "f1", "f3", "f4",
    "f5", "f6", "f7", "r1", "r2", "dphi_r", "dphi_v", "v1", "v2", "phi1", "phi2", "tau1", "tau2",
)


@functools.lru_cache(maxsize=None)
def _read_table(filename: str) -> Mapping[str, FloatArray]:
    text = resources.files("quakewatch.ext").joinpath("data", filename).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    header = lines[0].split(",")
    values = np.array([[float(v) for v in ln.split(",")] for ln in lines[1:]], dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(header):
        raise ValueError(f"data/{filename}: every row must have {len(header)} values")
    cols = {name: values[:, i].copy() for i, name in enumerate(header)}
    for a in cols.values():
        a.setflags(write=False)
    return MappingProxyType(cols)


def _bssa14_table() -> Mapping[str, FloatArray]:
    table = _read_table("bssa14.csv")
    missing = [c for c in _BSSA14_COLUMNS if c not in table]
    if missing:
        raise ValueError(f"data/bssa14.csv lacks columns {missing}")
    return table


def _mu_z1_california_km(vs30: FloatArray) -> FloatArray:
    """Eq. (11): centred z1 (km) of California."""
    ratio = (vs30**4 + 570.94**4) / (1360.0**4 + 570.94**4)
    out: FloatArray = np.exp(-7.15 / 4.0 * np.log(ratio)) / 1000.0
    return out


def _mu_z1_japan_km(vs30: FloatArray) -> FloatArray:
    """Eq. (12): centred z1 (km) of Japan."""
    ratio = (vs30**2 + 412.39**2) / (1360.0**2 + 412.39**2)
    out: FloatArray = np.exp(-5.23 / 2.0 * np.log(ratio)) / 1000.0
    return out


class BooreEtAl2014:
    """BSSA14 [BSSA14]_ (see the module docstring).

    Parameters
    ----------
    region : {"global", "china_turkey", "italy_japan"}
        Anelastic-attenuation region (``Dc3``); "global" also covers
        California, Taiwan and New Zealand.
    basin : {None, "california", "japan"}
        Basin-depth term off (default) or on with that ``mu_z1(Vs30)`` model;
        then ``z1_km`` must be given to :func:`predict` (NaN = unknown).
    """

    name: ClassVar[str] = "BSSA14"
    regions: ClassVar[tuple[str, ...]] = ("global", "china_turkey", "italy_japan")
    basins: ClassVar[tuple[str | None, ...]] = (None, "california", "japan")

    def __init__(self, *, region: str = "global", basin: str | None = None) -> None:
        if region not in self.regions:
            raise ValueError(f"region must be one of {self.regions}, got {region!r}")
        if basin not in self.basins:
            raise ValueError(f"basin must be one of {self.basins}, got {basin!r}")
        self.region = region
        self.basin = basin
        self._t = _bssa14_table()
        periods = self._t["period_s"]
        self._sa_index = np.flatnonzero(periods > 0.0)
        self._sa_periods = periods[self._sa_index]
        if (np.diff(self._sa_periods) <= 0.0).any():
            raise ValueError("data/bssa14.csv: SA periods must be strictly increasing")

    @property
    def label(self) -> str:
        """Name with options, for provenance."""
        return f"{self.name}(region={self.region}, basin={self.basin})"

    def period_range_s(self) -> tuple[float, float]:
        """Tabulated SA period range (s)."""
        return float(self._sa_periods[0]), float(self._sa_periods[-1])

    def _row(self, period_s: float) -> dict[str, float]:
        i = int(np.flatnonzero(self._t["period_s"] == period_s)[0])
        return {k: float(v[i]) for k, v in self._t.items()}

    def _event(self, c: Mapping[str, float], mw: float, mech: SlipType | None) -> float:
        """Eq. (2)."""
        if mech is None:
            fe = c["e0"]
        else:
            fe = {SlipType.STRIKE_SLIP: c["e1"], SlipType.NORMAL: c["e2"], SlipType.REVERSE: c["e3"]}[mech]
        dm = mw - c["mh"]
        return fe + (c["e4"] * dm + c["e5"] * dm * dm if mw <= c["mh"] else c["e6"] * dm)

    def _path(self, c: Mapping[str, float], mw: float, rjb: FloatArray) -> FloatArray:
        """Eqs. (3)-(4)."""
        r = np.sqrt(rjb * rjb + c["h"] ** 2)
        dc3 = c[f"dc3_{self.region}"]
        out: FloatArray = (c["c1"] + c["c2"] * (mw - c["mref"])) * np.log(r / c["rref"]) + (
            c["c3"] + dc3
        ) * (r - c["rref"])
        return out

    def _at_period(
        self, period_s: float, mw: float, mech: SlipType | None, rjb: FloatArray,
        vs30: FloatArray, z1: FloatArray | None, pga_rock: FloatArray,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        c = self._row(period_s)
        ln_y = self._event(c, mw, mech) + self._path(c, mw, rjb)
        # site term, eqs. (5)-(8)
        ln_y += c["c"] * np.log(np.minimum(vs30, c["vc"]) / c["vref"])
        f2 = c["f4"] * (np.exp(c["f5"] * (np.minimum(vs30, c["vref"]) - 360.0))
                        - math.exp(c["f5"] * (c["vref"] - 360.0)))
        ln_y += c["f1"] + f2 * np.log((pga_rock + c["f3"]) / c["f3"])
        if self.basin is not None and z1 is not None and period_s >= 0.65:  # eqs. (9)-(12)
            mu = _mu_z1_california_km(vs30) if self.basin == "california" else _mu_z1_japan_km(vs30)
            dz1 = np.where(np.isnan(z1), 0.0, z1 - mu)
            ln_y += np.where(dz1 <= c["f7"] / c["f6"], c["f6"] * dz1, c["f7"])
        # aleatory variability, eqs. (14)-(17)
        w = min(max(mw - 4.5, 0.0), 1.0)
        tau = np.full_like(rjb, c["tau1"] + (c["tau2"] - c["tau1"]) * w)
        phi = np.full_like(rjb, c["phi1"] + (c["phi2"] - c["phi1"]) * w)
        with np.errstate(divide="ignore"):
            fr = np.log(np.maximum(rjb, c["r1"]) / c["r1"]) / math.log(c["r2"] / c["r1"])
        phi += c["dphi_r"] * np.clip(fr, 0.0, 1.0)
        fv = np.log(c["v2"] / np.clip(vs30, c["v1"], c["v2"])) / math.log(c["v2"] / c["v1"])
        phi -= c["dphi_v"] * fv
        return ln_y, tau, phi

    def predict(
        self, imt: Imt, mw: float, mechanism: SlipType | None, rjb_km: FloatArray,
        vs30_mps: FloatArray, z1_km: FloatArray | None,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(ln_mean, tau, phi)`` at validated inputs (see :func:`predict`)."""
        if self.basin is not None and z1_km is None:
            raise ValueError(f"z1_km must be given when basin={self.basin!r} (NaN marks unknown sites)")
        c_pga = self._row(0.0)
        pga_rock = np.exp(self._event(c_pga, mw, mechanism) + self._path(c_pga, mw, rjb_km))
        args = (mw, mechanism, rjb_km, vs30_mps, z1_km, pga_rock)
        if imt.name != "SA":
            return self._at_period(-1.0 if imt.name == "PGV" else 0.0, *args)
        t = imt.period_s
        lo_t, hi_t = self.period_range_s()
        if not lo_t <= t <= hi_t:
            raise ValueError(f"imt period must be within [{lo_t}, {hi_t}] s for {self.name}, got {t}")
        periods = self._sa_periods
        j = int(np.searchsorted(periods, t))
        if periods[j] == t:
            return self._at_period(float(t), *args)
        t1, t2 = float(periods[j - 1]), float(periods[j])
        w = math.log(t / t1) / math.log(t2 / t1)
        a = self._at_period(t1, *args)
        b = self._at_period(t2, *args)
        ln_y, tau, phi = ((1.0 - w) * x + w * y for x, y in zip(a, b))
        return ln_y, tau, phi


#: Registry of GMPE classes by name (STYLE 11: more models are added here).
GMPES: Final[Mapping[str, Callable[..., GroundMotionModel]]] = MappingProxyType(
    {BooreEtAl2014.name: BooreEtAl2014}
)


# ----------------------------------------------------------------------------- front end


def _site_array(name: str, values: npt.ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    a = np.asarray(values, dtype=np.float64)
    try:
        return np.array(np.broadcast_to(a, shape), dtype=np.float64)
    except ValueError:
        raise ValueError(f"{name} must be a scalar or broadcast to the sites' shape {shape}, got {a.shape}") from None


def _mechanism(rupture_or_mw: Rupture | float, mechanism: SlipType | str | None) -> SlipType | None:
    if mechanism is None:
        return rupture_or_mw.slip_type if isinstance(rupture_or_mw, Rupture) else None
    if isinstance(mechanism, SlipType):
        return mechanism
    if mechanism not in _MECHANISMS:
        raise ValueError(f"mechanism must be one of {_MECHANISMS} or None, got {mechanism!r}")
    return None if mechanism == "unspecified" else SlipType(mechanism)


def predict(
    model: str,
    imt: str,
    rupture_or_mw: Rupture | float,
    distances: SiteDistances,
    vs30_mps: npt.ArrayLike,
    *,
    z1_km: npt.ArrayLike | None = None,
    mechanism: SlipType | str | None = None,
    **options: Any,
) -> GroundMotionPrediction:
    """Predict one IMT at every site.

    Parameters
    ----------
    model : str
        Registry name (:data:`GMPES`), e.g. ``"BSSA14"``.
    imt : str
        ``"PGA"``, ``"PGV"`` or ``"SA(T)"`` (T in s).
    rupture_or_mw : Rupture or float
        The rupture (magnitude and rake used), or a moment magnitude.
    distances : SiteDistances
        From :func:`~quakewatch.ext.rupture.site_distances`; BSSA14 uses ``rjb_km``.
    vs30_mps : array_like
        Time-averaged shear-wave velocity of the top 30 m (m/s, > 0),
        scalar or one per site.
    z1_km : array_like, optional
        Depth to Vs = 1 km/s (km, >= 0; NaN = unknown), for the basin term.
    mechanism : {"strike-slip", "normal", "reverse", "unspecified"}, optional
        Overrides the mechanism taken from the rupture's rake (default: from
        the rake, or "unspecified" for a bare magnitude).
    **options
        Model options, e.g. ``region="china_turkey"``, ``basin="california"``.

    Returns
    -------
    GroundMotionPrediction
        float64 arrays of the sites' shape.
    """
    if model not in GMPES:
        raise ValueError(f"model must be one of {sorted(GMPES)}, got {model!r}")
    gm = GMPES[model](**options)
    parsed = parse_imt(imt)
    if isinstance(rupture_or_mw, Rupture):
        mw = rupture_or_mw.mw
    else:
        mw = float(rupture_or_mw)
        if not math.isfinite(mw) or not 0.0 < mw <= 10.0:
            raise ValueError(f"rupture_or_mw must be a Rupture or a magnitude within (0, 10], got {mw}")
    mech = _mechanism(rupture_or_mw, mechanism)
    rjb = np.array(distances.rjb_km, dtype=np.float64)
    if not np.isfinite(rjb).all() or (rjb < 0.0).any():
        raise ValueError("distances.rjb_km must be finite and >= 0")
    vs30 = _site_array("vs30_mps", vs30_mps, rjb.shape)
    if not np.isfinite(vs30).all() or (vs30 <= 0.0).any():
        raise ValueError("vs30_mps must be finite and > 0 m/s")
    z1 = None
    if z1_km is not None:
        z1 = _site_array("z1_km", z1_km, rjb.shape)
        if np.isinf(z1).any() or (z1 < 0.0).any():
            raise ValueError("z1_km must be >= 0 km and not Inf (NaN marks an unknown site)")
    ln_y, tau, phi = gm.predict(parsed, mw, mech, rjb, vs30, z1)
    sigma = np.sqrt(tau * tau + phi * phi)
    return GroundMotionPrediction(str(parsed), gm.label, ln_y, sigma, tau, phi)
