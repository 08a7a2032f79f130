"""Unit-variance Gaussian fields with exponential correlation at scattered sites.

The sampler behind :mod:`quakewatch.ext.gmfield`: for sites given by longitude
and latitude and a range ``b`` (km) it draws fields ``eps`` with ``E eps = 0``,
``Var eps = 1`` and ``Corr(eps_i, eps_j) = exp(-3 h_ij / b)``, ``h`` the
great-circle distance (sphere of radius 6371 km, as OpenQuake).  Arrays in,
arrays out; numpy/scipy only; float64; inputs never modified.

Sites with identical coordinates are merged first (assets often share a site)
and receive the same value.  On the ``n_unique`` distinct sites:

``method = "exact"`` (``n_unique <= exact_max_sites``, default 5,000)
    Cholesky factor ``L`` of the correlation matrix (eigen-decomposition with
    negative eigenvalues clipped if Cholesky fails on a numerically singular
    matrix); ``eps = L z``, ``z`` i.i.d. standard normal.  Exact.
``method = "grid"`` (larger site sets)
    1. Sites are projected on a plane by the azimuthal equidistant projection
       about their centre.  Distances from the centre are exact; any distance
       ``h`` becomes ``h'`` with ``h <= h' <= h theta / sin(theta)``, ``theta``
       the largest angular distance from the centre (the map's scale factors
       are 1 radially and ``theta / sin(theta)`` across), so a correlation
       changes by at most ``(theta / sin(theta) - 1) / e`` (``max_h (3h/b)
       exp(-3h/b) = 1/e``): 1.4e-4 for sites within 300 km of the centre.
    2. A unit-variance field with correlation ``rho`` is sampled *exactly* on a
       regular grid of spacing ``d`` by circulant embedding [DN97]_, [WC94]_:
       the grid covariance is embedded in a periodic one on an ``Mx x My``
       torus with ``M >= n + K`` and ``M >= 2K`` nodes per axis, where
       ``rho(K d) <= 1e-6`` (``K d = b ln(10^6) / 3``), so the wrap-around
       changes no covariance by more than 1e-6; the eigenvalues ``lambda`` are
       the FFT of the first row; one complex FFT of ``sqrt(lambda / M) (z1 + i
       z2)`` gives two independent fields (real and imaginary parts).
       Negative eigenvalues would be clipped to 0 (none occurred in any case we
       ran); the clipped fraction ``sum |lambda_-| / sum lambda`` bounds the
       resulting covariance error and is reported.
    3. Each site takes the simple-kriging interpolation of the 4 x 4 grid nodes
       around it plus an independent normal "nugget" with the kriging
       variance: ``eps = lambda_k^T g + sigma_K z`` with ``lambda_k = C_NN^-1
       c_Nx`` and ``sigma_K^2 = 1 - c_Nx^T lambda_k`` (conditional simulation
       by kriging [JH78]_ ch. VII, with a local neighbourhood).  Every site has
       unit variance exactly and its correlation with its own 16 nodes is
       exact.  Error: for separations ``h >= d`` the correlation is within
       ``0.2 d / b`` of ``rho(h)`` (:data:`FAR_ERROR_PER_SPACING`: an
       empirical constant; the worst case found by a randomised search with
       local refinement is 0.102 ``d/b`` at ``d = b/4``, 0.116 at ``b/16``,
       0.139 at ``b/32``, 0.172 at ``b/128``).  Two distinct sites closer than
       ``d`` ignore the correlation of their nuggets, so their correlation is
       too low by up to ``max sigma_K^2`` (about ``1.65 d / b``: 0.103 at the
       default ``d = b / 16``), i.e. 0.90 instead of 0.99 for two sites 30 m
       apart.  :attr:`FieldPlan.far_error_bound` adds the clipping, projection
       and wrap terms to the first bound, :attr:`FieldPlan.near_error_bound`
       is ``max sigma_K^2`` plus that, and :meth:`FieldPlan.implied_correlation`
       gives the exact correlation the sampler realises for any pair of sites.
    Cost per realisation: half an FFT of ``Mx My`` points, ``Mx My`` normal
    numbers, 16 multiply-adds and one normal number per distinct site.

Random numbers
    ``seed`` (int or :class:`numpy.random.SeedSequence`) is expanded with
    ``SeedSequence(entropy, spawn_key=(*key, stream, index))`` into one SFC64
    generator per realisation (stream 0: its first normal is the inter-event
    ``eta`` of :mod:`~quakewatch.ext.gmfield`, then the per-site normals) and
    one per pair of realisations (stream 1: grid noise); stream 2 is used by
    :mod:`~quakewatch.ext.gmfield_conditioning`.  The numbers of realisation
    ``r`` depend only on ``(seed, r)`` and the plan, and matrix products run on
    fixed, aligned groups of :data:`EXACT_GROUP` realisations, so results are
    bit-for-bit the same however the realisations are split into blocks.

References
----------
.. [DN97] Dietrich, C. R. and Newsam, G. N. (1997). Fast and exact simulation of
   stationary Gaussian processes through circulant embedding of the covariance
   matrix. SIAM J. Sci. Comput. 18(4), 1088-1107.
.. [WC94] Wood, A. T. A. and Chan, G. (1994). Simulation of stationary Gaussian
   processes in [0, 1]^d. J. Comput. Graph. Stat. 3(4), 409-432.
.. [JH78] Journel, A. G. and Huijbregts, C. J. (1978). Mining Geostatistics.
   Academic Press (conditional simulation, ch. VII).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.fft
import scipy.linalg
import scipy.sparse

from .geodesy import EARTH_RADIUS_KM, haversine

__all__ = [
    "EARTH_RADIUS_KM",
    "FieldPlan",
    "build_plan",
    "great_circle_km",
    "stream_generator",
]

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SeedLike = int | np.random.SeedSequence

#: covariance left out by the periodic wrap of the circulant embedding
WRAP_TOLERANCE = 1e-6
#: default grid spacing is ``range / GRID_POINTS_PER_RANGE``
GRID_POINTS_PER_RANGE = 16
#: accepted grid spacings, as ``range / spacing``
MIN_POINTS_PER_RANGE, MAX_POINTS_PER_RANGE = 4, 128
#: interpolation error for separations ``>= d`` is below ``FAR_ERROR_PER_SPACING * d / b``
FAR_ERROR_PER_SPACING = 0.2
#: largest circulant embedding (nodes) the grid method accepts
MAX_EMBEDDING_NODES = 1 << 26
#: realisations per matrix product (aligned groups, for chunk invariance)
EXACT_GROUP = 32
#: streams of :func:`stream_generator`
STREAM_REALISATION, STREAM_GRID_PAIR, STREAM_CONDITIONING = 0, 1, 2
_VERSION = "1"
_OFFSETS = np.arange(-1, 3)  # 4 x 4 kriging neighbourhood, in grid steps


# --------------------------------------------------------------------------- #
# validation, geometry, random streams
# --------------------------------------------------------------------------- #


def coordinates(lon: ArrayLike, lat: ArrayLike, prefix: str = "") -> tuple[FloatArray, FloatArray]:
    """Validated float64 copies of 1-D ``lon``, ``lat`` (degrees)."""
    x = np.array(lon, dtype=np.float64)
    y = np.array(lat, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{prefix}lon must be a non-empty 1-D array, got shape {x.shape}")
    if y.shape != x.shape:
        raise ValueError(f"{prefix}lat must have the shape of {prefix}lon {x.shape}, got {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f"{prefix}lon and {prefix}lat must be finite (no NaN or Inf)")
    if (np.abs(y) > 90.0).any():
        raise ValueError(f"{prefix}lat must be within [-90, 90] degrees")
    if (x < -180.0).any() or (x > 360.0).any():
        raise ValueError(f"{prefix}lon must be within [-180, 360] degrees")
    return x, y


def check_workers(workers: int) -> int:
    """``workers`` as an int >= 1, else :class:`ValueError`."""
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    return int(workers)


def check_block(block_realisations: int) -> int:
    """``block_realisations`` as an int >= 1, else :class:`ValueError`."""
    if isinstance(block_realisations, bool) or not isinstance(block_realisations, (int, np.integer)):
        raise ValueError("block_realisations must be an int")
    if block_realisations < 1:
        raise ValueError(f"block_realisations must be >= 1, got {block_realisations}")
    return int(block_realisations)


def great_circle_km(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> FloatArray:
    """Great-circle distance in km (haversine, radius :data:`EARTH_RADIUS_KM`), broadcast."""
    return haversine(lon1, lat1, lon2, lat2, EARTH_RADIUS_KM)


def _unique_sites(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray, IntArray]:
    """Distinct (lon, lat) pairs (sorted by lon, then lat) and the map site -> distinct."""
    order = np.argsort(lon + 1j * lat)  # complex order: by lon, then lat (exact values)
    lo, la = lon[order], lat[order]
    new = np.ones(lon.size, dtype=bool)
    new[1:] = (lo[1:] != lo[:-1]) | (la[1:] != la[:-1])
    inverse = np.empty(lon.size, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return lo[new], la[new], inverse


def _project(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray, float]:
    """Azimuthal equidistant projection (km) about the centre; also theta/sin(theta) - 1."""
    lam, phi = np.radians(lon), np.radians(lat)
    v = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)]).mean(axis=1)
    norm = float(np.linalg.norm(v))
    if norm < 1e-9:
        raise ValueError("lon/lat sites must not surround the globe (no centre for the grid method)")
    v /= norm
    phi0, lam0 = math.asin(float(v[2])), math.atan2(float(v[1]), float(v[0]))
    dl = lam - lam0
    cosc = np.clip(math.sin(phi0) * np.sin(phi) + math.cos(phi0) * np.cos(phi) * np.cos(dl), -1.0, 1.0)
    c = np.arccos(cosc)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(c > 1e-12, c / np.sin(c), 1.0)
    x = EARTH_RADIUS_KM * k * np.cos(phi) * np.sin(dl)
    y = EARTH_RADIUS_KM * k * (math.cos(phi0) * np.sin(phi) - math.sin(phi0) * np.cos(phi) * np.cos(dl))
    theta = float(c.max())
    if theta > math.pi / 2:
        raise ValueError("lon/lat sites must lie within 90 degrees of their centre for the grid method")
    distortion = theta / math.sin(theta) - 1.0 if theta > 1e-12 else 0.0
    return x, y, distortion


def seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """``seed`` as a :class:`numpy.random.SeedSequence` (int >= 0 or a SeedSequence)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError("seed must be a non-negative int or a numpy.random.SeedSequence")
    return np.random.SeedSequence(int(seed))


