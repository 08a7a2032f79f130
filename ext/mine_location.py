"""Event location inside a mine array: grid search, then least squares, with uncertainty.

Issue "[7] Mine seismic monitoring and risk early warning", location part
(acceptance 2: location error on synthetic mine arrays <= 2x the stated
uncertainty in 95 % of events).  Arrays in, frozen dataclasses out; numpy and
scipy only.  All arithmetic is float64, inputs are never modified, and
invalid input raises :class:`ValueError` naming the argument and the limit.

Coordinates
    Local Cartesian metres: ``x`` east, ``y`` north, ``z`` up (underground
    sensors have ``z`` below the collar).  Layered models are given in depth
    ``d = reference_elevation_m - z``.  Pick times are seconds relative to any
    epoch; the returned origin time is on the same axis.

Travel times
    Constant model: ``T = |s - r| / v`` exactly, gradient ``(s - r) / (v |s - r|)``.

    Layered model (flat layers, constant velocity in each, any velocity
    order): the first arrival is the least of the direct (transmitted) ray and
    every head wave, computed exactly by 1-D ray theory [LS81]_ [Sh09]_ - the
    classic layered-model travel times of HYPO71-type locators.  With ray
    parameter ``p``, vertical slowness ``eta_k = sqrt(v_k^-2 - p^2)`` and
    ``h_k`` the thickness of layer ``k`` between the two depths::

        X(p) = sum_k h_k p v_k / sqrt(1 - p^2 v_k^2)        (1) offset
        T    = p X + sum_k h_k eta_k                         (2) tau-p form

    The direct ray solves (1) for ``p < 1 / v_max`` (``v_max`` the fastest
    layer crossed).  We write ``u = tan`` of the ray angle in that fastest
    layer, so the sum in (1) becomes
    ``g(u) = sum_k h_k r_k u / sqrt(1 + u^2 (1 - r_k^2))`` with
    ``r_k = v_k / v_max``: increasing and concave in ``u``, hence Newton from
    ``u = 0`` converges monotonically; we iterate to ``1e-10`` of the path
    length (time error < 1 ns for mine-scale paths; the tau-p form (2) is
    stationary in ``p``, so the time error is second order in the offset
    error).  A head wave along an interface below both points (or above both
    points) with refractor velocity ``v_r`` faster than every layer on its
    legs has ``p = 1 / v_r`` and exists for offsets ``X >= X_c`` with
    ``X_c = sum_k H_k tan(theta_k)``, ``sin(theta_k) = v_k / v_r`` (``H_k``
    the summed leg thicknesses), time (2).  Reflections are never first
    arrivals (Fermat).  The gradient is exact: ``dT/dX = p`` and
    ``dT/dd_source = -+eta`` in the source layer (ray leaving down/up).

Location [Ge12]_ [LS81]_ [GK94]_
    1. Grid search over a regular grid (default: the array's bounding box
       padded by half its horizontal aperture, about 20 nodes along the
       longest side; tables are computed once per :class:`MineLocator`):
       the L1 misfit ``sum_i |t_i - t0 - T_i| / sigma_i`` with the origin time
       eliminated analytically as the weighted median of ``t_i - T_i``
       (weights ``1 / sigma_i``), as in the L1/EDT spirit of NonLinLoc [Lo00]_.
    2. Refinement of ``(x, y, z, t0)`` from the best node by
       :func:`scipy.optimize.least_squares` (trust-region reflective) on the
       normalised residuals ``(t_i - t0 - T_i) / sigma_i`` with the exact
       Jacobian, first with a robust loss (default ``soft_l1``,
       ``f_scale = 1.5``), then plain least squares on the kept picks.
    3. Outliers: after the robust fit (and again after the final fit) the
       pick with the largest ``|r_i| / sigma_i`` above
       ``outlier_threshold * max(1, 1.4826 MAD)`` is rejected and the fit
       repeated, while at least 6 picks remain and at most
       ``max_outlier_fraction`` of the picks are rejected.  Rejected picks
       are reported in :attr:`MineLocation.outliers` with the reason; their
       residuals are still reported.

Uncertainty [Bu76]_ [Fl65]_ [Pa86]_
    Linearised at the solution: ``C = k (J^T J)^-1`` with ``J`` the Jacobian
    of the normalised residuals (so ``C`` is in m^2 and s^2, order
    ``x, y, z, t0``).  ``k`` is

    * ``a_priori``: 1 - the pick sigmas are taken as true;
    * ``a_posteriori``: ``s^2 = sum (r_i / sigma_i)^2 / (n - 4)``;
    * ``conservative`` (default): ``max(1, s^2)`` - the a-priori covariance,
      inflated when the residuals say the sigmas were too small, never
      shrunk (an ``s^2`` from ~10-30 degrees of freedom is noisy: shrinking
      by it gives too-small errors in about half the events).

    With correct pick sigmas the a-priori covariance is the right one: the
    position error ``e`` then has ``e^T C^-1 e ~ chi2(3)`` [Bu76]_.  Reported:

    * ``std_m``: 1-sigma per axis, ``sqrt(diag C)``;
    * ``sigma_radius_m = sqrt(trace C_xyz)``: the 1-sigma 3-D radius (RMS
      of the 3-D location error, ``E|e|^2 = trace C``).  This is *the stated
      uncertainty* of acceptance 2: ``|e| <= 2 sigma_radius_m`` holds with
      probability >= P(chi2(1) <= 4) = 95.45 % for every covariance shape
      (for a Gaussian quadratic form ``Q`` with ``E Q = 1`` and ``x > 1.5365``,
      ``P(Q <= x) >= P(chi2(1) <= x)`` [SB03]_), and up to 99.3 % for an
      isotropic error;
    * ``error_ellipsoid``: semi-axes and directions of the ``confidence``
      (default 95 %) region ``e^T C^-1 e <= c``, ``c`` the chi2(3) quantile
      (``3 F(3, n-4)`` quantile in ``a_posteriori`` mode [Fl65]_).

    Linearisation and model errors are not in ``C`` (see [Pa86]_); events
    far outside the array have banana-shaped, larger-than-stated errors.

References
----------
.. [Ge12] Geiger, L. (1912). Probability method for the determination of
   earthquake epicenters from the arrival time only. Bull. St. Louis Univ. 8, 60-71.
.. [LS81] Lee, W.H.K. & Stewart, S.W. (1981). Principles and Applications of
   Microearthquake Networks. Academic Press (layered travel times, Geiger's method).
.. [GK94] Gibowicz, S.J. & Kijko, A. (1994). An Introduction to Mining
   Seismology. Academic Press, ch. 6 (location in mines).
.. [Bu76] Buland, R. (1976). The mechanics of locating earthquakes. BSSA 66(1), 173-187.
.. [Fl65] Flinn, E.A. (1965). Confidence regions and error determinations for
   seismic event location. Rev. Geophys. 3(1), 157-185.
.. [Pa86] Pavlis, G.L. (1986). Appraising earthquake hypocenter location
   errors: a complete, practical approach for single-event locations. BSSA 76(6), 1699-1717.
.. [Lo00] Lomax, A., Virieux, J., Volant, P. & Berge-Thierry, C. (2000).
   Probabilistic earthquake location in 3D and layered models. In Advances
   in Seismic Event Location, Springer, 101-134 (NonLinLoc).
.. [Sh09] Shearer, P.M. (2009). Introduction to Seismology, 2nd ed., ch. 4
   (ray parameter, tau-p, head waves).
.. [SB03] Szekely, G.J. & Bakirov, N.K. (2003). Extremal probabilities for
   Gaussian quadratic forms. Probab. Theory Relat. Fields 126, 184-202.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

from .pick_table import Pick, PickTable, azimuthal_gap_deg, parse_picks, residuals_and_jacobian, weighted_median_rows
from .layered_traveltime import (
    ConstantVelocity,
    LayeredVelocity,
    Model,
    Phase,
    layer_speeds,
    as_points,
    positive,
    first_arrival_arrays,
    travel_time,
    travel_time_gradient,
)

__all__ = [
    "MINE_LOCATION_ALGORITHM_VERSION",
    "ConstantVelocity",
    "ErrorEllipsoid",
    "LayeredVelocity",
    "Loss",
    "MineLocation",
    "MineLocator",
    "OutlierPick",
    "Phase",
    "Pick",
    "Uncertainty",
    "locate",
    "travel_time",
    "travel_time_gradient",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: Bump when a definition in the module docstring changes (goes into provenance).
MINE_LOCATION_ALGORITHM_VERSION: Final = "1"
_F_SCALE: Final = 1.5  # robust-loss scale, in units of the pick sigma
_MAD_TO_SIGMA: Final = 1.4826
_MIN_KEPT: Final = 6
_MAX_COND: Final = 1e10  # of the equilibrated normal matrix
_MAX_GRID_NODES: Final = 2_000_000
_CHUNK_PAIRS: Final = 250_000


class Loss(str, Enum):
    """Loss of the first least-squares pass (:func:`scipy.optimize.least_squares`)."""

    LINEAR = "linear"
    SOFT_L1 = "soft_l1"
    HUBER = "huber"
    CAUCHY = "cauchy"


class Uncertainty(str, Enum):
    """Scaling of the covariance (module docstring, "Uncertainty")."""

    A_PRIORI = "a_priori"
    A_POSTERIORI = "a_posteriori"
    CONSERVATIVE = "conservative"




@dataclass(frozen=True, slots=True)
class OutlierPick:
    """A pick rejected from the solution."""

    pick_index: int
    station: int
    phase: Phase
    residual_s: float  # observed - calculated at the final solution
    normalized_residual: float  # residual_s / sigma at the moment of rejection
    reason: str


@dataclass(frozen=True, slots=True, eq=False)
class ErrorEllipsoid:
    """Confidence ellipsoid of the hypocentre, ``e^T C^-1 e <= critical_value``.

    ``semi_axes_m`` (3,) descending; ``axes`` (3, 3): row ``i`` is the unit
    vector (east, north, up) of semi-axis ``i``.
    """

    semi_axes_m: FloatArray
    axes: FloatArray
    confidence: float
    critical_value: float


@dataclass(frozen=True, slots=True, eq=False)
class MineLocation:
    """A located event (module docstring for every definition).

    Attributes
    ----------
    x_m, y_m, z_m : float
        Hypocentre (east, north, up), metres.
    origin_time_s : float
        On the picks' time axis.
    covariance : ndarray (4, 4)
        Of ``(x, y, z, t0)`` in m and s, scaled per ``uncertainty``.
    std_m : ndarray (3,)
        1-sigma per axis (east, north, up).
    origin_time_std_s : float
    sigma_radius_m : float
        1-sigma 3-D radius ``sqrt(trace C_xyz)``: the stated uncertainty.
    error_ellipsoid : ErrorEllipsoid
    rms_s : float
        RMS residual of the used picks.
    n_picks : int
        Number of picks used (``used.sum()``).
    residuals_s : ndarray (n_input,)
        Observed minus calculated time of every input pick, in input order.
    used : ndarray of bool (n_input,)
    outliers : tuple of OutlierPick
    gap_deg : float
        Largest azimuthal gap between the used stations seen from the epicentre.
    sigma_scale : float
        The factor ``k`` applied to ``(J^T J)^-1``.
    uncertainty : Uncertainty
    converged : bool
        ``least_squares`` reported convergence.
    well_constrained : bool
        ``J^T J`` invertible (condition number < 1e10 after equilibration); else ``covariance`` is inf.
    """

    x_m: float
    y_m: float
    z_m: float
    origin_time_s: float
    covariance: FloatArray
    std_m: FloatArray
    origin_time_std_s: float
    sigma_radius_m: float
    error_ellipsoid: ErrorEllipsoid
    rms_s: float
    n_picks: int
    residuals_s: FloatArray
    used: BoolArray
    outliers: tuple[OutlierPick, ...]
    gap_deg: float
    sigma_scale: float
    uncertainty: Uncertainty
    converged: bool
    well_constrained: bool
    algorithm_version: str = MINE_LOCATION_ALGORITHM_VERSION

    @property
    def xyz_m(self) -> FloatArray:
        return np.array([self.x_m, self.y_m, self.z_m])


_A = TypeVar("_A", bound=npt.NDArray[np.generic])


def _readonly(a: _A) -> _A:
    a.setflags(write=False)
    return a


# ---------------------------------------------------------------- location


class MineLocator:
    """A mine array and velocity model with its grid-search tables (built once).

    Parameters
    ----------
    stations_xyz_m : array_like (n_stations, 3)
        Sensor positions (east, north, up), metres.
    model : ConstantVelocity or LayeredVelocity
    bounds_m : array_like (3, 2), optional
        Grid-search volume ``[[x_min, x_max], [y_min, y_max], [z_min, z_max]]``;
        default: the stations' bounding box padded by half the horizontal
        aperture (at least 100 m) on every side.
    grid_spacing_m : float, optional
        Node spacing; default: the longest side of ``bounds_m`` / 20.
    """

    def __init__(
        self,
        stations_xyz_m: npt.ArrayLike,
        *,
        model: Model,
        bounds_m: npt.ArrayLike | None = None,
        grid_spacing_m: float | None = None,
    ) -> None:
        st = as_points("stations_xyz_m", stations_xyz_m)
        if st.ndim != 2 or st.shape[0] < 1:
            raise ValueError(f"stations_xyz_m must have shape (n_stations >= 1, 3), got {st.shape}")
        if not isinstance(model, (ConstantVelocity, LayeredVelocity)):
            raise ValueError(f"model must be a ConstantVelocity or LayeredVelocity, got {type(model).__name__}")
        if bounds_m is None:
            lo, hi = st.min(axis=0), st.max(axis=0)
            pad = max(100.0, 0.5 * float(np.hypot(*(hi[:2] - lo[:2]))))
            bounds = np.stack([lo - pad, hi + pad], axis=1)
        else:
            bounds = np.array(bounds_m, dtype=np.float64)
            if bounds.shape != (3, 2) or not np.all(np.isfinite(bounds)) or np.any(bounds[:, 1] <= bounds[:, 0]):
                raise ValueError("bounds_m must be finite [[x_min, x_max], [y_min, y_max], [z_min, z_max]] with min < max")
        extent = bounds[:, 1] - bounds[:, 0]
        spacing = float(extent.max()) / 20.0 if grid_spacing_m is None else positive("grid_spacing_m", grid_spacing_m)
        axes = [np.linspace(b0, b1, math.floor(e / spacing) + 2) for (b0, b1), e in zip(bounds, extent, strict=True)]
        n_nodes = math.prod(a.size for a in axes)
        if n_nodes > _MAX_GRID_NODES:
            raise ValueError(f"grid_spacing_m={spacing} gives {n_nodes} grid nodes, more than {_MAX_GRID_NODES}")
        self.stations_xyz_m: FloatArray = _readonly(st)
        self.model: Model = model
        self.bounds_m: FloatArray = _readonly(bounds)
        self.grid_spacing_m = spacing
        self._nodes = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)
        self._tables: dict[Phase, FloatArray] = {}

    def _table(self, phase: Phase) -> FloatArray:
        """Travel times (n_nodes, n_stations) of ``phase``, computed on first use."""
        if phase not in self._tables:
            n_sta = self.stations_xyz_m.shape[0]
            out = np.empty((self._nodes.shape[0], n_sta))
            step = max(1, _CHUNK_PAIRS // n_sta)
            for i in range(0, self._nodes.shape[0], step):
                src = self._nodes[i:i + step, None, :]
                src, rcv = np.broadcast_arrays(src, self.stations_xyz_m[None, :, :])
                out[i:i + step] = first_arrival_arrays(self.model, phase, src, rcv)[0]
            self._tables[phase] = out
        return self._tables[phase]

    def _grid_search(self, pk: PickTable) -> FloatArray:
        tt = np.empty((self._nodes.shape[0], pk.station.size))
        for phase in (Phase.P, Phase.S):
            cols = np.array([p is phase for p in pk.phase])
            if cols.any():
                tt[:, cols] = self._table(phase)[:, pk.station[cols]]
        w = 1.0 / pk.sigma_s
        d = pk.time_s[None, :] - tt
        t0 = weighted_median_rows(d, w)
        misfit = np.sum(w * np.abs(d - t0[:, None]), axis=1)
        best = int(np.argmin(misfit))
        return np.append(self._nodes[best], t0[best])

    def _residuals(self, pk: PickTable, m: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Residuals (s) of all picks at ``m = (x, y, z, t0)`` and d(residual)/dm (n, 4)."""
        return residuals_and_jacobian(self.model, pk, self.stations_xyz_m, m)

    def _fit(self, pk: PickTable, keep: BoolArray, m0: FloatArray, loss: str) -> optimize.OptimizeResult:
        sig = pk.sigma_s[keep]

        def fun(m: FloatArray) -> FloatArray:
            return self._residuals(pk, m)[0][keep] / sig

        def jac(m: FloatArray) -> FloatArray:
            return self._residuals(pk, m)[1][keep] / sig[:, None]

        return optimize.least_squares(fun, m0, jac=jac, method="trf", loss=loss, f_scale=_F_SCALE,
                                      x_scale="jac", xtol=1e-10, ftol=1e-10, gtol=1e-10, max_nfev=200)

    def locate(
        self,
        picks: Sequence[Pick | tuple[object, ...]],
        *,
        default_sigma_s: float = 0.002,
        loss: Loss | str = Loss.SOFT_L1,
        outlier_threshold: float = 4.0,
        max_outlier_fraction: float = 0.3,
        uncertainty: Uncertainty | str = Uncertainty.CONSERVATIVE,
        confidence: float = 0.95,
    ) -> MineLocation:
        """Locate one event from its picks (see the module docstring).

        Parameters
        ----------
        picks : sequence of Pick or (station, phase, time_s[, sigma_s])
            At least 4; station indices into ``stations_xyz_m``; one pick per
            station and phase.
        default_sigma_s : float
            1-sigma of picks without their own ``sigma_s``.
        loss : Loss
            Loss of the first (robust) pass; the final pass is least squares.
        outlier_threshold : float
            Rejection threshold on ``|residual| / sigma`` (>= 2).
        max_outlier_fraction : float
            At most this fraction of the picks is rejected, in [0, 0.5].
        uncertainty : Uncertainty
            Covariance scaling.
        confidence : float
            Of the error ellipsoid, in (0, 1).
        """
        sigma0 = positive("default_sigma_s", default_sigma_s)
        try:
            loss_name = Loss(loss).value
        except ValueError:
            raise ValueError(f"loss must be one of {[x.value for x in Loss]}, got {loss!r}") from None
        try:
            mode = Uncertainty(uncertainty)
        except ValueError:
            raise ValueError(f"uncertainty must be one of {[x.value for x in Uncertainty]}, got {uncertainty!r}") from None
        thr = float(outlier_threshold)
        if not math.isfinite(thr) or thr < 2.0:
            raise ValueError(f"outlier_threshold must be finite and >= 2, got {outlier_threshold!r}")
        frac = float(max_outlier_fraction)
        if not 0.0 <= frac <= 0.5:
            raise ValueError(f"max_outlier_fraction must be within [0, 0.5], got {max_outlier_fraction!r}")
        conf = float(confidence)
        if not 0.0 < conf < 1.0:
            raise ValueError(f"confidence must be within (0, 1), got {confidence!r}")
        pk = parse_picks(picks, self.stations_xyz_m.shape[0], sigma0)
        if pk.is_s.any():
            layer_speeds(self.model, Phase.S)  # raises if the model has no S speeds

        n = pk.station.size
        keep = np.ones(n, dtype=bool)
        rejected: list[tuple[int, float]] = []
        max_rejected = math.floor(frac * n)
        m = self._grid_search(pk)

        def worst(res: FloatArray) -> int | None:
            z = np.abs(res / pk.sigma_s)
            scale = max(1.0, _MAD_TO_SIGMA * float(np.median(z[keep])))
            z = np.where(keep, z, -np.inf)
            i = int(np.argmax(z))
            if z[i] > thr * scale and keep.sum() - 1 >= _MIN_KEPT and len(rejected) < max_rejected:
                rejected.append((i, float(res[i] / pk.sigma_s[i])))
                keep[i] = False
                return i
            return None

        for _ in range(n + 1):
            sol = self._fit(pk, keep, m, loss_name)
            m = sol.x
            if worst(self._residuals(pk, sol.x)[0]) is not None:
                continue
            if loss_name != Loss.LINEAR.value:
                sol = self._fit(pk, keep, m, Loss.LINEAR.value)
                m = sol.x
                if worst(self._residuals(pk, sol.x)[0]) is not None:
                    continue
            break
        res, jac = self._residuals(pk, m)
        return self._result(pk, m, res, jac, keep, rejected, mode, conf, bool(sol.success))

    def _result(
        self, pk: PickTable, m: FloatArray, res: FloatArray, jac: FloatArray, keep: BoolArray,
        rejected: list[tuple[int, float]], mode: Uncertainty, conf: float, converged: bool,
    ) -> MineLocation:
        jn = jac[keep] / pk.sigma_s[keep, None]
        n_used = int(keep.sum())
        dof = n_used - 4
        chi2 = float(np.sum((res[keep] / pk.sigma_s[keep]) ** 2))
        s2 = chi2 / dof if dof > 0 else 1.0
        if mode is Uncertainty.A_PRIORI:
            k = 1.0
        elif mode is Uncertainty.A_POSTERIORI:
            k = s2
        else:
            k = max(1.0, s2)
        if mode is Uncertainty.A_POSTERIORI and dof > 0:
            crit = 3.0 * float(stats.f.ppf(conf, 3, dof))
        else:
            crit = float(stats.chi2.ppf(conf, 3))
        normal = jn.T @ jn
        d = np.sqrt(np.diag(normal))  # equilibrate: columns are in 1/m and 1/s
        scaled = normal / np.outer(d, d)
        well = bool(np.all(d > 0.0) and np.linalg.cond(scaled) < _MAX_COND)
        cov = k * np.linalg.inv(scaled) / np.outer(d, d) if well else np.full((4, 4), np.inf)
        cxyz = cov[:3, :3]
        if well:
            lam, vec = np.linalg.eigh(cxyz)
            order = np.argsort(lam)[::-1]
            semi = np.sqrt(np.maximum(lam[order], 0.0) * crit)
            axes = vec[:, order].T.copy()
        else:
            semi = np.full(3, np.inf)
            axes = np.eye(3)
        ellipsoid = ErrorEllipsoid(_readonly(semi), _readonly(axes), conf, crit)
        outliers = tuple(
            OutlierPick(i, int(pk.station[i]), pk.phase[i], float(res[i]), z,
                        f"|residual| {abs(z):.1f} sigma > threshold (sigma {pk.sigma_s[i] * 1e3:.2f} ms); rejected")
            for i, z in rejected
        )
        used_sta = self.stations_xyz_m[np.unique(pk.station[keep])]
        return MineLocation(
            x_m=float(m[0]), y_m=float(m[1]), z_m=float(m[2]), origin_time_s=float(m[3]) + pk.t_ref,
            covariance=_readonly(cov),
            std_m=_readonly(np.sqrt(np.diag(cxyz))),
            origin_time_std_s=float(np.sqrt(cov[3, 3])),
            sigma_radius_m=float(np.sqrt(np.trace(cxyz))),
            error_ellipsoid=ellipsoid,
            rms_s=float(np.sqrt(np.mean(res[keep] ** 2))),
            n_picks=n_used,
            residuals_s=_readonly(res.copy()),
            used=_readonly(keep.copy()),
            outliers=outliers,
            gap_deg=azimuthal_gap_deg(m[:2], used_sta),
            sigma_scale=k,
            uncertainty=mode,
            converged=converged,
            well_constrained=well,
        )


def locate(
    stations_xyz_m: npt.ArrayLike,
    picks: Sequence[Pick | tuple[object, ...]],
    *,
    model: Model,
    bounds_m: npt.ArrayLike | None = None,
    grid_spacing_m: float | None = None,
    default_sigma_s: float = 0.002,
    loss: Loss | str = Loss.SOFT_L1,
    outlier_threshold: float = 4.0,
    max_outlier_fraction: float = 0.3,
    uncertainty: Uncertainty | str = Uncertainty.CONSERVATIVE,
    confidence: float = 0.95,
) -> MineLocation:
    """Locate one event; builds a :class:`MineLocator` (reuse one for many events).

    Parameters as :class:`MineLocator` and :meth:`MineLocator.locate`.
    """
    locator = MineLocator(stations_xyz_m, model=model, bounds_m=bounds_m, grid_spacing_m=grid_spacing_m)
    return locator.locate(picks, default_sigma_s=default_sigma_s, loss=loss, outlier_threshold=outlier_threshold,
                          max_outlier_fraction=max_outlier_fraction, uncertainty=uncertainty, confidence=confidence)
