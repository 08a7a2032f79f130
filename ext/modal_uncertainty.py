"""Standard deviations of SSI-cov modal parameters by a delete-one-block jackknife.

The covariance accumulator keeps the lag sums of ``B`` consecutive blocks of the
record (``ext/covariance.py``).  Leaving block ``b`` out gives covariances
``R^(-b)``; the jackknife variance of an estimator ``theta`` is

    var = (B - 1) / B * sum_b (theta^(-b) - mean_b theta^(-b))^2

(Quenouille 1956; Efron & Tibshirani 1993, eq. 11.5).  Blocks of ``T / B`` seconds
(90 s for 30 min and ``B = 20``) are much longer than the correlation time
``1 / (2 pi f xi)`` of structural modes, so they are close to independent.

Each delete-one estimate is the *same* estimator as the reported one, the mean over
the orders of the mode's cluster, evaluated to first order, which needs no
re-identification and no pole matching:

1. the delete-one Toeplitz matrix is mapped to the full record's state basis,
   ``O^(-b) = T^(-b) V_N S_N^(-1/2)`` (equal to ``U_N S_N^(1/2)`` when ``T^(-b) = T``);
   its deviation from ``O`` is the first-order change of the observability subspace
   orthogonal to it (the in-subspace part is a change of state basis, which leaves the
   poles alone);
2. the state matrices ``A_n^(-b)`` follow by the same shift least squares (its normal
   equations, whose leading blocks serve every order; the record's ``A_n`` is formed
   the same way for the difference);
3. every clustered pole moves by ``d mu = l^H (A_n^(-b) - A_n) r / (l^H r)`` with its
   left and right eigenvectors ``l, r`` (first-order eigenvalue perturbation, Wilkinson
   1965, ch. 2, sec. 5).

This is the sensitivity chain of Reynders, Pintelon & De Roeck (2008) with the
covariance of the Toeplitz matrix replaced by the spread of the delete-one sets; the
coverage of the resulting intervals is checked in the tests.

References
----------
Quenouille (1956), Notes on bias in estimation, Biometrika 43, 353-360.
Efron & Tibshirani (1993), An Introduction to the Bootstrap, Chapman & Hall.
Reynders, Pintelon & De Roeck (2008), Uncertainty bounds on modal parameters obtained
    from stochastic subspace identification, Mech. Syst. Signal Process. 22(4), 948-969.
Wilkinson (1965), The Algebraic Eigenvalue Problem, Oxford.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import scipy.linalg

from .ssi import OrderEigen, modal_parameters
from .toeplitz import ToeplitzProduct

FloatArray = npt.NDArray[np.float64]
#: threads of the delete-one computations (LAPACK calls release the GIL)
JACKKNIFE_THREADS = 2


def jackknife_std(blocks: FloatArray, full: FloatArray, block_rows: int,
                  m: int, fs_hz: float, right: FloatArray, singular: FloatArray,
                  eigen: dict[int, OrderEigen], members: Sequence[Sequence[tuple[int, int]]]
                  ) -> tuple[FloatArray, FloatArray]:
    """Jackknife standard deviations of each mode's frequency and damping.

    Parameters
    ----------
    blocks : ndarray (B, lags, m, n_refs)
        Delete-one covariances (``CorrelationSums.jackknife_covariances``), prepared as
        the record's (scaled, live channels).
    full : ndarray (lags, m, n_refs)
        The record's covariances, prepared.
    block_rows, m, fs_hz : int, int, float
        As used for the record (``m`` live channels).
    right, singular : ndarray
        Leading right singular vectors and singular values of the record's Toeplitz matrix.
    eigen : dict order -> OrderEigen
        The record's state matrices and eigenvectors per order.
    members : sequence (per mode) of (order, pole index within that order)
    """
    n_modes = len(members)
    b_count = blocks.shape[0]
    # orders beyond the basis's rank (singular values dropped) repeat the model of that rank
    top = min(max(n for mode in members for n, _ in mode), right.shape[1])
    proj = right[:, :top] / np.sqrt(singular[:top])
    f_est = np.full((b_count, n_modes), np.nan)
    d_est = np.full((b_count, n_modes), np.nan)
    by_order: dict[int, list[tuple[int, int]]] = {}
    for k, mode in enumerate(members):
        for n, p in mode:
            by_order.setdefault(n, []).append((k, p))
    # per delete-one set: the shift least squares of every order from the normal
    # equations of the largest one.  With G = O_up^T O_up = L L^T (Cholesky), W = L^-1 and
    # H = O_up^T O_down, the leading n x n blocks give A_n = G_nn^-1 H_nn =
    # W_nn^T (W H)_nn (L and W are lower triangular, so their leading blocks are the
    # factors of G_nn).  Only l^H A_n r is needed for a pole with eigenvectors (l, r):
    # (W_nn conj(l))^T (W H)_nn r, two thin products per order instead of a solve.  The
    # record's own A_n is formed the same way, so that the difference holds the
    # perturbation and not the method.
    ws = np.empty((b_count + 1, top, top))
    zs = np.empty((b_count + 1, top, top))

    product = ToeplitzProduct(proj, block_rows, full.shape[2])  # T^(-b) @ proj by FFT, proj transformed once

    def factor_block(b: int) -> None:
        obs = product(blocks[b] if b < b_count else full)
        up, down = obs[:-m], obs[m:]
        try:
            chol = scipy.linalg.cholesky(up.T @ up, lower=True, check_finite=True)
            ws[b] = scipy.linalg.solve_triangular(chol, np.eye(top), lower=True, check_finite=False)
            zs[b] = ws[b] @ (up.T @ down)
        except (np.linalg.LinAlgError, ValueError):  # not positive definite or not finite: set skipped
            ws[b] = zs[b] = np.nan

    def perturb(orders: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f_sum = np.zeros((b_count, n_modes))
        d_sum = np.zeros((b_count, n_modes))
        hits = np.zeros((b_count, n_modes))
        for order in orders:
            pairs, eig = by_order[order], eigen[order]
            n = eig.state.shape[0]  # the order, or the basis's rank below it
            poles = np.array([p for _, p in pairs])
            r, left = eig.right[:, poles], eig.left[:, poles]
            n_p = poles.size
            # real products of (real | imaginary) parts, all sets at once
            u = ws[:, :n, :n] @ np.concatenate([left.real, -left.imag], axis=1)
            v = zs[:, :n, :n] @ np.concatenate([r.real, r.imag], axis=1)
            la = np.einsum("snp,snp->sp", u[..., :n_p] + 1j * u[..., n_p:], v[..., :n_p] + 1j * v[..., n_p:])
            num = la[:b_count] - la[b_count]  # l^H (A_n^(-b) - A_n) r, (B, P)
            ok = np.isfinite(num).all(axis=1)
            den = np.sum(np.conj(left) * r, axis=0)
            with np.errstate(all="ignore"):
                f, d = modal_parameters(eig.mu[poles][None, :] + num / den[None, :], fs_hz)
            for col, (k, _) in enumerate(pairs):
                f_sum[ok, k] += f[ok, col]
                d_sum[ok, k] += d[ok, col]
                hits[ok, k] += 1.0
        return f_sum, d_sum, hits

    # LAPACK releases the GIL: the sets, then the orders, split over the cores
    # (each thread sums its own orders, so the result does not depend on the split order)
    workers = max(1, min(JACKKNIFE_THREADS, os.cpu_count() or 1))
    orders = sorted(by_order)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(factor_block, range(b_count + 1)))
        parts = list(pool.map(perturb, [orders[w::workers] for w in range(workers)]))
    f_sum = sum((p[0] for p in parts), np.zeros((b_count, n_modes)))
    d_sum = sum((p[1] for p in parts), np.zeros((b_count, n_modes)))
    hits = sum((p[2] for p in parts), np.zeros((b_count, n_modes)))
    seen = hits > 0
    f_est[seen] = f_sum[seen] / hits[seen]
    d_est[seen] = d_sum[seen] / hits[seen]
    factor = (b_count - 1) / b_count
    std_f = np.sqrt(factor * np.sum((f_est - f_est.mean(axis=0)) ** 2, axis=0))
    std_d = np.sqrt(factor * np.sum((d_est - d_est.mean(axis=0)) ** 2, axis=0))
    return std_f, std_d