def stream_generator(seed: SeedLike, stream: int, index: int) -> np.random.Generator:
    """SFC64 generator of ``(stream, index)`` derived from ``seed`` (module docstring)."""
    ss = seed_sequence(seed)
    child = np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, stream, index))
    return np.random.Generator(np.random.SFC64(child))


def _site_normals(ss: np.random.SeedSequence, r: int, out: FloatArray) -> None:
    """Per-site normals of realisation ``r`` (its stream: ``eta`` first, then these)."""
    g = stream_generator(ss, STREAM_REALISATION, r)
    g.standard_normal()
    g.standard_normal(out=out)


# --------------------------------------------------------------------------- #
# plan
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class _Grid:
    shape: tuple[int, int]  # (nx, ny) nodes covering the sites
    embedding: tuple[int, int]  # (Mx, My)
    sqrt_eig: FloatArray  # sqrt(lambda / (Mx My)), shape embedding
    weights: scipy.sparse.csr_matrix  # (n_unique, nx * ny), 16 kriging weights per row
    nugget_sd: FloatArray  # (n_unique,) kriging standard deviation


def _grid_pair(grid: _Grid, ss: np.random.SeedSequence, j: int, workers: int) -> tuple[FloatArray, FloatArray]:
    """Grid fields of realisations ``2j`` and ``2j + 1`` (flattened nodes, C order)."""
    nx, ny = grid.shape
    g = stream_generator(ss, STREAM_GRID_PAIR, j)
    noise = g.standard_normal(grid.embedding + (2,)).view(np.complex128)[..., 0]
    noise *= grid.sqrt_eig
    f = scipy.fft.fft2(noise, overwrite_x=True, workers=workers)[:nx, :ny]
    return np.ascontiguousarray(f.real).ravel(), np.ascontiguousarray(f.imag).ravel()


