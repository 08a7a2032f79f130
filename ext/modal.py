"""Automated operational modal analysis: ``identify(data, fs_hz) -> ModalResult``.

Pipeline (each step in its own module):

1. Output covariances up to lag ``2i`` by :class:`~quakewatch.ext.covariance.CovarianceAccumulator`
   (streamed at ingest, or built here from an array), with exact mean removal.
2. Channels are scaled to unit standard deviation so that mixed units and gains weigh
   equally; channels with no signal (standard deviation below ``1e-6`` of the median,
   e.g. a dead sensor) are left out and get NaN mode-shape entries.
3. SSI-cov (:mod:`quakewatch.ext.ssi`, Peeters & De Roeck 1999; unweighted, or with
   ``weighting="cva"`` canonical-variate weighted) for model orders
   ``min_order .. max_order``, the leading singular subspace of the Toeplitz matrix by
   randomized subspace iteration on FFT products (:mod:`quakewatch.ext.toeplitz`;
   ``svd="exact"``: the dense eigen-decomposition); stabilisation and automatic
   selection by clustering (:mod:`quakewatch.ext.stabilisation`, Magalhaes et al.
   2009); undamped clusters are reported as harmonics.
4. Uncertainty: delete-one-block jackknife over the accumulator's blocks (Efron &
   Tibshirani 1993, ch. 11; Quenouille 1956).  For every mode the SSI step is repeated
   at the mode's representative order on the covariances with one block left out, the
   mode is re-found by frequency and MAC, and
   ``var = (B - 1) / B * sum_b (theta_b - mean theta)^2``.  Blocks last ``T / B`` (90 s
   for a 30 min window with ``B = 20``), far longer than the correlation time
   ``1 / (2 pi f xi)`` of structural modes, so they are close to independent.  The
   jackknife needs no analytic sensitivities (compare the first-order propagation of
   Reynders, Pintelon & De Roeck 2008) and its coverage is checked in the tests.

Frequencies and damping ratios are the medians over the orders of the mode's cluster.
Mode shapes are unit-norm complex vectors rotated so the largest entry is real; the
real ``mode_shapes`` are their real parts scaled to a largest magnitude of 1.

References
----------
Peeters & De Roeck (1999), Mech. Syst. Signal Process. 13(6), 855-878.
Magalhaes, Cunha & Caetano (2009), Mech. Syst. Signal Process. 23(2), 316-329.
Reynders, Pintelon & De Roeck (2008), Mech. Syst. Signal Process. 22(4), 948-969.
Efron & Tibshirani (1993), An Introduction to the Bootstrap, Chapman & Hall.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.linalg
from threadpoolctl import threadpool_limits

from .covariance import CorrelationSums, CovarianceAccumulator, accumulate_runs, finite_runs
from .covariance import check_count as _int
from .modal_lag import lag_rows_for, lowest_peak_hz
from .modal_significance import amplitude_significance, jackknife_block_rows
from .modal_uncertainty import jackknife_std
from .ssi import (OrderEigen, Poles, ShiftSolver, eigen_of_order, modal_parameters, mpc, normalise_shapes,
                  observability_basis, output_covariance_factor)
from .stabilisation import SelectionOptions, mac_matrix, select_modes, stable_mask
from .toeplitz import BlockToeplitz, toeplitz

__all__ = ["ModalResult", "StabilisationDiagram", "choose_references", "default_block_rows", "identify", "mac_matrix",
           "reference_count"]

FloatArray = npt.NDArray[np.float64]

#: channels whose standard deviation is below this fraction of the median are dead
DEAD_CHANNEL_RATIO = 1e-6
#: default number of jackknife blocks when ``identify`` builds the accumulator
DEFAULT_BLOCKS = 20
#: clusters with fewer poles than twice this use all of them in the jackknife
JACKKNIFE_MIN_ORDERS = 5


@dataclass(frozen=True, eq=False)
class StabilisationDiagram:
    """Every physical pole of every order, for plotting and audit.

    ``stable``: passed the stability test; ``cluster``: index of the reported mode or
    harmonic it supports (into ``ModalResult.frequencies_hz`` for modes, or
    ``n_modes + k`` for harmonic ``k``), ``-1`` otherwise.
    """

    orders: npt.NDArray[np.int64]
    frequencies_hz: FloatArray
    damping_ratios: FloatArray
    mpc: FloatArray
    stable: npt.NDArray[np.bool_]
    cluster: npt.NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class ModalResult:
    """Identified modes (sorted by frequency) and how they were obtained.

    Attributes
    ----------
    frequencies_hz, damping_ratios : ndarray, shape (n_modes,)
    std_frequencies_hz, std_damping_ratios : ndarray, shape (n_modes,)
        Jackknife standard deviations (NaN when fewer than 3 blocks or the mode was
        not re-found in every delete-one set).
    mode_shapes : ndarray, shape (n_channels, n_modes)
        Real parts of the complex shapes, largest magnitude +1; NaN at dead channels.
    complex_mode_shapes : complex ndarray, shape (n_channels, n_modes)
        Unit norm, largest entry real and positive; NaN at dead channels.
    mpc : ndarray, shape (n_modes,)
        Modal phase collinearity of each mode shape.
    n_poles : ndarray of int, shape (n_modes,)
        Poles (orders) supporting each mode.
    harmonics_hz : ndarray
        Frequencies of undamped clusters (periodic excitation), not reported as modes.
    dead_channels : tuple of int
    diagram : StabilisationDiagram
    provenance : dict
        Method, options, block rows, orders, reference channels, samples, blocks, timing;
        each mode's ``amplitude_t`` and ``sign_p`` (``ext/modal_significance.py``) and the
        clusters dropped as ``rejected_unstable`` (jackknife scatter) or
        ``rejected_insignificant`` (within the sampling noise).
    """

    frequencies_hz: FloatArray
    damping_ratios: FloatArray
    std_frequencies_hz: FloatArray
    std_damping_ratios: FloatArray
    mode_shapes: FloatArray
    complex_mode_shapes: npt.NDArray[np.complex128]
    mpc: FloatArray
    n_poles: npt.NDArray[np.int64]
    harmonics_hz: FloatArray
    dead_channels: tuple[int, ...]
    diagram: StabilisationDiagram
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def n_modes(self) -> int:
        return int(self.frequencies_hz.size)


#: up to this many reference channels the default model orders stop at half the
#: Hankel matrix's rank (see ``_identify``)
FEW_REFERENCES = 2

#: lag span of the Toeplitz matrix by default (s): a sizeable part of the period of the
#: slowest modes of buildings and medium bridges (0.3-2 Hz) keeps them well conditioned
DEFAULT_LAG_S = 0.5
#: largest number of Toeplitz rows (``i n_channels``) chosen by default
MAX_DEFAULT_ROWS = 3200
#: SSI-cov weightings of ``identify``
WEIGHTINGS = ("none", "cva")
#: ways to the Toeplitz matrix's leading singular subspace (``identify(svd=...)``)
SVD_METHODS = ("randomized", "exact")
#: fewest reference channels chosen automatically (when not every channel is one)
MIN_AUTO_REFS = 8
#: every channel is a reference while the Toeplitz matrix keeps at most this many
#: columns (block rows x references): its Gram eigenproblem (the cubic step) stays
#: below 0.1 s, and the references add information that fewer of them lose (16
#: channels, 30 min, 10 % noise, 20-30 records: the frequency scatter of the upper
#: modes of a tapered shear building falls from 2.5 to 1.6 times the statistical
#: floor and the worst mean MAC rises from 0.998 to 0.9992 with all 16 channels
#: instead of 8; ``benchmarks/modal_accuracy.py``)
MAX_REF_COLUMNS = 800


def live_channels(sums: CorrelationSums) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Standard deviation of every channel and which ones carry signal (above
    :data:`DEAD_CHANNEL_RATIO` of the median and above zero)."""
    std = np.sqrt(sums.variances)
    med = np.median(std) if np.median(std) > 0 else 1.0
    return std, (std > DEAD_CHANNEL_RATIO * med) & (std > 0)


