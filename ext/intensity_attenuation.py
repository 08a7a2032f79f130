"""Seismic-intensity attenuation of Yu, Li & Xiao (2013) for China (elliptical isoseismals).

Issue "[4] Loss estimation", hazard part.  Arrays in, frozen dataclasses out;
numpy only.  All arithmetic is float64, inputs are never modified, and
invalid input raises :class:`ValueError` naming the argument and the limit.

Model [Yu13]_
-------------
The relations behind the seismic ground-motion parameter zonation map
GB 18306-2015 give the intensity along the long (major) and short (minor)
axes of an elliptical isoseismal::

    I_a = A_a + B_a Ms + C_a log10(R_a + R0_a)
    I_b = A_b + B_b Ms + C_b log10(R_b + R0_b)

with ``Ms`` the surface-wave magnitude and ``R_a``, ``R_b`` the semi-axes
(km) of the isoseismal.  Coefficients per region in
``data/yu2013_intensity.csv`` (:data:`INTENSITY_MODELS`): ``Yu2013Active``
(Xinjiang), ``Yu2013Tibet`` (Qinghai-Tibet), ``Yu2013Eastern`` (eastern
strong-earthquake region), ``Yu2013Stable`` (moderate-to-strong seismicity
region); names as OpenQuake's ``YuEtAl2013Ms*`` ground-motion classes.  The
data file says which values were transcribed and which two were derived.

Intensity at a site
    The isoseismal of intensity ``I`` is the ellipse with semi-axes
    ``R_a(I)``, ``R_b(I)`` (the two relations inverted) centred on the
    epicentre, long axis along ``rupture.strike_deg``.  A site's intensity is
    the ``I`` whose ellipse passes through it,
    ``(p / R_a(I))^2 + (q / R_b(I))^2 = 1`` with ``p``, ``q`` the site's
    coordinates along and across strike (km, azimuthal-equidistant map of
    :func:`~quakewatch.ext.rupture.local_xy`).  This is the construction
    OpenQuake's ``yu_2013.get_ras`` solves for the ground-motion relations;
    we solve it by safeguarded Newton iteration on ``I`` inside the bracket
    ``[min(I_a(r), I_b(r)), max(I_a(r), I_b(r))]`` (``r`` = epicentral
    distance), to 1e-9 intensity units.  On the long axis ``I = I_a(r)``, on
    the short axis ``I = I_b(r)``.
No strike (point source): circular isoseismals
    Without a strike the orientation is unknown; we use the circle of the
    same area as the isoseismal ellipse, ``sqrt(R_a(I) R_b(I)) = r`` (the
    equivalent radius).  It lies between the short- and long-axis values and
    is independent of any assumed azimuth.
At the epicentre
    ``I = (I_a(0) + I_b(0)) / 2``; the published coefficients make the two
    equal to within 4e-4.
Magnitude
    The relations use Ms.  By default Ms is converted from ``rupture.mw``
    with the Cheng et al. (2017) relations as OpenQuake's ``YuEtAl2013Mw``
    implements them (:func:`ms_from_mw`); a known Ms (e.g. the China
    Earthquake Networks Center's) can be passed as ``magnitude_ms``.  The
    conversion's own uncertainty is not added to ``sigma``.
Output
    Continuous intensity, neither rounded nor clipped to I-XII (clip at the
    edge when reporting degrees); ``sigma`` is the regression standard
    deviation (intensity units).

References
----------
.. [Yu13] Yu Yanxiang, Li Shanyou & Xiao Lan (2013). Development of ground
   motion attenuation relations for the new seismic hazard map of China.
   Technology for Earthquake Disaster Prevention 8(1).
.. [Ch17] Cheng, J., Rong, Y., Magistrale, H., Chen, G. & Xu, X. (2017). An
   Mw-based historical earthquake catalog for mainland China. BSSA 107(5),
   2490-2500 (Mw-Ms relations; branch point Mw 6.58 as in OpenQuake
   ``openquake/hazardlib/gsim/yu_2013.py``, class ``YuEtAl2013Mw``).
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt

from quakewatch.ext.rupture import Rupture, local_xy, site_coords

__all__ = [
    "INTENSITY_ALGORITHM_VERSION",
    "INTENSITY_MODELS",
    "IntensityCoefficients",
    "IntensityPrediction",
    "ms_from_mw",
    "predict_intensity",
]

FloatArray = npt.NDArray[np.float64]

#: Bump when a definition in the module docstring changes (goes into provenance).
INTENSITY_ALGORITHM_VERSION: Final = "1"
_LN10: Final = math.log(10.0)
_TOL: Final = 1e-9  # intensity units
_MAX_ITER: Final = 100
_R_FLOOR_KM: Final = 1e-12
_EPICENTRE_KM: Final = 1e-6


@dataclass(frozen=True, slots=True)
class IntensityCoefficients:
    """One row of ``data/yu2013_intensity.csv`` (see the module docstring)."""

    model: str
    region: str
    description: str
    a_major: float
    b_major: float
    c_major: float
    r0_major_km: float
    a_minor: float
    b_minor: float
    c_minor: float
    r0_minor_km: float
    sigma: float
    source: str

    def intensity_major(self, ms: float, r_km: FloatArray) -> FloatArray:
        """``I_a(R)`` along the long axis."""
        out: FloatArray = self.a_major + self.b_major * ms + self.c_major * np.log10(r_km + self.r0_major_km)
        return out

    def intensity_minor(self, ms: float, r_km: FloatArray) -> FloatArray:
        """``I_b(R)`` along the short axis."""
        out: FloatArray = self.a_minor + self.b_minor * ms + self.c_minor * np.log10(r_km + self.r0_minor_km)
        return out


@functools.lru_cache(maxsize=None)
def _load() -> Mapping[str, IntensityCoefficients]:
    text = resources.files("quakewatch.ext").joinpath("data", "yu2013_intensity.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))
    out: dict[str, IntensityCoefficients] = {}
    for row in rows:
        floats = {k: float(v) for k, v in row.items() if k not in ("model", "region", "description", "source")}
        c = IntensityCoefficients(model=row["model"], region=row["region"], description=row["description"],
                                  source=row["source"], **floats)
        if not (c.c_major < 0.0 and c.c_minor < 0.0 and c.sigma > 0.0):
            raise ValueError(f"data/yu2013_intensity.csv: {c.model} needs c_major, c_minor < 0 and sigma > 0")
        out[c.model] = c
    return MappingProxyType(out)


#: Intensity attenuation models by name.
INTENSITY_MODELS: Final[Mapping[str, IntensityCoefficients]] = _load()


@dataclass(frozen=True, slots=True, eq=False)
class IntensityPrediction:
    """Predicted seismic intensity at each site.

    Attributes
    ----------
    mean : ndarray of float64, sites' shape
        Mean intensity (continuous, unclipped).
    sigma : ndarray of float64, sites' shape
        Standard deviation (intensity units).
    model : str
        Registry name, e.g. ``"Yu2013Eastern"``.
    magnitude_ms : float
        The Ms used.
    algorithm_version : str
        :data:`INTENSITY_ALGORITHM_VERSION`.
    """

    mean: FloatArray
    sigma: FloatArray
    model: str
    magnitude_ms: float
    algorithm_version: str = INTENSITY_ALGORITHM_VERSION


def ms_from_mw(mw: float) -> float:
    """Ms from Mw [Ch17]_: ``(Mw - 0.59) / 0.86`` for Mw < 6.58, else ``(Mw + 2.42) / 1.28``."""
    m = float(mw)
    if not math.isfinite(m) or not 0.0 < m <= 10.0:
        raise ValueError(f"mw must be within (0, 10], got {m}")
    return (m - 0.59) / 0.86 if m < 6.58 else (m + 2.42) / 1.28


def _radius(i: FloatArray, a: float, c: float, r0: float) -> tuple[FloatArray, FloatArray]:
    """Semi-axis ``R(I)`` (floored above 0) and ``dR/dI`` of ``I = a + c log10(R + r0)``."""
    k = _LN10 / c
    rr = np.exp((i - a) * k)
    return np.maximum(rr - r0, _R_FLOOR_KM), rr * k


def _solve(
    coef: IntensityCoefficients, ms: float, p: FloatArray, q: FloatArray, r: FloatArray, circle: bool
) -> FloatArray:
    """Intensity of the isoseismal through each site (see the module docstring)."""
    a_maj = coef.a_major + coef.b_major * ms
    a_min = coef.a_minor + coef.b_minor * ms
    i_a = coef.intensity_major(ms, r)
    i_b = coef.intensity_minor(ms, r)
    lo = np.minimum(i_a, i_b)
    hi = np.maximum(i_a, i_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos2 = np.where(r > 0.0, (p / r) ** 2, 1.0)
    x = i_a * cos2 + i_b * (1.0 - cos2)  # start between the two axes
    p2, q2, ln_r2 = p * p, q * q, 2.0 * np.log(np.maximum(r, _R_FLOOR_KM))
    # sites at the epicentre (s = 0) give inf/nan here; they are replaced below
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(_MAX_ITER):
            ra, dra = _radius(x, a_maj, coef.c_major, coef.r0_major_km)
            rb, drb = _radius(x, a_min, coef.c_minor, coef.r0_minor_km)
            if circle:
                h = ln_r2 - np.log(ra) - np.log(rb)
                dh = -dra / ra - drb / rb
            else:
                ua = p2 / (ra * ra)
                ub = q2 / (rb * rb)
                s = ua + ub
                h = np.log(s)
                dh = -2.0 * (ua * dra / ra + ub * drb / rb) / s
            # h increases with I: the solution is below x where h > 0
            hi = np.where(h > 0.0, x, hi)
            lo = np.where(h > 0.0, lo, x)
            newton = x - h / dh
            ok = np.isfinite(newton) & (newton >= lo) & (newton <= hi)
            x_new = np.where(ok, newton, 0.5 * (lo + hi))
            step = np.abs(x_new - x)
            x = x_new
            if not (step > _TOL).any() or not (hi - lo > _TOL).any():
                break
    i0 = 0.5 * (coef.intensity_major(ms, np.zeros(1))[0] + coef.intensity_minor(ms, np.zeros(1))[0])
    out: FloatArray = np.where(r < _EPICENTRE_KM, i0, x)
    return out


def predict_intensity(
    model: str,
    rupture: Rupture,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    magnitude_ms: float | None = None,
) -> IntensityPrediction:
    """Mean intensity and its standard deviation at sites.

    Parameters
    ----------
    model : str
        Name in :data:`INTENSITY_MODELS`, e.g. ``"Yu2013Eastern"``.
    rupture : Rupture
        Epicentre ``lon``, ``lat``; ``strike_deg`` orients the long axis
        (None: circular isoseismals); ``mw`` gives Ms unless ``magnitude_ms``.
    lon, lat : array_like
        Site coordinates (degrees), broadcast to one shape.
    magnitude_ms : float, optional
        Surface-wave magnitude to use instead of the one converted from Mw.

    Returns
    -------
    IntensityPrediction
    """
    if model not in INTENSITY_MODELS:
        raise ValueError(f"model must be one of {sorted(INTENSITY_MODELS)}, got {model!r}")
    if not isinstance(rupture, Rupture):
        raise ValueError(f"rupture must be a Rupture, got {type(rupture).__name__}")
    coef = INTENSITY_MODELS[model]
    if magnitude_ms is None:
        ms = ms_from_mw(rupture.mw)
    else:
        ms = float(magnitude_ms)
        if not math.isfinite(ms) or not 0.0 < ms <= 10.0:
            raise ValueError(f"magnitude_ms must be within (0, 10], got {ms}")
    lo, la = site_coords(lon, lat)
    x, y, r = local_xy(rupture.lon, rupture.lat, lo, la)
    if rupture.strike_deg is None:
        mean = _solve(coef, ms, x, y, r, circle=True)
    else:
        phi = math.radians(rupture.strike_deg)
        p = x * math.sin(phi) + y * math.cos(phi)
        q = x * math.cos(phi) - y * math.sin(phi)
        mean = _solve(coef, ms, p, q, r, circle=False)
    return IntensityPrediction(mean, np.full_like(mean, coef.sigma), model, ms)
