"""Regional earthquake location from P (and S) picks at structures: grid search, then least squares.

Issue "[8] Regional association, rapid parameters and earthquake early
warning", location part.  Arrays and frozen dataclasses in and out; numpy and
scipy only; float64 throughout; inputs are never modified; invalid input raises
:class:`ValueError` naming the argument and the limit.

Coordinates
    Stations and results in degrees (lon, lat), station elevation in metres
    above sea level, depth in km below sea level.  The computation runs in a
    local tangent plane: the azimuthal-equidistant projection (spherical Earth,
    :data:`~quakewatch.ext.geodesy.EARTH_RADIUS_KM`) about the centroid of the
    picked stations, ``x`` east, ``y`` north, ``z`` up (m), and back by the
    spherical direct geodesic problem (:func:`unproject`).  Distances between
    two points 100 km from the centre are off by < 0.1 % in this projection.
Travel times
    First arrivals (direct ray and head waves, exact gradients) in a flat
    layered model, :mod:`quakewatch.ext.layered_traveltime`; default model
    IASP91 crust (:func:`quakewatch.ext.regional_velocity.load_velocity_model`,
    which states the flat-Earth limit, 150 km).
Location [Ge12]_ [LS81]_ [Lo00]_
    1. Coarse grid search over the picked stations' bounding box padded by
       ``max(20 km, half the aperture)``, ~24 nodes per side, depths every
       4 km in ``[min_depth_km, max_depth_km]``, with the L1 misfit
       ``sum |t_i - t0 - T_i| / sigma_i`` and ``t0`` the weighted median of
       ``t_i - T_i`` (as :mod:`quakewatch.ext.mine_location`).  Grid travel
       times come from a table ``T(epicentral distance, depth)`` per phase
       (1 km x 1 km, bilinear) for a receiver at sea level, plus
       ``elevation / v_top`` (vertical-ray correction).
    2. Fine grid search around the best node: +-1.5 coarse spacings at 1/6
       of it, depth +-4 km at 1 km.
    3. Gauss-Newton / Levenberg-Marquardt refinement of ``(x, y, z, t0)``
       (:func:`scipy.optimize.least_squares`, trust-region reflective, depth
       bounded to ``[min_depth_km, max_depth_km]``) with the exact travel
       times and Jacobian; first with a robust ``soft_l1`` loss
       (``f_scale = 1.5`` pick sigmas), then plain least squares.
    4. Outliers: the pick with the largest ``|r| / sigma`` above
       ``outlier_threshold * max(1, 1.4826 MAD)`` is rejected and the fit
       repeated, while at least 5 picks remain and at most 30 % are rejected.
Depth fixed when poorly constrained
    With fewer than 5 used phases (4 P picks: no degree of freedom, the depth
    trades off against the origin time) the depth is held at
    ``fixed_depth_km`` (default 10 km, mid-crust of the 5-20 km
    seismogenic range).  With 5 or more the depth is free, but is fixed at
    ``fixed_depth_km`` again when the free solution's depth standard deviation
    exceeds ``max_depth_std_km`` (default 10 km), the normal matrix is
    singular, or the depth ends on a bound.  :attr:`RegionalLocation.depth_fixed`
    says which; a fixed depth has ``depth_std_km = nan``.
Uncertainty [Bu76]_ [Fl65]_
    ``C = k (J^T J)^-1`` of the sigma-normalised Jacobian, ``k = max(1, s^2)``
    with ``s^2 = chi^2 / (n - p)`` (the a-priori covariance, inflated when the
    residuals say the sigmas were too small; ``k = 1`` without degrees of
    freedom).  Epicentral error ellipse: eigen-decomposition of the 2x2
    horizontal block, semi-axes ``sqrt(lambda * chi2_2(confidence))`` in km,
    azimuth of the major axis clockwise from north; ``epicentre_std_km =
    sqrt(trace C_xy)``.  Linearisation and model errors are not included.

References
----------
.. [Ge12] Geiger, L. (1912). Probability method for the determination of
   earthquake epicenters from the arrival time only. Bull. St. Louis Univ. 8, 60-71.
.. [LS81] Lee, W.H.K. & Stewart, S.W. (1981). Principles and Applications of
   Microearthquake Networks. Academic Press.
.. [Lo00] Lomax, A., Virieux, J., Volant, P. & Berge-Thierry, C. (2000).
   Probabilistic earthquake location in 3D and layered models. In Advances in
   Seismic Event Location, Springer, 101-134.
.. [Bu76] Buland, R. (1976). The mechanics of locating earthquakes. BSSA 66(1), 173-187.
.. [Fl65] Flinn, E.A. (1965). Confidence regions and error determinations for
   seismic event location. Rev. Geophys. 3(1), 157-185.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

from .geodesy import EARTH_RADIUS_KM
from .pick_table import Pick, PickTable, azimuthal_gap_deg, parse_picks, residuals_and_jacobian, weighted_median_rows
from .layered_traveltime import ConstantVelocity, LayeredVelocity, Model, Phase, layer_speeds, parse_phase, positive, first_arrival_arrays
from .regional_velocity import load_velocity_model
from .rupture import local_xy

__all__ = [
    "REGIONAL_LOCATION_ALGORITHM_VERSION",
    "ErrorEllipse",
    "RegionalLocation",
    "RegionalLocator",
    "StationPick",
    "check_pick",
    "project",
    "unproject",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Bump when a definition in the module docstring changes (goes into provenance).
REGIONAL_LOCATION_ALGORITHM_VERSION: Final = "1"
_F_SCALE: Final = 1.5
_MAD_TO_SIGMA: Final = 1.4826
_MIN_KEPT: Final = 5
_MAX_OUTLIER_FRACTION: Final = 0.3
_MAX_COND: Final = 1e12
_TABLE_STEP_M: Final = 1000.0
_COARSE_DEPTH_STEP_KM: Final = 4.0
_NODES_PER_SIDE: Final = 24


@dataclass(frozen=True, slots=True)
class StationPick:
    """An onset at a station (structure): where, when, which phase.

    ``station_id`` names the structure: picks of several channels at one
    structure share it.  ``sigma_s`` is the pick's 1-sigma (None: the
    locator's default); ``amplitude`` is an optional pick amplitude (any unit,
    carried, unused by the location); ``channel_id`` is carried.
    """

    station_id: str
    lon_deg: float
    lat_deg: float
    elevation_m: float
    time_s: float
    phase: Phase | str = Phase.P
    sigma_s: float | None = None
    amplitude: float | None = None
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorEllipse:
    """Epicentral confidence ellipse: semi-axes (km), major-axis azimuth (deg from north)."""

    semi_major_km: float
    semi_minor_km: float
    azimuth_deg: float
    confidence: float


@dataclass(frozen=True, slots=True, eq=False)
class RegionalLocation:
    """A located event (module docstring for every definition).

    ``covariance`` is of ``(x, y, z, t0)`` in m and s (row/column of ``z`` NaN
    when the depth is fixed); ``residuals_s`` and ``used`` follow the input
    pick order; ``station_ids`` are the distinct stations of the used picks.
    """

    lon_deg: float
    lat_deg: float
    depth_km: float
    origin_time_s: float
    x_m: float
    y_m: float
    center_lon_deg: float
    center_lat_deg: float
    covariance: FloatArray
    epicentre_std_km: float
    error_ellipse: ErrorEllipse
    depth_std_km: float
    origin_time_std_s: float
    rms_s: float
    gap_deg: float
    n_phases: int
    n_stations: int
    station_ids: tuple[str, ...]
    residuals_s: FloatArray
    used: BoolArray
    depth_fixed: bool
    converged: bool
    algorithm_version: str = REGIONAL_LOCATION_ALGORITHM_VERSION


def project(lon0_deg: float, lat0_deg: float, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Azimuthal-equidistant ``(x_east_m, y_north_m)`` of points about ``(lon0, lat0)``."""
    lo = np.asarray(lon_deg, dtype=np.float64)
    la = np.asarray(lat_deg, dtype=np.float64)
    x, y, _ = local_xy(float(lon0_deg), float(lat0_deg), lo, la)
    return np.asarray(x * 1000.0), np.asarray(y * 1000.0)