def default_block_rows(n_channels: int, n_refs: int, fs_hz: float, max_order: int, *,
                       n_samples: int | None = None, n_blocks: int = 0, lowest_hz: float | None = None) -> int:
    """Block rows ``i``: enough for ``max_order`` (``(i - 1) n_channels >= max_order`` and
    ``i n_refs >= max_order``) and :data:`DEFAULT_LAG_S` of lag, or for a slowest mode at
    ``lowest_hz`` a lag span of :data:`~quakewatch.ext.modal_lag.LOWEST_MODE_PERIODS` of
    its period (:data:`~quakewatch.ext.modal_lag.FEW_CHANNEL_PERIODS` periods with few
    channels) when that is longer, with at most :data:`MAX_DEFAULT_ROWS` Toeplitz rows.

    Given the record's ``n_samples`` and ``n_blocks >= 3`` jackknife blocks, the rows the
    model order asks for beyond the lag span are cut to what the blocks carry: each
    block spans at least :data:`~quakewatch.ext.modal_significance.BLOCK_LAG_RATIO` times
    the lag span ``2 i``, or the jackknife's blocks share their lag products and its
    deviations (and the significance test) are too small.  On one channel this is what
    keeps a short record from an order-100 model of its noise (100 s at 20 Hz: ``i`` 101
    -> 25).
    """
    need = max(math.ceil(max_order / n_refs), math.ceil(max_order / n_channels) + 1)
    lag_rows = math.ceil(DEFAULT_LAG_S * fs_hz)
    if lowest_hz is not None:
        lag_rows = max(lag_rows, lag_rows_for(lowest_hz, fs_hz, n_channels))
    lag_rows = min(lag_rows, MAX_DEFAULT_ROWS // n_channels)
    rows = max(need, lag_rows, 2)
    if n_samples is not None and n_blocks >= 3:
        rows = max(lag_rows, 2, min(rows, jackknife_block_rows(n_samples, n_blocks)))
    return int(rows)


def reference_count(n_channels: int, fs_hz: float, max_order: int, block_rows: int | None = None) -> int:
    """Reference channels used by default: all of them when the Toeplitz matrix (of
    ``block_rows``, default :func:`default_block_rows`) stays within
    :data:`MAX_REF_COLUMNS` columns, otherwise as many as fit (at least
    :data:`MIN_AUTO_REFS`, at most ``n_channels``)."""
    m = _int(n_channels, "n_channels", 1)
    rows = default_block_rows(m, m, fs_hz, max_order) if block_rows is None else _int(block_rows, "block_rows", 2)
    if rows * m <= MAX_REF_COLUMNS:
        return m
    return min(m, max(MIN_AUTO_REFS, MAX_REF_COLUMNS // rows))


def choose_references(x: npt.ArrayLike, n_refs: int = MIN_AUTO_REFS) -> npt.NDArray[np.intp]:
    """The ``n_refs`` channels of ``x`` (n_samples, n_channels) that are the most linearly
    independent: column-pivoted QR of the correlation-coefficient matrix (Golub & Van
    Loan, Matrix Computations, 4th ed., sec. 5.4.2), sorted.  Reference-based SSI needs
    references that see every mode; channels repeating another channel's information
    add cost, not information (Peeters & De Roeck 1999, sec. 4).
    """
    a = np.asarray(x, dtype=np.float64)
    a = a - a.mean(axis=0)
    std = a.std(axis=0)
    live = std > 0
    c = np.zeros((a.shape[1], a.shape[1]))
    z = a[:, live] / std[live]
    c[np.ix_(live, live)] = z.T @ z / max(1, a.shape[0])
    _, _, piv = scipy.linalg.qr(c, pivoting=True, mode="economic")
    return np.sort(piv[:n_refs]).astype(np.intp)


def identify(data: npt.ArrayLike | CovarianceAccumulator | CorrelationSums, fs_hz: float, *,
             ref_channels: npt.ArrayLike | None = None, block_rows: int | None = None,
             min_order: int = 2, max_order: int = 100, order_step: int = 2,
             n_blocks: int = DEFAULT_BLOCKS, max_damping: float = 0.2,
             frequency_range_hz: tuple[float, float] | None = None,
             selection: SelectionOptions | None = None, uncertainty: bool = True,
             method: str = "ssi-cov", fdd_lag_s: float = 20.0, weighting: str = "none",
             svd: str = "randomized", lowest_hz: float | None = None) -> ModalResult:
    """Identify modes by automated SSI-cov (default) or by EFDD (``method="efdd"``).

    Parameters
    ----------
    data : ndarray (n_samples, n_channels), CovarianceAccumulator or CorrelationSums
        Output-only response (any consistent units), or covariances accumulated at
        ingest (their ``max_lag`` must be at least ``2 * block_rows``).  In an array a
        row with a NaN in any channel is a missing sample: the runs between such rows
        are correlated each on its own, so that no lag product spans a gap
        (:meth:`CovarianceAccumulator.gap`); Inf is refused.
    fs_hz : float
        Sampling rate, > 0.
    ref_channels : sequence of int, optional
        Reference channels when ``data`` is an array (default: every channel while the
        Toeplitz matrix stays within :data:`MAX_REF_COLUMNS` columns, otherwise the
        :func:`reference_count` most independent ones by :func:`choose_references`).
    block_rows : int, optional
        Block rows ``i`` of the Toeplitz matrix (default :func:`default_block_rows` for
        the record's length, its jackknife blocks and its slowest mode).
    min_order, max_order, order_step : int
        Model orders of the stabilisation diagram (even orders 2..100 by default).
    n_blocks : int
        Jackknife blocks when ``data`` is an array (>= 3 for an uncertainty).
    max_damping : float
        Poles with larger damping ratios are not physical (default 0.2).
    frequency_range_hz : (low, high), optional
        Report modes in this band only.
    selection : SelectionOptions, optional
        Stability, clustering, harmonic and significance thresholds (with an uncertainty,
        a mode must stand out of the sampling noise: ``min_amplitude_t`` or
        ``max_sign_p``, :mod:`quakewatch.ext.modal_significance`).
    uncertainty : bool
        Compute jackknife standard deviations (default True; SSI-cov only).
    method : {"ssi-cov", "efdd"}
        ``"efdd"``: frequency domain decomposition with EFDD frequency and damping
        (:mod:`quakewatch.ext.fdd`), an independent cross-check; no uncertainty, no
        stabilisation diagram.  Needs every channel as a reference.
    fdd_lag_s : float
        Lag span of the EFDD correlogram when ``data`` is an array (frequency
        resolution about ``1 / fdd_lag_s``; at most a tenth of the record).
    weighting : {"none", "cva"}
        SSI-cov weighting of the Toeplitz matrix.  ``"cva"`` (canonical variate
        analysis, :func:`~quakewatch.ext.ssi.output_covariance_factor`) needs every
        channel as a reference; it costs two triangular solves of the Toeplitz matrix
        (about a third more time at 16 channels) and lowers the frequency scatter (by
        10-25 % on the buildings of ``benchmarks/modal_accuracy.py``, 100 records each),
        but it also lifts noise-band poles: 2 of 100 X/Y-building records reported a
        spurious mode (31 and 44 Hz at 100 Hz sampling), none unweighted.
    svd : {"randomized", "exact"}
        How the leading singular subspace of the (unweighted) Toeplitz matrix is found.
        ``"randomized"`` (default): randomized subspace iteration on FFT products
        (:func:`~quakewatch.ext.toeplitz.leading_singular`); ``"exact"``: the dense Gram
        eigen-decomposition, one cubic LAPACK step (31 against 86 ms for the basis at
        16 channels and ``i = 50``, single-threaded).  The
        physical modes' singular vectors agree to rounding; the noise directions that
        fill the higher orders are a near-optimal subspace instead of the optimal one,
        and on 100 fresh seeded records per case of ``benchmarks/modal_accuracy.py``
        the two give the same found / bias / MAC / coverage figures (frequency
        scatter within +-0.06 floor sigma mode by mode).  CVA always takes the exact
        path.
    lowest_hz : float, optional
        Frequency of the structure's slowest mode, when known: the default block rows
        give a lag span of at least :data:`~quakewatch.ext.modal_lag.LOWEST_MODE_PERIODS`
        of its period.  Default: the lowest prominent peak of the record's spectrum
        (:func:`~quakewatch.ext.modal_lag.lowest_peak_hz`) when ``data`` is an array; an
        accumulator keeps the lags it was built with.
    """
    if method == "efdd":
        from .fdd import identify_efdd

        with threadpool_limits(limits=1, user_api="blas"):
            return identify_efdd(data, fs_hz, lag_s=fdd_lag_s, frequency_range_hz=frequency_range_hz,
                                 harmonic_damping=(selection or SelectionOptions()).harmonic_damping)
    if method != "ssi-cov":
        raise ValueError(f"method must be 'ssi-cov' or 'efdd', got {method!r}")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if svd not in SVD_METHODS:
        raise ValueError(f"svd must be one of {SVD_METHODS}, got {svd!r}")
    # Many small dense problems (Toeplitz products, 50 eigenvalue problems, per-block
    # solves): BLAS threads only add synchronisation, and on a busy server they spin
    # against the ingest threads (measured 30-100x slower under load), so one thread.
    with threadpool_limits(limits=1, user_api="blas"):
        return _identify(data, fs_hz, ref_channels=ref_channels, block_rows=block_rows, min_order=min_order,
                         max_order=max_order, order_step=order_step, n_blocks=n_blocks,
                         max_damping=max_damping, frequency_range_hz=frequency_range_hz,
                         selection=selection, uncertainty=uncertainty, weighting=weighting, svd=svd,
                         lowest_hz=lowest_hz)


def _identify(data: Any, fs_hz: float, *, ref_channels: Any, block_rows: int | None, min_order: int,
              max_order: int, order_step: int, n_blocks: int, max_damping: float,
              frequency_range_hz: tuple[float, float] | None, selection: SelectionOptions | None,
              uncertainty: bool, weighting: str, svd: str, lowest_hz: float | None) -> ModalResult:
    t0 = time.perf_counter()
    fs = float(fs_hz)
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"fs_hz must be finite and > 0, got {fs_hz!r}")
    min_order, max_order, order_step = (_int(min_order, "min_order", 1), _int(max_order, "max_order", 2),
                                        _int(order_step, "order_step", 1))
    if min_order > max_order:
        raise ValueError(f"min_order ({min_order}) must be <= max_order ({max_order})")
    if not 0 < max_damping < 1:
        raise ValueError(f"max_damping must be in (0, 1), got {max_damping!r}")
    opts = selection or SelectionOptions()
    if lowest_hz is not None and not (math.isfinite(lowest_hz) and 0 < lowest_hz < fs / 2):
        raise ValueError(f"lowest_hz must be in (0, fs_hz / 2 = {fs / 2:g}), got {lowest_hz!r}")
    sums, lowest = _sums(data, fs, ref_channels, block_rows, max_order, _int(n_blocks, "n_blocks", 1), lowest_hz)
    n_ch = sums.channel_sums.size
    refs_all = np.asarray(sums.ref_channels)
    std, live = live_channels(sums)
    dead = tuple(int(c) for c in np.flatnonzero(~live))
    live_refs = np.flatnonzero(live[refs_all])
    m, n_r = int(live.sum()), int(live_refs.size)
    if m < 1 or n_r < 1:
        return _empty(n_ch, dead, sums, fs, "no live channel" if m < 1 else "no live reference channel")
    n_jk = sums.block_sums.shape[0]
    i = block_rows if block_rows is not None else min(
        default_block_rows(m, n_r, fs, max_order, n_samples=sums.n_samples, n_blocks=n_jk, lowest_hz=lowest),
        (sums.sums.shape[0] - 1) // 2)
    i = _int(i, "block_rows", 2)
    if 2 * i > sums.sums.shape[0] - 1:
        raise ValueError(f"block_rows={i} needs covariances up to lag {2 * i}; the accumulator has "
                         f"max_lag={sums.sums.shape[0] - 1}")
    max_order = min(max_order, (i - 1) * m, i * n_r)
    if block_rows is None and n_r <= FEW_REFERENCES:
        # With one or two references the default rows make the Hankel matrix's rank (i x
        # n_r) about max_order: the top orders fit the noise, and real modes scattered
        # past the 15-floor limit.  Orders up to half the rank, measured on 20 ten-minute
        # records at 40 Hz (10 % noise) of the uniform / tapered 16-storey buildings,
        # modes found out of 320: roof channel 153 -> 199 and 131 -> 154 (spurious 0 -> 0,
        # 1 -> 4); roof and mid-height channels 232 -> 251 and 173 -> 204 (spurious 0).
        # With four channels the cap cost modes (238 -> 214): it stops at two.
        max_order = max(min_order, min(max_order, i * n_r // 2))
    orders = np.arange(min_order, max_order + 1, order_step)
    scale = 1.0 / std[live]
    scale_r = 1.0 / std[refs_all[live_refs]]

    def prepare(cov: np.ndarray) -> np.ndarray:
        c = cov[: 2 * i][:, live][:, :, live_refs]
        return c * scale[None, :, None] * scale_r[None, None, :]

    cov = prepare(sums.covariances())
    weight = None
    if weighting == "cva":
        if not np.array_equal(refs_all[live_refs], np.flatnonzero(live)):
            raise ValueError("weighting='cva' needs every live channel as a reference, in channel order "
                             f"(references {refs_all[live_refs].tolist()}, live channels {np.flatnonzero(live).tolist()})")
        try:
            weight = output_covariance_factor(cov, i, sums.counts)
        except np.linalg.LinAlgError:
            raise ValueError("weighting='cva': the output covariance matrix is not positive definite "
                             "(too short a record for the block rows)") from None
    # the default basis comes from FFT products with the Toeplitz matrix (randomized
    # subspace iteration); "exact" and CVA take the dense matrix
    t = BlockToeplitz(cov, i) if weight is None and svd == "randomized" else toeplitz(cov, i)
    obs, right, singular = observability_basis(t, int(orders.max()), right=True, weight=weight)
    # Singular values below 1e-7 of the largest are dropped (nearly exact covariances, or
    # a drift many orders above the vibration): the orders beyond the basis's rank then
    # repeat the model of that rank (its poles stay stable, as they should)
    poles, pole_index, eigen = _poles(obs, m, fs, orders, max_damping, opts.harmonic_damping)
    stable = stable_mask(poles, opts)
    found, labels = select_modes(poles, stable, opts)
    clusters = found
    if frequency_range_hz is not None:
        lo, hi = frequency_range_hz
        clusters = [c for c in found if lo <= c.frequency_hz <= hi]
    modes = [c for c in clusters if not c.harmonic]
    harmonics = [c for c in clusters if c.harmonic]
    t_select = time.perf_counter()
    std_f = np.full(len(modes), np.nan)
    std_d = np.full(len(modes), np.nan)
    rejected: list[dict[str, float]] = []
    insignificant: list[dict[str, float]] = []
    amp_t = amp_p = np.full(len(modes), np.nan)
    if uncertainty and modes and n_jk >= 3:
        # the delete-one estimate averages every other order of the cluster (at least
        # JACKKNIFE_MIN_ORDERS): the order-to-order scatter is small against the
        # sampling scatter, and half the orders halve the cost
        members = [[(int(poles.orders[p]), int(pole_index[p])) for p in
                    (c.members if c.members.size < 2 * JACKKNIFE_MIN_ORDERS else c.members[::2])] for c in modes]
        jk = np.empty((n_jk, *cov.shape))
        for b, block in enumerate(sums.iter_jackknife_covariances()):  # one set held, not two
            jk[b] = prepare(block)
        std_f, std_d = jackknife_std(jk, cov, i, m, fs, right, singular, eigen, members)
        # A physical mode's frequency scatters about the statistical floor
        # sigma_f / f ~ sqrt(xi / (2 pi f T)) (REFERENCES.md); a cluster scattering far
        # more across the record is noise that happened to stabilise.
        f_arr = np.array([c.frequency_hz for c in modes])
        xi = np.maximum(np.array([c.damping_ratio for c in modes]), opts.harmonic_damping)
        floor = f_arr * np.sqrt(xi / (2 * np.pi * f_arr * sums.n_samples / fs))
        ok = ~(std_f > opts.max_std_ratio * floor)
        rejected = [{"frequency_hz": float(f), "std_frequency_hz": float(sd)}
                    for f, sd in zip(f_arr[~ok], std_f[~ok])]
        # ... and one whose share of the correlations is within the sampling noise is
        # the record's largest random wiggle (the only test left with one channel,
        # where MAC and MPC are 1 for every pole; ext/modal_significance.py).  Every
        # cluster, harmonics and out-of-band modes included, is in the fit.
        fit = modes + [c for c in found if c not in modes]
        sig = amplitude_significance(cov, jk, [c.frequency_hz for c in fit], [c.damping_ratio for c in fit],
                                     [c.shape for c in fit], fs)
        t_all, p_all = sig.t[: len(modes)], sig.sign_p[: len(modes)]
        weak = ok & (t_all < opts.min_amplitude_t) & (p_all > opts.max_sign_p)  # NaN: no evidence, kept
        insignificant = [{"frequency_hz": float(f), "amplitude_t": float(t), "sign_p": float(p)}
                         for f, t, p in zip(f_arr[weak], t_all[weak], p_all[weak])]
        ok &= ~weak
        modes = [c for c, keep in zip(modes, ok) if keep]
        std_f, std_d, amp_t, amp_p = std_f[ok], std_d[ok], t_all[ok], p_all[ok]
    shapes_c = np.full((n_ch, len(modes)), np.nan + 0j)
    if modes:  # back to physical units, then unit norm with the largest entry real
        shapes_c[live] = normalise_shapes(np.array([c.shape for c in modes], dtype=np.complex128) / scale).T
    real = shapes_c.real.copy()
    with np.errstate(invalid="ignore"):
        real /= np.nanmax(np.abs(real), axis=0, keepdims=True) if modes else 1.0
    cluster_id = np.full(poles.orders.size, -1, dtype=np.intp)
    for k, c in enumerate(modes + harmonics):
        cluster_id[c.members] = k
    diagram = StabilisationDiagram(poles.orders, poles.frequencies_hz, poles.damping_ratios, poles.mpc,
                                   stable, cluster_id)
    provenance = {
        "method": "ssi-cov",
        "references": ["Peeters & De Roeck 1999", "Magalhaes, Cunha & Caetano 2009", "jackknife (Efron & Tibshirani 1993)"],
        "fs_hz": fs, "n_samples": int(sums.n_samples), "gaps": max(0, sums.n_runs - 1), "n_channels": n_ch,
        "ref_channels": [int(r) for r in refs_all[live_refs]], "block_rows": i, "lag_s": 2 * i / fs,
        "lowest_peak_hz": lowest,
        "orders": [int(orders.min()), int(orders.max()), order_step], "max_damping": max_damping,
        "basis_rank": int(obs.shape[1]), "jackknife_blocks": int(n_jk), "selection": opts.__dict__.copy(),
        "dead_channels": list(dead),
        "weighting": weighting, "svd": "exact" if weight is not None else svd,
        "rejected_unstable": rejected, "rejected_insignificant": insignificant,
        "amplitude_t": [float(t) for t in amp_t], "sign_p": [float(p) for p in amp_p],
        "seconds": {"identification": t_select - t0, "uncertainty": time.perf_counter() - t_select},
    }
    return ModalResult(
        frequencies_hz=np.array([c.frequency_hz for c in modes]),
        damping_ratios=np.array([c.damping_ratio for c in modes]),
        std_frequencies_hz=std_f, std_damping_ratios=std_d,
        mode_shapes=real, complex_mode_shapes=shapes_c,
        mpc=mpc(np.nan_to_num(shapes_c.T)) if modes else np.zeros(0),
        n_poles=np.array([c.members.size for c in modes], dtype=np.int64),
        harmonics_hz=np.array([c.frequency_hz for c in harmonics]),
        dead_channels=dead, diagram=diagram, provenance=provenance)


def _poles(obs: np.ndarray, m: int, fs: float, orders: np.ndarray, max_damping: float, harmonic: float
           ) -> tuple[Poles, npt.NDArray[np.int64], dict[int, OrderEigen]]:
    """Physical poles of every order, each pole's index among its order's eigenvalues,
    and the eigen-decompositions (kept for the jackknife).

    Damping down to ``-harmonic`` is admitted: an undamped line (a harmonic) scatters
    around zero damping and must reach the selection to be flagged."""
    solver = ShiftSolver(obs, m)
    out_o, out_p, out_f, out_d, out_s = [], [], [], [], []
    eigen: dict[int, OrderEigen] = {}
    # the eigenvalue problems of the orders are independent and LAPACK releases the
    # GIL: two threads, orders interleaved so both get large and small problems
    with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        solved = list(pool.map(lambda n: eigen_of_order(solver, int(n)), orders))
    for n, eig in zip(orders, solved):
        if eig is None:
            continue
        eigen[int(n)] = eig
        f, d = modal_parameters(eig.mu, fs)
        ok = np.isfinite(f) & np.isfinite(d) & (d > -harmonic) & (d < max_damping) & (f > 0) & (f < 0.5 * fs)
        out_o.append(np.full(int(ok.sum()), n))
        out_p.append(np.flatnonzero(ok))
        out_f.append(f[ok])
        out_d.append(d[ok])
        out_s.append((obs[:m, :n] @ eig.right[:, ok]).T)
    if not out_o:
        z = np.zeros(0)
        return Poles(np.zeros(0, np.int64), z, z, np.zeros((0, m), np.complex128), z), np.zeros(0, np.int64), eigen
    shapes = normalise_shapes(np.concatenate(out_s))
    poles = Poles(np.concatenate(out_o).astype(np.int64), np.concatenate(out_f), np.concatenate(out_d),
                  shapes, mpc(shapes))
    return poles, np.concatenate(out_p).astype(np.int64), eigen


def _sums(data: Any, fs: float, ref_channels: Any, block_rows: int | None, max_order: int,
          n_blocks: int, lowest_hz: float | None) -> tuple[CorrelationSums, float | None]:
    """The lag sums of ``data`` and the slowest mode's frequency the lags were sized for
    (``lowest_hz``, else the record's lowest spectral peak for an array)."""
    if isinstance(data, CorrelationSums):
        return data, lowest_hz
    if isinstance(data, CovarianceAccumulator):
        return data.sums(), lowest_hz
    x = np.asarray(data)
    if x.ndim != 2:
        raise ValueError(f"data must have shape (n_samples, n_channels), got {x.shape}")
    n, m = x.shape
    if m > n:  # (n_channels, n_samples) given: refuse before sizing anything by n_channels
        raise ValueError(f"data must have shape (n_samples, n_channels); got {x.shape}: more channels than samples "
                         "(transpose it)")
    runs = finite_runs(x)  # rows with a NaN are gaps
    if not runs:
        raise ValueError(f"data has no sample at which every channel is finite (NaN marks a gap); "
                         f"{_empty_channels(x)}")
    n = sum(b - a for a, b in runs)
    a, b = max(runs, key=lambda r: r[1] - r[0])  # the longest run sizes references and lags
    n_auto = reference_count(m, fs, max_order, block_rows)
    if ref_channels is None and n_auto < m:
        ref_channels = choose_references(x[a: min(b, a + max(4096, int(60 * fs)))], n_auto)
    refs = m if ref_channels is None else len(np.atleast_1d(ref_channels))
    if lowest_hz is None and block_rows is None:
        lowest_hz = lowest_peak_hz(x[a:b], fs)
    i = block_rows if block_rows is not None else default_block_rows(m, max(refs, 1), fs, max_order, n_samples=n,
                                                                     n_blocks=n_blocks, lowest_hz=lowest_hz)
    i = _int(i, "block_rows", 2)
    if n < 4 * i:
        raise ValueError(f"data has {n} samples; at least {4 * i} are needed for block_rows={i}")
    acc = accumulate_runs(x, runs, 2 * i, ref_channels=ref_channels, n_blocks=n_blocks)
    return acc.sums(), lowest_hz


def _empty_channels(x: np.ndarray) -> str:
    """Which channels hold no finite sample, for the message of a record without one."""
    empty = np.flatnonzero(~np.isfinite(x).any(axis=0))
    if empty.size:
        return f"channel(s) {empty[:8].tolist()} hold no finite sample"
    return "the channels' finite samples never coincide"


def _empty(n_ch: int, dead: tuple[int, ...], sums: CorrelationSums, fs: float, why: str) -> ModalResult:
    z = np.zeros(0)
    diagram = StabilisationDiagram(np.zeros(0, np.int64), z, z, z, np.zeros(0, bool), np.zeros(0, np.intp))
    return ModalResult(z, z, z, z, np.zeros((n_ch, 0)), np.zeros((n_ch, 0), np.complex128), z,
                       np.zeros(0, np.int64), z, dead, diagram,
                       {"method": "ssi-cov", "fs_hz": fs, "n_samples": int(sums.n_samples), "note": why})