@dataclass(frozen=True, eq=False)
class FieldPlan:
    """Geometry-dependent part of the sampler, reusable across events.

    Built by :func:`build_plan` (or :func:`quakewatch.ext.gmfield.plan_fields`).

    Attributes
    ----------
    imt : str
        Label of the intensity measure type the range belongs to.
    range_km : float
        Range ``b`` of ``rho(h) = exp(-3 h / b)``.
    method : {"exact", "grid"}
    n_sites, n_unique : int
        Input sites and distinct coordinates.
    grid_spacing_km : float or None
        ``d`` (grid method).
    grid_shape, embedding_shape : tuple of int or None
        Grid nodes covering the sites and the circulant embedding (grid method).
    clipped_eigen_fraction : float
        ``sum |lambda_-| / sum lambda`` of the embedding (0 for exact).
    projection_distortion : float
        ``theta / sin(theta) - 1`` (grid method; 0 for exact).
    far_error_bound : float
        Bound on ``|corr - rho(h)|`` for ``h >= d``: ``0.2 d / b`` plus the
        clipping, projection and wrap terms (0 for exact, up to rounding).
    near_error_bound : float
        Bound for ``0 < h < d``: ``max sigma_K^2 + far_error_bound`` (0 for
        exact).
    provenance : Mapping[str, object]
    inverse : ndarray of int, shape (n_sites,)
        Column of each input site in :meth:`standard_fields` (read-only).
    """

    imt: str
    range_km: float
    method: Literal["exact", "grid"]
    n_sites: int
    n_unique: int
    grid_spacing_km: float | None
    grid_shape: tuple[int, int] | None
    embedding_shape: tuple[int, int] | None
    clipped_eigen_fraction: float
    projection_distortion: float
    near_error_bound: float
    far_error_bound: float
    provenance: Mapping[str, object]
    inverse: IntArray = field(repr=False)
    _unique_lon: FloatArray = field(repr=False)
    _unique_lat: FloatArray = field(repr=False)
    _chol: FloatArray | None = field(repr=False, default=None)
    _grid: _Grid | None = field(repr=False, default=None)

    def standard_fields(self, start: int, stop: int, *, seed: SeedLike, workers: int = 1) -> FloatArray:
        """Unit-variance correlated fields ``eps`` for realisations ``start .. stop - 1``.

        Parameters
        ----------
        start, stop : int
            Realisation indices, ``0 <= start < stop``.
        seed : int or numpy.random.SeedSequence
        workers : int
            Threads for the grid method (the numbers do not depend on it).

        Returns
        -------
        ndarray, shape (stop - start, n_unique), float64
            One row per realisation, one column per *distinct* site (input
            site ``i`` is column ``inverse[i]``).
        """
        out = np.empty((max(stop - start, 0), self.n_unique), dtype=np.float64)

        def keep(r: int, row: FloatArray) -> None:
            out[r - start] = row

        self.fill(start, stop, seed=seed, workers=workers, sink=keep)
        return out

    def fill(
        self,
        start: int,
        stop: int,
        *,
        seed: SeedLike,
        sink: Callable[[int, FloatArray], None],
        workers: int = 1,
    ) -> None:
        """Call ``sink(r, eps_r)`` for each realisation ``r`` in ``start .. stop - 1``.

        ``eps_r`` has shape (n_unique,) (see :meth:`standard_fields`) and is
        reused after the call; with ``workers > 1`` the calls come from several
        threads, in any order, so ``sink`` must write to disjoint places.
        """
        if not 0 <= start < stop:
            raise ValueError(f"need 0 <= start < stop, got start={start}, stop={stop}")
        workers = check_workers(workers)
        ss = seed_sequence(seed)
        if self._chol is not None:
            # fixed, aligned groups: the same GEMM shapes whatever the block
            # boundaries, so the rounding (hence every bit) is chunk-invariant
            for lo in range(start - start % EXACT_GROUP, stop, EXACT_GROUP):
                z = np.empty((EXACT_GROUP, self.n_unique), dtype=np.float64)
                for r in range(lo, lo + EXACT_GROUP):
                    _site_normals(ss, r, z[r - lo])
                eps = z @ self._chol.T
                for r in range(max(lo, start), min(lo + EXACT_GROUP, stop)):
                    sink(r, eps[r - lo])
            return
        grid = self._grid
        if grid is None:  # pragma: no cover - built by build_plan only
            raise ValueError("plan has neither a Cholesky factor nor a grid")
        pairs = range(start // 2, (stop - 1) // 2 + 1)
        threaded = workers > 1 and len(pairs) > 1
        fft_workers = 1 if threaded else workers

        def pair(j: int) -> None:
            nodes = _grid_pair(grid, ss, j, fft_workers)
            row = np.empty(self.n_unique, dtype=np.float64)
            z = np.empty(self.n_unique, dtype=np.float64)
            for r, part in zip((2 * j, 2 * j + 1), nodes):
                if start <= r < stop:
                    _site_normals(ss, r, z)
                    z *= grid.nugget_sd
                    row[...] = grid.weights @ part
                    row += z
                    sink(r, row)

        if threaded:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(pair, pairs))
        else:
            for j in pairs:
                pair(j)

    def check_sites(self, lon: ArrayLike, lat: ArrayLike, imt: str) -> None:
        """Raise :class:`ValueError` unless the plan was built for these sites and IMT."""
        x, y = coordinates(lon, lat)
        if x.size != self.n_sites or imt != self.imt:
            raise ValueError(f"plan is for {self.n_sites} sites and imt {self.imt!r}, "
                             f"got {x.size} sites and imt {imt!r}")
        if not (np.array_equal(self._unique_lon[self.inverse], x)
                and np.array_equal(self._unique_lat[self.inverse], y)):
            raise ValueError("plan was built for other site coordinates (lon, lat)")

    def implied_correlation(self, i: ArrayLike, j: ArrayLike) -> FloatArray:
        """Exact correlation of ``eps`` between input sites ``i`` and ``j`` under this plan.

        Exact method: ``(L L^T)[u_i, u_j]``.  Grid method: ``w_i^T C_grid w_j +
        [u_i == u_j] sigma_K^2`` with the embedded (clipped) grid covariance.
        Compare with ``exp(-3 h / b)`` to audit the approximation.

        Parameters
        ----------
        i, j : array_like of int, same shape
            Input site indices.

        Returns
        -------
        ndarray, shape of ``i``, float64
        """
        ii = np.asarray(i, dtype=np.int64)
        jj = np.asarray(j, dtype=np.int64)
        if ii.shape != jj.shape:
            raise ValueError(f"j must have the shape of i {ii.shape}, got {jj.shape}")
        if ((ii < 0) | (ii >= self.n_sites) | (jj < 0) | (jj >= self.n_sites)).any():
            raise ValueError(f"site indices must be within [0, {self.n_sites - 1}]")
        ui, uj = self.inverse[ii].ravel(), self.inverse[jj].ravel()
        if self._chol is not None:
            out = np.einsum("ij,ij->i", self._chol[ui], self._chol[uj])
            return np.asarray(out.reshape(ii.shape), dtype=np.float64)
        grid = self._grid
        if grid is None:  # pragma: no cover - built by build_plan only
            raise ValueError("plan has neither a Cholesky factor nor a grid")
        ny = grid.shape[1]
        mx, my = grid.embedding
        cov = np.real(scipy.fft.ifft2(grid.sqrt_eig**2 * (mx * my)))  # clipped circulant row
        cols = grid.weights.indices.reshape(-1, 16).astype(np.int64)
        vals = grid.weights.data.reshape(-1, 16)
        res = np.empty(ui.size, dtype=np.float64)
        for lo in range(0, ui.size, 4096):
            a, b = ui[lo: lo + 4096], uj[lo: lo + 4096]
            ax, ay = np.divmod(cols[a], ny)
            bx, by = np.divmod(cols[b], ny)
            c = cov[(ax[:, :, None] - bx[:, None, :]) % mx, (ay[:, :, None] - by[:, None, :]) % my]
            res[lo: lo + 4096] = np.einsum("ni,nij,nj->n", vals[a], c, vals[b])
        res += np.where(ui == uj, grid.nugget_sd[ui] ** 2, 0.0)
        return res.reshape(ii.shape)


