"""Ground-motion fields conditioned on station observations (ShakeMap 4 method).

Issue "[4] Loss estimation", hazard part: after an event, the monitoring
network's recordings pull the predicted field towards the observations.  Arrays
in, a frozen dataclass out; numpy/scipy only; float64; inputs never modified.

Notation (all in natural-log units of the IM): stations ``D`` with observations
``y_D``, prior (GMPE) means ``mu_D``, between- and within-event standard
deviations ``tau_D``, ``phi_D`` and observation noise ``sigma_e`` (e.g. for a
value converted from another IMT); target sites ``Y`` with ``mu_Y``, ``tau_Y``,
``phi_Y``; ``rho`` the within-event correlation of [JB09]_
(:func:`quakewatch.ext.gmfield.spatial_correlation`); raw residuals ``zeta =
y_D - mu_D``.  The between-event residual of every point is ``tau * H`` with
one standard normal ``H`` per event (the normalised event term).

Step 1, event term (bias) [W18]_, [SM4]_ "Event Bias"
    With ``Sigma = diag(phi_D) rho_DD diag(phi_D) + diag(sigma_e^2)``::

        var_H = 1 / (1 + tau_D^T Sigma^-1 tau_D)
        mu_H  = var_H tau_D^T Sigma^-1 zeta

    and the bias at a point with between-event sd ``tau`` is ``tau mu_H`` with
    variance ``tau^2 var_H``.  For equal ``tau`` at all points this is the
    ShakeMap formula ``mu_dB = 1^T Sigma^-1 zeta / (tau^-2 + 1^T Sigma^-1 1)``,
    ``sigma_dB^2 = 1 / (tau^-2 + 1^T Sigma^-1 1)`` (the manual labels the
    latter a standard deviation; it is the posterior variance); with unequal
    ``tau`` it is the normalised form of [E22]_ eqs. B8-B9.  Adding
    ``sigma_e^2`` to the diagonal is the same as ShakeMap's "omega factors"
    ``omega = phi / sqrt(phi^2 + sigma_e^2)`` that scale the residuals and the
    covariance: an invertible rescaling of the data, which leaves the
    conditional distribution unchanged.
Step 2, within-event residuals
    ``method = "worden2018"`` (default, ShakeMap 4): the bias-adjusted
    within-event sd ``phi_hat = sqrt(phi^2 + tau^2 var_H)`` ([SM4]_ "Updating
    the Within-Event Standard Deviation") at stations and sites, the residuals
    ``r = zeta - tau_D mu_H``, and the conditional multivariate normal
    ([W18]_; [SM4]_ eqs. "cond-mean", "cond-covariance")::

        mean = mu_Y + tau_Y mu_H + S_YD S_DD^-1 r
        var  = phi_hat_Y^2 - diag(S_YD S_DD^-1 S_DY)

    with ``S = diag(phi_hat) rho diag(phi_hat)`` (+ ``diag(sigma_e^2)`` on
    ``S_DD``).  Far from the stations this is the bias-adjusted prior ``(mu_Y
    + tau_Y mu_H, phi_Y^2 + tau_Y^2 var_H)``; at a station with ``sigma_e = 0``
    the observation, with variance 0.  The bias uncertainty is treated as
    spatially correlated like the within-event residual (ShakeMap's
    approximation).
    ``method = "engler2022"``: the exact Gaussian posterior of ``tau H + phi
    eps`` given the data ([E22]_, the method of OpenQuake's
    ``conditioned_gmfs``): the same mean when ``phi`` is equal at all points
    and ``sigma_e = 0``, and variance ``phi_Y^2 - diag(Sigma_YD Sigma^-1
    Sigma_DY) + (tau_Y - R tau_D)^2 var_H``, ``R = Sigma_YD Sigma^-1``
    (computed as one conditioning on the joint covariance ``tau tau^T + diag(phi)
    rho diag(phi)``, which Sherman-Morrison shows to be identical).

Both methods are evaluated as one joint-normal conditioning with covariance
``a a^T + diag(s) rho diag(s)`` (``a = 0``, ``s = phi_hat`` for worden2018;
``a = tau``, ``s = phi`` for engler2022), data ``d`` and base mean ``m``;
sites are processed in chunks, so memory grows with ``n_stations x chunk``.

Conditional realisations (:meth:`ConditionedField.sample`) are drawn by
conditioning unconditional ones ([JH78]_ ch. VII, "Matheron's rule"): draw
``H`` and the unit field ``eps`` jointly at sites and stations with
:mod:`quakewatch.ext.gmfield_sampling` (exact, or the grid approximation for
large site sets, whose error bounds carry over), the observation noise ``e``,
and set ``Y = m + a_Y H + s_Y eps_Y + Sigma_YD K^-1 (d - a_D H - s_D eps_D -
sigma_e e)``.  This has the conditional distribution exactly when the
unconditional draw is exact, never forms the site-by-site covariance, and
reproduces a station exactly at a site with the same coordinates when
``sigma_e = 0``.  Normal residuals, no truncation.

References
----------
.. [W18] Worden, C. B., Thompson, E. M., Baker, J. W., Bradley, B. A., Luco, N.
   and Wald, D. J. (2018). Spatial and spectral interpolation of ground-motion
   intensity measure observations. Bull. Seismol. Soc. Am. 108(2), 866-875.
.. [SM4] ShakeMap 4 Manual, Technical Guide, "Data Processing" (usgs/shakemap,
   doc_source/manual4_0/tg_processing.rst): "Event Bias", "Updating the
   Within-Event Standard Deviation", "Weighting of Residuals", "Computation".
.. [E22] Engler, D. T., Worden, C. B., Thompson, E. M. and Jaiswal, K. S.
   (2022). Partitioning ground motion uncertainty when conditioned on station
   data. Bull. Seismol. Soc. Am. 112(2), 1060-1079.
.. [JB09] Jayaram, N. and Baker, J. W. (2009), see :mod:`quakewatch.ext.gmfield`.
.. [JH78] Journel, A. G. and Huijbregts, C. J. (1978). Mining Geostatistics.
   Academic Press.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.linalg

from .gmfield import BLOCK_ELEMENTS, CorrelationModel, correlation_range_km
from .gmfield_sampling import (
    EXACT_GROUP,
    STREAM_CONDITIONING,
    FieldPlan,
    SeedLike,
    build_plan,
    check_block,
    check_workers,
    coordinates,
    great_circle_km,
    seed_sequence,
    stream_generator,
)

__all__ = ["ConditionedField", "condition_on_stations"]

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]
Method = Literal["worden2018", "engler2022"]

#: sites per chunk of the station-site covariance
SITE_CHUNK = 1 << 14
#: the station-site covariance is kept between sample blocks up to this many values
CACHE_ELEMENTS = 1 << 25
_VERSION = "1"


class _SPDSolver:
    """Solves with a symmetric positive (semi-)definite matrix.

    Cholesky; if that fails (e.g. two stations at the same place with
    ``sigma_e = 0``) the pseudo-inverse from the eigen-decomposition, as
    OpenQuake's ``numpy.linalg.pinv``.
    """

    def __init__(self, a: FloatArray) -> None:
        self.pseudo = False
        try:
            self._mat: FloatArray = scipy.linalg.cho_factor(a, lower=True, check_finite=False)[0]
        except np.linalg.LinAlgError:
            w, v = scipy.linalg.eigh(a, check_finite=False)
            keep = w > w.max() * a.shape[0] * np.finfo(np.float64).eps
            self._mat = (v[:, keep] / w[keep]) @ v[:, keep].T
            self.pseudo = True

    def solve(self, b: FloatArray) -> FloatArray:
        """``A^-1 b`` (pseudo-inverse in the fallback)."""
        out: FloatArray
        if self.pseudo:
            out = self._mat @ b
        else:
            out = scipy.linalg.cho_solve((self._mat, True), b, check_finite=False)
        return out

    def quad_diag(self, b: FloatArray) -> FloatArray:
        """``diag(b^T A^-1 b)``; with Cholesky one triangular solve, ``|L^-1 b|^2`` per column."""
        out: FloatArray
        if self.pseudo:
            out = np.einsum("ij,ij->j", b, self._mat @ b)
        else:
            w = scipy.linalg.solve_triangular(self._mat, b, lower=True, check_finite=False)
            out = np.einsum("ij,ij->j", w, w)
        return out


def _vector(name: str, values: ArrayLike, n: int, *, positive: bool = False,
            nonneg: bool = False) -> FloatArray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim > 1 or (a.ndim == 1 and a.size != n):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or Inf)")
    if positive and (a <= 0.0).any():
        raise ValueError(f"{name} must be > 0")
    if nonneg and (a < 0.0).any():
        raise ValueError(f"{name} must be >= 0")
    return np.array(np.broadcast_to(a, (n,)), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class _Model:
    """Joint-normal model ``m + a H + s eps`` conditioned on station data ``d``."""

    b: float
    site_lon: FloatArray
    site_lat: FloatArray
    sta_lon: FloatArray
    sta_lat: FloatArray
    base: FloatArray  # m at sites
    a_y: FloatArray
    s_y: FloatArray
    a_d: FloatArray
    s_d: FloatArray
    noise_d: FloatArray  # sigma_e
    data: FloatArray  # d at stations
    solver: _SPDSolver  # K_DD
    alpha: FloatArray  # K_DD^-1 d

    def cov_ds(self, sl: slice) -> FloatArray:
        """``K_DY`` for the sites in ``sl``, shape (n_stations, n)."""
        h = great_circle_km(self.sta_lon[:, None], self.sta_lat[:, None],
                            self.site_lon[None, sl], self.site_lat[None, sl])
        k = np.exp(h * (-3.0 / self.b))
        k *= self.s_d[:, None]
        k *= self.s_y[None, sl]
        k += self.a_d[:, None] * self.a_y[None, sl]
        return k


@dataclass(frozen=True, eq=False)
class ConditionedField:
    """Ground motion at the target sites conditioned on the stations.

    Attributes
    ----------
    imt : str
    method : {"worden2018", "engler2022"}
    mean : ndarray, shape (n_sites,)
        Conditional mean of ln IM.
    std : ndarray, shape (n_sites,)
        Conditional standard deviation of ln IM.
    bias : ndarray, shape (n_sites,)
        Event term at the sites, ``tau_Y mu_H`` (ln units).
    bias_std : ndarray, shape (n_sites,)
        Its standard deviation ``tau_Y sqrt(var_H)``.
    event_term, event_term_std : float
        ``mu_H`` and ``sqrt(var_H)`` of the normalised event term ``H``.
    n_stations : int
    provenance : Mapping[str, object]
    """

    imt: str
    method: Method
    mean: FloatArray
    std: FloatArray
    bias: FloatArray
    bias_std: FloatArray
    event_term: float
    event_term_std: float
    n_stations: int
    provenance: Mapping[str, object]
    _model: _Model = field(repr=False)
    _cache: dict[tuple[int, float | None], FieldPlan] = field(repr=False, default_factory=dict)

    @property
    def n_sites(self) -> int:
        """Number of target sites."""
        return int(self.mean.size)

    def plan(self, *, exact_max_sites: int = 5000, grid_spacing_km: float | None = None,
             workers: int = 1) -> FieldPlan:
        """Field plan over the sites followed by the stations (cached per settings)."""
        key = (int(exact_max_sites), grid_spacing_km)
        if key not in self._cache:
            m = self._model
            self._cache[key] = build_plan(
                np.concatenate([m.site_lon, m.sta_lon]), np.concatenate([m.site_lat, m.sta_lat]),
                m.b, imt=self.imt, exact_max_sites=exact_max_sites,
                grid_spacing_km=grid_spacing_km, workers=workers,
                provenance={"purpose": "unconditional draw for conditioning"})
        return self._cache[key]

    def iter_samples(
        self,
        n_realisations: int,
        *,
        seed: SeedLike,
        block_realisations: int | None = None,
        exact_max_sites: int = 5000,
        grid_spacing_km: float | None = None,
        workers: int = 1,
    ) -> Iterator[FloatArray]:
        """Conditional realisations of ln IM in blocks (see module docstring).

        Parameters
        ----------
        n_realisations : int
            >= 1.
        seed : int or numpy.random.SeedSequence
        block_realisations : int, optional
            Realisations per block; default about 8 M values, a multiple of 32.
        exact_max_sites, grid_spacing_km, workers
            As in :func:`quakewatch.ext.gmfield.simulate_fields`, for the
            unconditional draw over sites and stations together.

        Yields
        ------
        ndarray, shape (k, n_sites), float64
            The blocks concatenate to the same numbers whatever their size.
        """
        if isinstance(n_realisations, bool) or not isinstance(n_realisations, (int, np.integer)):
            raise ValueError("n_realisations must be an int")
        if n_realisations < 1:
            raise ValueError(f"n_realisations must be >= 1, got {n_realisations}")
        ss = seed_sequence(seed)
        workers = check_workers(workers)
        n_all = self.n_sites + self.n_stations
        if block_realisations is None:
            block = max(EXACT_GROUP, (BLOCK_ELEMENTS // n_all) // EXACT_GROUP * EXACT_GROUP)
        else:
            block = check_block(block_realisations)
        plan = self.plan(exact_max_sites=exact_max_sites, grid_spacing_km=grid_spacing_km,
                         workers=workers)
        return self._blocks(plan, n_realisations, ss, block, workers)

    def sample(self, n_realisations: int, *, seed: SeedLike, exact_max_sites: int = 5000,
               grid_spacing_km: float | None = None, workers: int = 1) -> FloatArray:
        """All conditional realisations at once, shape (n_realisations, n_sites).

        Same numbers as :meth:`iter_samples` for the same arguments.
        """
        blocks = self.iter_samples(n_realisations, seed=seed, exact_max_sites=exact_max_sites,
                                   grid_spacing_km=grid_spacing_km, workers=workers)
        return np.concatenate(list(blocks), axis=0)

    def _blocks(self, plan: FieldPlan, n_realisations: int, ss: np.random.SeedSequence,
                block: int, workers: int) -> Iterator[FloatArray]:
        m = self._model
        n_y, n_d = self.n_sites, self.n_stations
        cols_y, cols_d = plan.inverse[:n_y], plan.inverse[n_y:]
        chunks = [slice(i, min(i + SITE_CHUNK, n_y)) for i in range(0, n_y, SITE_CHUNK)]
        cached = [m.cov_ds(sl) for sl in chunks] if n_y * n_d <= CACHE_ELEMENTS else None
        for start in range(0, n_realisations, block):
            stop = min(start + block, n_realisations)
            g0 = start - start % EXACT_GROUP
            g1 = -(-stop // EXACT_GROUP) * EXACT_GROUP  # whole aligned groups
            eps = plan.standard_fields(g0, g1, seed=ss, workers=workers)
            h = np.empty(g1 - g0)
            e = np.empty((g1 - g0, n_d))
            for r in range(g0, g1):
                gen = stream_generator(ss, STREAM_CONDITIONING, r)
                h[r - g0] = gen.standard_normal()
                gen.standard_normal(out=e[r - g0])
            out = eps[:, cols_y]
            out *= m.s_y
            out += h[:, None] * m.a_y
            out += m.base
            resid = m.data - (h[:, None] * m.a_d + eps[:, cols_d] * m.s_d + e * m.noise_d)
            v = np.empty_like(resid)
            for lo in range(0, g1 - g0, EXACT_GROUP):  # aligned groups: chunk-invariant rounding
                v[lo: lo + EXACT_GROUP] = m.solver.solve(resid[lo: lo + EXACT_GROUP].T).T
            for c, sl in enumerate(chunks):
                k_ds = cached[c] if cached is not None else m.cov_ds(sl)
                for lo in range(0, g1 - g0, EXACT_GROUP):
                    out[lo: lo + EXACT_GROUP, sl] += v[lo: lo + EXACT_GROUP] @ k_ds
            yield out[start - g0: stop - g0]


def condition_on_stations(
    station_lon: ArrayLike,
    station_lat: ArrayLike,
    station_ln_obs: ArrayLike,
    station_ln_mean: ArrayLike,
    station_tau: ArrayLike,
    station_phi: ArrayLike,
    site_lon: ArrayLike,
    site_lat: ArrayLike,
    site_ln_mean: ArrayLike,
    site_tau: ArrayLike,
    site_phi: ArrayLike,
    imt: str,
    *,
    obs_sigma: ArrayLike = 0.0,
    method: Method = "worden2018",
    correlation: CorrelationModel = "JB09",
    vs30_clustered: bool = False,
) -> ConditionedField:
    """Condition the predicted ground motion on station observations.

    Parameters
    ----------
    station_lon, station_lat : array_like, shape (n_stations,)
        Station coordinates, degrees.
    station_ln_obs : array_like, shape (n_stations,)
        Observed ln IM (same units as the means).
    station_ln_mean : array_like, shape (n_stations,)
        Prior (GMPE) mean of ln IM at the stations.
    station_tau, station_phi : array_like, shape (n_stations,) or scalar
        Between- and within-event sd at the stations; ``phi > 0``, ``tau >= 0``.
    site_lon, site_lat : array_like, shape (n_sites,)
        Target sites, degrees.
    site_ln_mean : array_like, shape (n_sites,) or scalar
        Prior mean of ln IM at the sites.
    site_tau, site_phi : array_like, shape (n_sites,) or scalar
        Between- and within-event sd at the sites, >= 0.
    imt : str
        ``"PGA"``, ``"PGV"`` or ``"SA(T)"`` (correlation range).
    obs_sigma : array_like, shape (n_stations,) or scalar
        Additional sd of the observations (ln units), >= 0.
    method : {"worden2018", "engler2022"}
        ShakeMap 4 bias-adjusted conditioning, or the exact joint posterior.
    correlation : {"JB09"}
    vs30_clustered : bool
        Case 2 of [JB09]_.

    Returns
    -------
    ConditionedField
    """
    if method not in ("worden2018", "engler2022"):
        raise ValueError(f"method must be 'worden2018' or 'engler2022', got {method!r}")
    b = correlation_range_km(imt, model=correlation, vs30_clustered=vs30_clustered)
    sx, sy = coordinates(station_lon, station_lat, "station_")
    yx, yy = coordinates(site_lon, site_lat, "site_")
    n_d, n_y = sx.size, yx.size
    if np.ndim(station_ln_obs) != 1:
        raise ValueError(f"station_ln_obs must have shape ({n_d},), got {np.shape(station_ln_obs)}")
    obs = _vector("station_ln_obs", station_ln_obs, n_d)
    mu_d = _vector("station_ln_mean", station_ln_mean, n_d)
    tau_d = _vector("station_tau", station_tau, n_d, nonneg=True)
    phi_d = _vector("station_phi", station_phi, n_d, positive=True)
    mu_y = _vector("site_ln_mean", site_ln_mean, n_y)
    tau_y = _vector("site_tau", site_tau, n_y, nonneg=True)
    phi_y = _vector("site_phi", site_phi, n_y, nonneg=True)
    noise = _vector("obs_sigma", obs_sigma, n_d, nonneg=True)

    rho_dd = np.exp(great_circle_km(sx[:, None], sy[:, None], sx[None, :], sy[None, :]) * (-3.0 / b))
    zeta = obs - mu_d
    # step 1: normalised event term H | data (bias)
    sigma = rho_dd * phi_d[:, None] * phi_d[None, :]
    sigma[np.diag_indices(n_d)] += noise**2
    bias_solver = _SPDSolver(sigma)
    u = bias_solver.solve(tau_d)
    var_h = 1.0 / (1.0 + float(tau_d @ u))
    mu_h = var_h * float(u @ zeta)
    # step 2: joint-normal model per method
    if method == "worden2018":
        s_d = np.sqrt(phi_d**2 + tau_d**2 * var_h)
        s_y = np.sqrt(phi_y**2 + tau_y**2 * var_h)
        a_d, a_y = np.zeros(n_d), np.zeros(n_y)
        data = zeta - tau_d * mu_h
        base = mu_y + tau_y * mu_h
    else:
        s_d, s_y, a_d, a_y = phi_d, phi_y, tau_d, tau_y
        data = zeta
        base = mu_y.copy()
    k_dd = rho_dd * s_d[:, None] * s_d[None, :] + a_d[:, None] * a_d[None, :]
    k_dd[np.diag_indices(n_d)] += noise**2
    solver = _SPDSolver(k_dd)
    model = _Model(b, yx, yy, sx, sy, base, a_y, s_y, a_d, s_d, noise, data, solver, solver.solve(data))

    mean = np.empty(n_y)
    var = np.empty(n_y)
    prior_var = a_y**2 + s_y**2
    for lo in range(0, n_y, SITE_CHUNK):
        sl = slice(lo, min(lo + SITE_CHUNK, n_y))
        k_ds = model.cov_ds(sl)
        mean[sl] = base[sl] + model.alpha @ k_ds
        var[sl] = prior_var[sl] - solver.quad_diag(k_ds)
    std = np.sqrt(np.clip(var, 0.0, None))
    bias = tau_y * mu_h
    bias_std = tau_y * math.sqrt(var_h)
    for a in (mean, std, bias, bias_std):
        a.setflags(write=False)
    prov = {
        "algorithm": "quakewatch.ext.gmfield_conditioning",
        "version": _VERSION,
        "method": method,
        "correlation": correlation,
        "vs30_clustered": bool(vs30_clustered),
        "imt": imt,
        "range_km": b,
        "n_stations": n_d,
        "n_sites": n_y,
        "pseudo_inverse": bias_solver.pseudo or solver.pseudo,
    }
    return ConditionedField(imt, method, mean, std, bias, bias_std, mu_h, math.sqrt(var_h),
                            n_d, MappingProxyType(prov), model)