def unproject(lon0_deg: float, lat0_deg: float, x_m: npt.ArrayLike, y_m: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Inverse of :func:`project`: the point at distance ``hypot(x, y)`` and azimuth ``atan2(x, y)``."""
    x = np.asarray(x_m, dtype=np.float64)
    y = np.asarray(y_m, dtype=np.float64)
    delta = np.hypot(x, y) / (EARTH_RADIUS_KM * 1000.0)
    az = np.arctan2(x, y)
    p0, l0 = math.radians(lat0_deg), math.radians(lon0_deg)
    sp = math.sin(p0) * np.cos(delta) + math.cos(p0) * np.sin(delta) * np.cos(az)
    phi = np.arcsin(np.clip(sp, -1.0, 1.0))
    lam = l0 + np.arctan2(np.sin(az) * np.sin(delta) * math.cos(p0), np.cos(delta) - math.sin(p0) * sp)
    lon = (np.degrees(lam) + 180.0) % 360.0 - 180.0
    return np.asarray(lon), np.asarray(np.degrees(phi))


def check_pick(i: int, pk: object) -> StationPick:
    """``pk`` as a valid :class:`StationPick` (errors name ``picks[i]`` and the field)."""
    if not isinstance(pk, StationPick):
        raise ValueError(f"picks[{i}] must be a StationPick, got {type(pk).__name__}")
    if not isinstance(pk.station_id, str) or not pk.station_id:
        raise ValueError(f"picks[{i}].station_id must be a non-empty string, got {pk.station_id!r}")
    for name, lim in (("lon_deg", 180.0), ("lat_deg", 90.0)):
        v = float(getattr(pk, name))
        if not (math.isfinite(v) and abs(v) <= lim):
            raise ValueError(f"picks[{i}].{name} must be finite and within [-{lim:g}, {lim:g}], got {v}")
    e = float(pk.elevation_m)
    if not (math.isfinite(e) and -12000.0 <= e <= 9000.0):
        raise ValueError(f"picks[{i}].elevation_m must be finite and within [-12000, 9000] m, got {e}")
    return pk


class RegionalLocator:
    """A velocity model with its grid-search tables (built on first use, reused).

    Parameters
    ----------
    model : LayeredVelocity or ConstantVelocity, optional
        Default: :func:`~quakewatch.ext.regional_velocity.load_velocity_model` (IASP91).
    min_depth_km, max_depth_km : float
        Depth bounds of the search (default 0 and 40 km).
    fixed_depth_km : float
        Depth held when poorly constrained (default 10 km).
    max_depth_std_km : float
        Free depth's 1-sigma above which the depth is fixed (default 10 km).
    default_sigma_s : float
        1-sigma of picks without their own (default 0.1 s).
    max_distance_km : float
        Extent of the travel-time tables (epicentral distance, default 400 km).
    """

    def __init__(
        self,
        model: Model | None = None,
        *,
        min_depth_km: float = 0.0,
        max_depth_km: float = 40.0,
        fixed_depth_km: float = 10.0,
        max_depth_std_km: float = 10.0,
        default_sigma_s: float = 0.1,
        max_distance_km: float = 400.0,
    ) -> None:
        self.model: Model = load_velocity_model() if model is None else model
        if not isinstance(self.model, (ConstantVelocity, LayeredVelocity)):
            raise ValueError(f"model must be a LayeredVelocity or ConstantVelocity, got {type(self.model).__name__}")
        lo, hi = float(min_depth_km), float(max_depth_km)
        if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 <= lo < hi <= 700.0):
            raise ValueError(f"min_depth_km and max_depth_km must satisfy 0 <= min < max <= 700, got {lo}, {hi}")
        fixed = float(fixed_depth_km)
        if not lo <= fixed <= hi:
            raise ValueError(f"fixed_depth_km must be within [{lo:g}, {hi:g}] km, got {fixed_depth_km!r}")
        self.min_depth_km, self.max_depth_km, self.fixed_depth_km = lo, hi, fixed
        self.max_depth_std_km = positive("max_depth_std_km", max_depth_std_km)
        self.default_sigma_s = positive("default_sigma_s", default_sigma_s)
        self.max_distance_km = positive("max_distance_km", max_distance_km)
        self._tables: dict[Phase, FloatArray] = {}
        self._dist_axis = np.arange(0.0, self.max_distance_km * 1000.0 + _TABLE_STEP_M, _TABLE_STEP_M)
        self._depth_axis = np.arange(lo * 1000.0, hi * 1000.0 + _TABLE_STEP_M, _TABLE_STEP_M)

    # ------------------------------------------------------------ travel times

    def _table(self, phase: Phase) -> FloatArray:
        """First-arrival times (n_depth, n_dist) from a source to a receiver at sea level."""
        if phase not in self._tables:
            d, x = np.meshgrid(self._depth_axis, self._dist_axis, indexing="ij")
            src = np.stack([x.ravel(), np.zeros(x.size), -d.ravel()], axis=1)
            rcv = np.zeros_like(src)
            self._tables[phase] = first_arrival_arrays(self.model, phase, src, rcv)[0].reshape(d.shape)
        return self._tables[phase]

    def top_speed_mps(self, phase: Phase | str = Phase.P) -> float:
        """Speed of the top layer (the elevation correction's speed)."""
        return float(layer_speeds(self.model, parse_phase("phase", phase))[1][0])

    def grid_travel_time(self, phase: Phase | str, dist_m: npt.ArrayLike, depth_m: npt.ArrayLike,
                         elevation_m: npt.ArrayLike) -> FloatArray:
        """Table travel time (s): bilinear in (distance, depth) plus ``elevation / v_top``; broadcast."""
        ph = parse_phase("phase", phase)
        tab = self._table(ph)
        x = np.clip(np.asarray(dist_m, dtype=np.float64), 0.0, self._dist_axis[-1]) / _TABLE_STEP_M
        z = np.clip(np.asarray(depth_m, dtype=np.float64) - self._depth_axis[0], 0.0,
                    self._depth_axis[-1] - self._depth_axis[0]) / _TABLE_STEP_M
        x, z = np.broadcast_arrays(x, z)
        i = np.minimum(x.astype(np.intp), tab.shape[1] - 2)
        j = np.minimum(z.astype(np.intp), tab.shape[0] - 2) if tab.shape[0] > 1 else np.zeros_like(i)
        fx, fz = x - i, z - j
        if tab.shape[0] == 1:
            t = tab[0, i] * (1 - fx) + tab[0, i + 1] * fx
        else:
            t = ((tab[j, i] * (1 - fx) + tab[j, i + 1] * fx) * (1 - fz)
                 + (tab[j + 1, i] * (1 - fx) + tab[j + 1, i + 1] * fx) * fz)
        out: FloatArray = t + np.asarray(elevation_m, dtype=np.float64) / self.top_speed_mps(ph)
        return out

    # ------------------------------------------------------------ location

    def locate(
        self,
        picks: Sequence[StationPick],
        *,
        center: tuple[float, float] | None = None,
        initial: RegionalLocation | None = None,
        outlier_threshold: float = 4.0,
        confidence: float = 0.95,
    ) -> RegionalLocation:
        """Locate one event from its picks (module docstring).

        Parameters
        ----------
        picks : sequence of StationPick
            At least 4, one per station and phase.
        center : (lon, lat), optional
            Projection centre; default the centroid of the picked stations.
        initial : RegionalLocation, optional
            A previous solution of the same event (updates as picks accrue):
            the grid search is skipped and the refinement starts from it.
        outlier_threshold : float
            Rejection threshold on ``|residual| / sigma`` (>= 2).
        confidence : float
            Of the error ellipse, in (0, 1).
        """
        if isinstance(picks, (str, bytes)) or not isinstance(picks, Sequence):
            raise ValueError(f"picks must be a sequence of StationPick, got {type(picks).__name__}")
        checked = [check_pick(i, p) for i, p in enumerate(picks)]
        thr = float(outlier_threshold)
        if not (math.isfinite(thr) and thr >= 2.0):
            raise ValueError(f"outlier_threshold must be finite and >= 2, got {outlier_threshold!r}")
        conf = float(confidence)
        if not 0.0 < conf < 1.0:
            raise ValueError(f"confidence must be within (0, 1), got {confidence!r}")
        ids: dict[str, int] = {}
        coords: list[tuple[float, float, float]] = []
        for p in checked:
            if p.station_id not in ids:
                ids[p.station_id] = len(ids)
                coords.append((float(p.lon_deg), float(p.lat_deg), float(p.elevation_m)))
        st = np.array(coords).reshape(-1, 3)
        raw = [Pick(ids[p.station_id], p.phase, p.time_s, p.sigma_s) for p in checked]
        pk = parse_picks(raw, len(ids), self.default_sigma_s)
        if pk.is_s.any():
            layer_speeds(self.model, Phase.S)
        if center is None:
            lon0, lat0 = float(np.mean(st[:, 0])), float(np.mean(st[:, 1]))
        else:
            lon0, lat0 = float(center[0]), float(center[1])
            if not (math.isfinite(lon0) and math.isfinite(lat0) and abs(lon0) <= 180.0 and abs(lat0) <= 90.0):
                raise ValueError(f"center must be finite (lon, lat) in degrees, got {center!r}")
        sx, sy = project(lon0, lat0, st[:, 0], st[:, 1])
        sxyz = np.column_stack([sx, sy, st[:, 2]])
        start = None
        if initial is not None:
            if not isinstance(initial, RegionalLocation):
                raise ValueError(f"initial must be a RegionalLocation, got {type(initial).__name__}")
            ix, iy = project(lon0, lat0, initial.lon_deg, initial.lat_deg)
            depth = min(max(initial.depth_km, self.min_depth_km), self.max_depth_km)
            start = np.array([float(ix), float(iy), -depth * 1000.0, initial.origin_time_s - pk.t_ref])
        return self._locate(pk, sxyz, list(ids), lon0, lat0, thr, conf, start)

    def _grid(self, pk: PickTable, sxyz: FloatArray, xs: FloatArray, ys: FloatArray, ds: FloatArray) -> FloatArray:
        gx, gy, gd = (a.ravel() for a in np.meshgrid(xs, ys, ds, indexing="ij"))
        rcv = sxyz[pk.station]
        tt = np.empty((gx.size, pk.station.size))
        for phase, sel in ((Phase.P, ~pk.is_s), (Phase.S, pk.is_s)):
            if sel.any():
                dist = np.hypot(gx[:, None] - rcv[sel, 0][None, :], gy[:, None] - rcv[sel, 1][None, :])
                tt[:, sel] = self.grid_travel_time(phase, dist, gd[:, None], rcv[sel, 2][None, :])
        w = 1.0 / pk.sigma_s
        d = pk.time_s[None, :] - tt
        t0 = weighted_median_rows(d, w)
        misfit = np.sum(w * np.abs(d - t0[:, None]), axis=1)
        b = int(np.argmin(misfit))
        return np.array([gx[b], gy[b], -gd[b], t0[b]])

    def _residuals(self, pk: PickTable, sxyz: FloatArray, m: FloatArray) -> tuple[FloatArray, FloatArray]:
        return residuals_and_jacobian(self.model, pk, sxyz, m)

    def _fit(self, pk: PickTable, sxyz: FloatArray, keep: BoolArray, m0: FloatArray, loss: str,
             fixed: bool) -> tuple[FloatArray, bool]:
        sig = pk.sigma_s[keep]
        free = np.array([0, 1, 3]) if fixed else np.arange(4)
        z_lo, z_hi = -self.max_depth_km * 1000.0, -self.min_depth_km * 1000.0

        def full(p: FloatArray) -> FloatArray:
            m = m0.copy()
            m[free] = p
            return m

        memo: dict[bytes, tuple[FloatArray, FloatArray]] = {}

        def both(p: FloatArray) -> tuple[FloatArray, FloatArray]:
            key = p.tobytes()
            if key not in memo:
                memo.clear()
                memo[key] = self._residuals(pk, sxyz, full(p))
            return memo[key]

        def fun(p: FloatArray) -> FloatArray:
            return both(p)[0][keep] / sig

        def jac(p: FloatArray) -> FloatArray:
            return both(p)[1][keep][:, free] / sig[:, None]

        lo = np.full(free.size, -np.inf)
        hi = np.full(free.size, np.inf)
        if not fixed:
            lo[2], hi[2] = z_lo, z_hi
        p0 = m0[free].copy()
        if not fixed:
            p0[2] = min(max(p0[2], z_lo + 1.0), z_hi - 1.0)
        sol = optimize.least_squares(fun, p0, jac=jac, bounds=(lo, hi), method="trf", loss=loss, f_scale=_F_SCALE,
                                     x_scale="jac", xtol=1e-8, ftol=1e-10, gtol=1e-10, max_nfev=50)
        return full(sol.x), bool(sol.success)

    def _solve(self, pk: PickTable, sxyz: FloatArray, m0: FloatArray, fixed: bool,
               thr: float) -> tuple[FloatArray, BoolArray, bool]:
        n = pk.station.size
        keep = np.ones(n, dtype=bool)
        max_rej = math.floor(_MAX_OUTLIER_FRACTION * n)
        m, ok = m0.copy(), False
        for _ in range(n + 1):
            m, ok = self._fit(pk, sxyz, keep, m, "soft_l1", fixed)
            m, ok = self._fit(pk, sxyz, keep, m, "linear", fixed)
            z = np.abs(self._residuals(pk, sxyz, m)[0] / pk.sigma_s)
            scale = max(1.0, _MAD_TO_SIGMA * float(np.median(z[keep])))
            z = np.where(keep, z, -np.inf)
            i = int(np.argmax(z))
            if z[i] > thr * scale and keep.sum() - 1 >= _MIN_KEPT and (~keep).sum() < max_rej:
                keep[i] = False
                continue
            break
        return m, keep, ok

    def _grid_search(self, pk: PickTable, sxyz: FloatArray) -> FloatArray:
        """Coarse, then fine grid search: the best ``(x, y, z, t0)``."""
        used_st = sxyz[np.unique(pk.station)]
        lo, hi = used_st[:, :2].min(axis=0), used_st[:, :2].max(axis=0)
        pad = max(20000.0, 0.5 * float(np.hypot(*(hi - lo))))
        lo, hi = lo - pad, hi + pad
        step = float((hi - lo).max()) / _NODES_PER_SIDE
        xs = np.arange(lo[0], hi[0] + step, step)
        ys = np.arange(lo[1], hi[1] + step, step)
        dz = _COARSE_DEPTH_STEP_KM * 1000.0
        ds = np.arange(self.min_depth_km * 1000.0, self.max_depth_km * 1000.0 + 1.0, dz)
        m = self._grid(pk, sxyz, xs, ys, ds)
        fine = step / 6.0
        xs = m[0] + np.arange(-9, 10) * fine
        ys = m[1] + np.arange(-9, 10) * fine
        ds = np.clip(-m[2] + np.arange(-4, 5) * 1000.0, self.min_depth_km * 1000.0, self.max_depth_km * 1000.0)
        return self._grid(pk, sxyz, xs, ys, np.unique(ds))

    def _locate(self, pk: PickTable, sxyz: FloatArray, names: list[str], lon0: float, lat0: float, thr: float,
                conf: float, start: FloatArray | None) -> RegionalLocation:
        m = self._grid_search(pk, sxyz) if start is None else start.copy()
        n_picks = pk.station.size
        fixed = n_picks < _MIN_KEPT
        if fixed:
            m[2] = -self.fixed_depth_km * 1000.0
        sol, keep, ok = self._solve(pk, sxyz, m, fixed, thr)
        cov, k = self._covariance(pk, sxyz, sol, keep, fixed)
        if not fixed:
            at_bound = (-sol[2] <= self.min_depth_km * 1000.0 + 1.0) or (-sol[2] >= self.max_depth_km * 1000.0 - 1.0)
            sd = math.sqrt(cov[2, 2]) / 1000.0 if np.isfinite(cov[2, 2]) else math.inf
            if at_bound or not sd <= self.max_depth_std_km:
                fixed = True
                m2 = sol.copy()
                m2[2] = -self.fixed_depth_km * 1000.0
                sol, keep, ok = self._solve(pk, sxyz, m2, True, thr)
                cov, k = self._covariance(pk, sxyz, sol, keep, True)
        return self._result(pk, sxyz, names, lon0, lat0, sol, keep, cov, fixed, ok, conf)

    def _covariance(self, pk: PickTable, sxyz: FloatArray, m: FloatArray, keep: BoolArray,
                    fixed: bool) -> tuple[FloatArray, float]:
        res, jac = self._residuals(pk, sxyz, m)
        free = np.array([0, 1, 3]) if fixed else np.arange(4)
        jn = jac[keep][:, free] / pk.sigma_s[keep, None]
        dof = int(keep.sum()) - free.size
        s2 = float(np.sum((res[keep] / pk.sigma_s[keep]) ** 2)) / dof if dof > 0 else 1.0
        k = max(1.0, s2)
        normal = jn.T @ jn
        d = np.sqrt(np.diag(normal))
        cov = np.full((4, 4), np.nan)
        if np.all(d > 0.0):
            scaled = normal / np.outer(d, d)
            if np.linalg.cond(scaled) < _MAX_COND:
                cov[np.ix_(free, free)] = k * np.linalg.inv(scaled) / np.outer(d, d)
                return cov, k
        cov[np.ix_(free, free)] = np.inf
        return cov, k

    def _result(self, pk: PickTable, sxyz: FloatArray, names: list[str], lon0: float, lat0: float, m: FloatArray,
                keep: BoolArray, cov: FloatArray, fixed: bool, ok: bool, conf: float) -> RegionalLocation:
        res = self._residuals(pk, sxyz, m)[0]
        cxy = cov[:2, :2]
        crit = float(stats.chi2.ppf(conf, 2))
        if np.all(np.isfinite(cxy)):
            lam, vec = np.linalg.eigh(cxy)
            major = vec[:, 1]
            ellipse = ErrorEllipse(math.sqrt(max(lam[1], 0.0) * crit) / 1000.0, math.sqrt(max(lam[0], 0.0) * crit) / 1000.0,
                                   float(np.degrees(np.arctan2(major[0], major[1])) % 180.0), conf)
            epi_std = math.sqrt(float(np.trace(cxy))) / 1000.0
        else:
            ellipse = ErrorEllipse(math.inf, math.inf, 0.0, conf)
            epi_std = math.inf
        lon, lat = unproject(lon0, lat0, m[0], m[1])
        sta = np.unique(pk.station[keep])
        res.setflags(write=False)
        used = keep.copy()
        used.setflags(write=False)
        cov.setflags(write=False)
        return RegionalLocation(
            lon_deg=float(lon), lat_deg=float(lat), depth_km=float(-m[2] / 1000.0), origin_time_s=float(m[3]) + pk.t_ref,
            x_m=float(m[0]), y_m=float(m[1]), center_lon_deg=lon0, center_lat_deg=lat0, covariance=cov,
            epicentre_std_km=epi_std, error_ellipse=ellipse,
            depth_std_km=math.nan if fixed else math.sqrt(cov[2, 2]) / 1000.0,
            origin_time_std_s=math.sqrt(cov[3, 3]) if np.isfinite(cov[3, 3]) else math.inf,
            rms_s=float(np.sqrt(np.mean(res[keep] ** 2))),
            gap_deg=azimuthal_gap_deg(m[:2], sxyz[sta]),
            n_phases=int(keep.sum()), n_stations=int(sta.size), station_ids=tuple(names[i] for i in sta),
            residuals_s=res, used=used, depth_fixed=fixed, converged=ok,
        )