def _exact_factor(lon: FloatArray, lat: FloatArray, b: float) -> FloatArray:
    h = great_circle_km(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    corr = np.exp(h * (-3.0 / b))
    try:
        chol: FloatArray = scipy.linalg.cholesky(corr, lower=True, check_finite=False)
        return chol
    except np.linalg.LinAlgError:
        w, v = scipy.linalg.eigh(corr, check_finite=False)
        factor: FloatArray = v * np.sqrt(np.clip(w, 0.0, None))
        return factor


def _kriging(
    fx: FloatArray, fy: FloatArray, d: float, b: float, workers: int = 1
) -> tuple[FloatArray, FloatArray]:
    """Weights (n, 16) on the 4 x 4 nodes and kriging sd for fractional positions in a cell."""
    gx, gy = np.meshgrid(_OFFSETS, _OFFSETS, indexing="ij")
    ax, ay = gx.ravel().astype(np.float64), gy.ravel().astype(np.float64)
    cnn = np.exp((-3.0 * d / b) * np.hypot(ax[:, None] - ax[None, :], ay[:, None] - ay[None, :]))
    cnn_inv = scipy.linalg.cho_solve(scipy.linalg.cho_factor(cnn, lower=True), np.eye(16))
    lam = np.empty((fx.size, 16), dtype=np.float64)
    sd = np.empty(fx.size, dtype=np.float64)

    def chunk(sl: slice) -> None:
        # c_Nx[n, 4 p + q] = rho(d |(p - 1 - fx, q - 1 - fy)|), from per-axis squares
        dx2 = np.square(_OFFSETS[None, :] - fx[sl, None])
        dy2 = np.square(_OFFSETS[None, :] - fy[sl, None])
        cnx = (dx2[:, :, None] + dy2[:, None, :]).reshape(dx2.shape[0], 16)
        np.sqrt(cnx, out=cnx)
        cnx *= -3.0 * d / b
        np.exp(cnx, out=cnx)
        np.matmul(cnx, cnn_inv, out=lam[sl])
        var = 1.0 - np.einsum("ij,ij->i", lam[sl], cnx)
        np.sqrt(np.clip(var, 0.0, None), out=sd[sl])

    step = 1 << 16
    parts = [slice(i, min(i + step, fx.size)) for i in range(0, fx.size, step)]
    if workers > 1 and len(parts) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(chunk, parts))
    else:
        for part in parts:
            chunk(part)
    return lam, sd


