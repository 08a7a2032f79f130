"""Early-warning predictions at target structures: S arrival, warning time, intensity; alert gate.

Issue "[8] Regional association, rapid parameters and earthquake early
warning", message part.  numpy only (through the kernels it calls); float64;
inputs never modified; invalid input raises :class:`ValueError` naming the
argument and the limit.

S arrival and warning time
    ``t_S = t0 + T_S(hypocentre -> site)``, first-arrival S time in the
    flat-layered model (:mod:`quakewatch.ext.layered_traveltime`, default IASP91
    crust, :mod:`quakewatch.ext.regional_velocity`), site elevation honoured;
    ``warning_s = t_S - now`` (negative: the S wave has already passed; the
    site is in the blind zone).  Its 1-sigma combines the origin-time sigma
    and the epicentral sigma projected on the ray:
    ``sqrt(sigma_t0^2 + (dT_S/dr * sigma_epi)^2)``, ``dT_S/dr`` the horizontal
    slowness of S at the site (exact gradient).
Intensity
    Yu, Li & Xiao (2013) attenuation for China
    (:mod:`quakewatch.ext.intensity_attenuation`, point source: circular
    isoseismals), Ms from the magnitude by Cheng et al. (2017)
    (``ms_from_mw``; the early magnitudes Mpd / ML stand in for Mw: stated).
    ``sigma_I = sqrt(sigma_model^2 + (dI/dM sigma_M)^2)`` with ``dI/dM``
    the numerical derivative of the prediction with respect to the magnitude.
Alert gate (:func:`alert_decision`)
    An alert needs: at least ``min_stations`` located stations (default 4),
    location RMS <= ``max_rms_s`` (0.5 s), a finite magnitude >=
    ``min_magnitude`` (default 3.0) and a predicted intensity >=
    ``min_intensity`` (default 4.0, "felt by many") at one target at least.
    Teleseisms, spikes and single-structure bursts never reach this gate:
    :class:`~quakewatch.ext.pick_association.PickAssociator` does not form
    events from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from .intensity_attenuation import INTENSITY_MODELS, ms_from_mw, predict_intensity
from .layered_traveltime import Model, Phase, first_arrival_arrays
from .regional_location import RegionalLocation, project
from .regional_velocity import load_velocity_model
from .rupture import Rupture

__all__ = ["EEW_PREDICTION_ALGORITHM_VERSION", "AlertDecision", "SitePrediction", "alert_decision", "predict_sites"]

FloatArray = npt.NDArray[np.float64]

#: Bump when a definition in the module docstring changes (goes into provenance).
EEW_PREDICTION_ALGORITHM_VERSION: Final = "1"
_DM: Final = 0.05


@dataclass(frozen=True, slots=True, eq=False)
class SitePrediction:
    """Per-site predictions (arrays of the sites' length).

    Times are on the origin time's axis (s); ``warning_s`` relative to ``now_s``.
    """

    p_arrival_s: FloatArray
    s_arrival_s: FloatArray
    s_arrival_std_s: FloatArray
    warning_s: FloatArray
    epicentral_km: FloatArray
    hypocentral_km: FloatArray
    intensity: FloatArray
    intensity_std: FloatArray
    magnitude: float
    magnitude_type: str
    intensity_model: str
    algorithm_version: str = EEW_PREDICTION_ALGORITHM_VERSION


@dataclass(frozen=True, slots=True)
class AlertDecision:
    alert: bool
    reasons: tuple[str, ...]


def _sites(lon: npt.ArrayLike, lat: npt.ArrayLike, elev: npt.ArrayLike | None) -> tuple[FloatArray, FloatArray, FloatArray]:
    lo = np.array(lon, dtype=np.float64).ravel()
    la = np.array(lat, dtype=np.float64).ravel()
    el = np.zeros_like(lo) if elev is None else np.array(elev, dtype=np.float64).ravel()
    if not (lo.size == la.size == el.size) or lo.size == 0:
        raise ValueError(f"site_lon, site_lat, site_elevation_m must have one non-zero length, got {lo.size}, {la.size}, {el.size}")
    if not (np.isfinite(lo).all() and np.isfinite(la).all() and np.isfinite(el).all()):
        raise ValueError("site_lon, site_lat, site_elevation_m must be finite")
    if (np.abs(lo) > 180.0).any() or (np.abs(la) > 90.0).any():
        raise ValueError("site_lon must be within [-180, 180] and site_lat within [-90, 90] degrees")
    return lo, la, el


def predict_sites(
    location: RegionalLocation,
    magnitude: float,
    site_lon: npt.ArrayLike,
    site_lat: npt.ArrayLike,
    *,
    site_elevation_m: npt.ArrayLike | None = None,
    now_s: float,
    magnitude_std: float = 0.3,
    magnitude_type: str = "Mpd",
    model: Model | None = None,
    intensity_model: str = "Yu2013Eastern",
) -> SitePrediction:
    """S arrival, warning time and intensity at target sites (module docstring).

    Parameters
    ----------
    location : RegionalLocation
        Hypocentre and origin time (with their sigmas).
    magnitude, magnitude_std : float
        Magnitude (used as Mw, in (2, 9.5]) and its 1-sigma (>= 0).
    site_lon, site_lat, site_elevation_m : array_like
        Target structures (degrees, metres; elevation default 0).
    now_s : float
        Current time on the origin time's axis (the alert time).
    model : LayeredVelocity or ConstantVelocity, optional
        Default IASP91 crust.
    intensity_model : str
        Name in :data:`~quakewatch.ext.intensity_attenuation.INTENSITY_MODELS`.
    """
    if not isinstance(location, RegionalLocation):
        raise ValueError(f"location must be a RegionalLocation, got {type(location).__name__}")
    m = float(magnitude)
    if not (math.isfinite(m) and 2.0 < m <= 9.5):
        raise ValueError(f"magnitude must be finite and within (2, 9.5], got {magnitude!r}")
    sm = float(magnitude_std)
    if not (math.isfinite(sm) and sm >= 0.0):
        raise ValueError(f"magnitude_std must be finite and >= 0, got {magnitude_std!r}")
    now = float(now_s)
    if not math.isfinite(now):
        raise ValueError(f"now_s must be finite, got {now_s!r}")
    if intensity_model not in INTENSITY_MODELS:
        raise ValueError(f"intensity_model must be one of {sorted(INTENSITY_MODELS)}, got {intensity_model!r}")
    lo, la, el = _sites(site_lon, site_lat, site_elevation_m)
    mod = load_velocity_model() if model is None else model
    sx, sy = project(location.lon_deg, location.lat_deg, lo, la)
    rcv = np.column_stack([sx, sy, el])
    src = np.broadcast_to(np.array([0.0, 0.0, -location.depth_km * 1000.0]), rcv.shape)
    tp = location.origin_time_s + first_arrival_arrays(mod, Phase.P, src, rcv)[0]
    ts_tt, grad = first_arrival_arrays(mod, Phase.S, src, rcv)
    ts = location.origin_time_s + ts_tt
    p_h = np.hypot(grad[:, 0], grad[:, 1]) * 1000.0  # s/km
    s_t0 = location.origin_time_std_s if math.isfinite(location.origin_time_std_s) else 0.0
    s_epi = location.epicentre_std_km if math.isfinite(location.epicentre_std_km) else 0.0
    ts_std = np.sqrt(s_t0**2 + (p_h * s_epi) ** 2)
    epi = np.hypot(sx, sy) / 1000.0
    hyp = np.hypot(epi, location.depth_km)
    rup = Rupture(location.lon_deg, location.lat_deg, min(max(location.depth_km, 0.0), 700.0), min(m, 10.0))
    pred = predict_intensity(intensity_model, rup, lo, la, magnitude_ms=ms_from_mw(min(m, 10.0)))
    up = predict_intensity(intensity_model, rup, lo, la, magnitude_ms=ms_from_mw(min(m + _DM, 10.0))).mean
    dn = predict_intensity(intensity_model, rup, lo, la, magnitude_ms=ms_from_mw(m - _DM)).mean
    d_i = (up - dn) / (2.0 * _DM)
    i_std = np.sqrt(pred.sigma**2 + (d_i * sm) ** 2)
    return SitePrediction(tp, ts, ts_std, ts - now, epi, hyp, np.asarray(pred.mean), i_std, m, magnitude_type,
                          intensity_model)


def alert_decision(
    location: RegionalLocation,
    magnitude: float,
    prediction: SitePrediction | None = None,
    *,
    min_stations: int = 4,
    max_rms_s: float = 0.5,
    min_magnitude: float = 3.0,
    min_intensity: float = 4.0,
) -> AlertDecision:
    """Whether to issue an early-warning message, with every failed condition named."""
    reasons: list[str] = []
    if location.n_stations < min_stations:
        reasons.append(f"n_stations {location.n_stations} < {min_stations}")
    if not location.rms_s <= max_rms_s:
        reasons.append(f"rms_s {location.rms_s:.3f} > {max_rms_s:g}")
    m = float(magnitude)
    if not (math.isfinite(m) and m >= min_magnitude):
        reasons.append(f"magnitude {m} < {min_magnitude:g}")
    if prediction is not None:
        peak = float(np.max(prediction.intensity)) if prediction.intensity.size else -math.inf
        if not peak >= min_intensity:
            reasons.append(f"max predicted intensity {peak:.1f} < {min_intensity:g}")
    return AlertDecision(not reasons, tuple(reasons))