def _grid_plan(
    lon: FloatArray, lat: FloatArray, b: float, d: float, workers: int
) -> tuple[_Grid, IntArray, float, float]:
    """Grid sampler; sites are reordered by grid cell (returned order) for locality."""
    x, y, distortion = _project(lon, lat)
    x0, y0 = float(x.min()) - 1.5 * d, float(y.min()) - 1.5 * d
    gx, gy = (x - x0) / d, (y - y0) / d
    ix, iy = np.floor(gx).astype(np.int64), np.floor(gy).astype(np.int64)
    nx, ny = int(ix.max()) + 3, int(iy.max()) + 3
    order = np.argsort(ix * ny + iy, kind="stable")
    ix, iy, gx, gy = ix[order], iy[order], gx[order], gy[order]
    k = math.ceil(b * math.log(1.0 / WRAP_TOLERANCE) / (3.0 * d))
    mx = scipy.fft.next_fast_len(max(nx + k, 2 * k))
    my = scipy.fft.next_fast_len(max(ny + k, 2 * k))
    if mx * my > MAX_EMBEDDING_NODES:
        raise ValueError(
            f"grid method needs a {mx} x {my} embedding, above MAX_EMBEDDING_NODES = "
            f"{MAX_EMBEDDING_NODES}: use a larger grid_spacing_km (now {d:.4g} km) or split the sites"
        )
    kx = np.minimum(np.arange(mx), mx - np.arange(mx)).astype(np.float64)
    ky = np.minimum(np.arange(my), my - np.arange(my)).astype(np.float64)
    first_row = np.exp((-3.0 * d / b) * np.hypot(kx[:, None], ky[None, :]))
    lam = scipy.fft.fft2(first_row, workers=workers).real
    clipped = max(0.0, float(-lam[lam < 0.0].sum()) / float(lam.sum()))
    sqrt_eig = np.sqrt(np.clip(lam, 0.0, None) / (mx * my))
    weights, nugget_sd = _kriging(gx - ix, gy - iy, d, b, workers)
    ox, oy = np.meshgrid(_OFFSETS, _OFFSETS, indexing="ij")
    itype = np.int32 if nx * ny < 2**31 and 16 * lon.size < 2**31 else np.int64
    offsets = np.asarray(ox.ravel() * ny + oy.ravel(), dtype=itype)
    cols = np.add(np.asarray(ix * ny + iy, dtype=itype)[:, None], offsets[None, :])
    n = lon.size
    w = scipy.sparse.csr_matrix(
        (weights.ravel(), cols.ravel(), np.arange(0, 16 * n + 1, 16, dtype=itype)), shape=(n, nx * ny)
    )
    return _Grid((nx, ny), (mx, my), sqrt_eig, w, nugget_sd), order, clipped, distortion


def build_plan(
    lon: ArrayLike,
    lat: ArrayLike,
    range_km: float,
    *,
    imt: str = "",
    exact_max_sites: int = 5000,
    grid_spacing_km: float | None = None,
    workers: int = 1,
    provenance: Mapping[str, object] | None = None,
) -> FieldPlan:
    """Prepare the sampler of ``exp(-3 h / range_km)``-correlated fields at given sites.

    Parameters
    ----------
    lon, lat : array_like, shape (n_sites,)
        Site coordinates, degrees.
    range_km : float
        Correlation range ``b`` in km, > 0.
    imt : str
        Label stored in the plan.
    exact_max_sites : int
        Exact (Cholesky) sampling up to this many distinct sites, else the grid
        method.
    grid_spacing_km : float, optional
        Grid spacing ``d`` of the grid method, default ``range / 16``; within
        ``[range / 128, range / 4]``.
    workers : int
        Threads for building the grid method's interpolation weights.
    provenance : Mapping, optional
        Extra entries for :attr:`FieldPlan.provenance`.

    Returns
    -------
    FieldPlan
    """
    x, y = coordinates(lon, lat)
    b = float(range_km)
    if not (math.isfinite(b) and b > 0.0):
        raise ValueError(f"range_km must be finite and > 0, got {range_km}")
    workers = check_workers(workers)
    if isinstance(exact_max_sites, bool) or not isinstance(exact_max_sites, (int, np.integer)):
        raise ValueError("exact_max_sites must be an int")
    if exact_max_sites < 0:
        raise ValueError(f"exact_max_sites must be >= 0, got {exact_max_sites}")
    d = b / GRID_POINTS_PER_RANGE if grid_spacing_km is None else float(grid_spacing_km)
    lo, hi = b / MAX_POINTS_PER_RANGE, b / MIN_POINTS_PER_RANGE
    if not (math.isfinite(d) and lo * (1 - 1e-12) <= d <= hi * (1 + 1e-12)):
        raise ValueError(
            f"grid_spacing_km must be within [range / {MAX_POINTS_PER_RANGE}, range / "
            f"{MIN_POINTS_PER_RANGE}] = [{lo:.4g}, {hi:.4g}] km, got {d}"
        )
    ulon, ulat, inverse = _unique_sites(x, y)
    prov: dict[str, object] = {"algorithm": "quakewatch.ext.gmfield_sampling", "version": _VERSION,
                               **(provenance or {}), "range_km": b, "n_sites": int(x.size),
                               "n_unique": int(ulon.size)}
    if ulon.size <= exact_max_sites:
        inverse.setflags(write=False)
        prov["method"] = "exact (Cholesky)"
        return FieldPlan(imt, b, "exact", int(x.size), int(ulon.size), None, None, None, 0.0, 0.0,
                         0.0, 0.0, MappingProxyType(prov), inverse, ulon, ulat,
                         _chol=_exact_factor(ulon, ulat, b))
    grid, order, clipped, distortion = _grid_plan(ulon, ulat, b, d, workers)
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    inverse = position[inverse]
    inverse.setflags(write=False)
    far = FAR_ERROR_PER_SPACING * d / b + clipped + distortion / math.e + WRAP_TOLERANCE
    near = float(_kriging(np.array([0.5]), np.array([0.5]), d, b)[1][0] ** 2) + far
    prov.update(method="grid (circulant embedding + 4x4 simple kriging + nugget)",
                grid_spacing_km=d, grid_shape=grid.shape, embedding_shape=grid.embedding,
                clipped_eigen_fraction=clipped, projection_distortion=distortion,
                near_error_bound=near, far_error_bound=far)
    return FieldPlan(imt, b, "grid", int(x.size), int(ulon.size), d, grid.shape, grid.embedding,
                     clipped, distortion, near, far, MappingProxyType(prov), inverse, ulon[order],
                     ulat[order], _grid=grid)
