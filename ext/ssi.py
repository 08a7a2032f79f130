"""Covariance-driven stochastic subspace identification (SSI-cov) with reference channels.

From output correlations ``R_k = E[y(t + k) y_ref(t)^T]`` (``ext/covariance.py``) the
block Toeplitz matrix with ``i`` block rows (Peeters & De Roeck 1999, eq. 9)

    T_1|i = [[R_i,      R_(i-1), ..., R_1],
             [R_(i+1),  R_i,     ..., R_2],
             ...
             [R_(2i-1), ...,          R_i]]   = O_i C_i^ref

factorises into the observability matrix ``O_i`` (``i m x n``) and the reversed
reference controllability matrix.  A truncated SVD ``T = U S V^T`` gives
``O_i = U_n S_n^(1/2)`` for each model order ``n`` (eq. 12); the state matrix follows
from the shift structure of ``O_i`` by least squares, ``A = O_up^+ O_down`` (the
"shift" variant, Reynders 2012, sec. 3.2), and the output matrix ``C`` is the first
block row of ``O_i``.  Eigenvalues ``mu`` of ``A`` give continuous poles
``lambda = fs ln(mu)``, frequencies ``|lambda| / 2 pi``, damping ratios
``-Re(lambda) / |lambda|``, and mode shapes ``C psi``.

One SVD serves every model order: ``O`` of order ``n`` is the first ``n`` columns.

References
----------
Peeters & De Roeck (1999), Reference-based stochastic subspace identification for
    output-only modal analysis, Mech. Syst. Signal Process. 13(6), 855-878.
Reynders (2012), System identification methods for (operational) modal analysis:
    review and comparison, Arch. Comput. Methods Eng. 19, 51-124.
Pappa, Elliott & Schenk (1993), Consistent-mode indicator for the eigensystem
    realization algorithm, J. Guid. Control Dyn. 16(5) (modal phase collinearity, MPC).
Van Overschee & De Moor (1996), Subspace Identification for Linear Systems, Kluwer
    (weightings; CVA).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.linalg

from .toeplitz import BlockToeplitz, check_rows, leading_singular

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Poles:
    """Physical poles of every model order, flattened (one row per pole).

    Attributes
    ----------
    orders : ndarray of int, shape (n_poles,)
    frequencies_hz, damping_ratios : ndarray, shape (n_poles,)
    mode_shapes : complex ndarray, shape (n_poles, n_channels)
        Unit-norm, rotated so that the largest component is real and positive.
    mpc : ndarray, shape (n_poles,)
        Modal phase collinearity in [0, 1] (1: real mode shape).
    """

    orders: npt.NDArray[np.int64]
    frequencies_hz: FloatArray
    damping_ratios: FloatArray
    mode_shapes: npt.NDArray[np.complex128]
    mpc: FloatArray


def output_covariance_factor(correlations: FloatArray, block_rows: int,
                             n_samples: int | npt.ArrayLike | None = None) -> FloatArray:
    """Lower Cholesky factor ``L`` of the covariance of ``i`` consecutive outputs,
    block ``(r, c) = R_(r - c)`` (``R_(-k) = R_k^T``), from correlations against every
    channel in channel order (shape ``(lags, m, m)``).

    The past references of the Toeplitz matrix are the same ``i`` consecutive outputs
    (its block columns run forward in time), so one factor weights both sides: the CVA
    weighting ``L^-1 T L^-T`` (Van Overschee & De Moor 1996, sec. 3.3 and 4.3; Peeters &
    De Roeck 1999, sec. 3) whose singular values are the canonical correlations between
    past and future.

    With ``n_samples`` the lags are those of the biased estimator, ``R_k (1 - k / N)``,
    whose block Toeplitz matrix is positive semi-definite (Brockwell & Davis 1991, sec.
    7.2); unbiased lags of a short record need not be.  ``n_samples`` may also be the
    products per lag (``CorrelationSums.counts``, a record with gaps): the taper is then
    ``counts_k / counts_0``, the biased estimator summed over the runs.  A matrix that is
    still numerically singular (a nearly noise-free record of few modes) gets a ridge of
    ``1e-10``, then ``1e-7``, of its mean diagonal; ``numpy.linalg.LinAlgError`` if that
    does not suffice.
    """
    i = check_rows(correlations, block_rows)
    _, m, n_r = correlations.shape
    if n_r != m:
        raise ValueError(f"CVA weighting needs every channel as a reference ({m}), got {n_r}")
    if n_samples is None:
        taper = np.ones(i)
    elif np.ndim(n_samples) == 0:
        taper = np.clip(1.0 - np.arange(i) / float(n_samples), 0.0, 1.0)  # type: ignore[arg-type]
    else:
        counts = np.asarray(n_samples, dtype=np.float64)[:i]
        taper = counts / counts[0] if counts[0] > 0 else np.zeros(i)
    lags = correlations[:i] * taper[:, None, None]
    # R_-(i-1) .. R_0 .. R_(i-1), then block (r, c) is entry r - c + i - 1 of that sequence
    both = np.concatenate([lags[:0:-1].transpose(0, 2, 1), lags])
    index = np.subtract.outer(np.arange(i), np.arange(i)) + i - 1
    blocks = both[index].transpose(0, 2, 1, 3).reshape(i * m, i * m)
    blocks = 0.5 * (blocks + blocks.T)
    scale = float(np.mean(np.diag(blocks)))
    for ridge in (0.0, 1e-10, 1e-7):
        try:
            return scipy.linalg.cholesky(blocks + ridge * scale * np.eye(i * m), lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            continue
    raise np.linalg.LinAlgError("the output covariance matrix is not positive definite")


def observability_basis(t: FloatArray | BlockToeplitz, max_order: int, *, right: bool = False,
                        weight: FloatArray | None = None) -> Any:
    """``U_n S_n^(1/2)`` for the largest order ``n = max_order`` (columns in order); with
    ``right=True`` also ``V_n`` and the singular values ``S_n``.

    For a dense ``t`` the leading right singular pairs come from the ``n`` largest
    eigenpairs of the smaller Gram matrix ``T^T T`` (LAPACK ``syevr`` on a subset), then
    ``U_n S_n^(1/2) = T V_n S_n^(-1/2)``: for the few dozen orders needed this is
    several times cheaper than a full SVD.  Squaring the condition number costs
    nothing here: components below ``1e-7`` of the largest singular value (which the
    squaring would blur) are dropped, far below any physical mode.

    For a :class:`~quakewatch.ext.toeplitz.BlockToeplitz` operator (the default of
    :func:`~quakewatch.ext.modal.identify`) they come from FFT products alone by
    randomized subspace iteration (:func:`~quakewatch.ext.toeplitz.leading_singular`):
    the tridiagonal reduction of the ``i n_r``-square Gram matrix (50 ms of LAPACK at
    800, single-threaded) is the one cubic step it avoids.

    With ``weight`` (the factor ``L`` of :func:`output_covariance_factor`) the SVD is of
    ``L^-1 T L^-T`` and the basis is ``L U_n S_n^(1/2)``; the returned right vectors
    are then ``L^-T V_n``, so that in both cases the basis is ``T @ right / sqrt(S_n)``
    (the form the jackknife uses).
    """
    if isinstance(t, BlockToeplitz):
        if weight is not None:
            return observability_basis(t.dense(), max_order, right=right, weight=weight)
        v, s = leading_singular(t, min(max_order, t.shape[1]))
        obs = t.matmat(v / np.sqrt(s))
        return (obs, v, s) if right else obs
    if weight is not None:
        tw = scipy.linalg.solve_triangular(weight, t, lower=True, check_finite=False)
        tw = scipy.linalg.solve_triangular(weight, tw.T, lower=True, check_finite=False).T
        _, v, s = observability_basis(tw, max_order, right=True)
        v = scipy.linalg.solve_triangular(weight, v, lower=True, trans="T", check_finite=False)
        obs = (t @ v) / np.sqrt(s)
        return (obs, v, s) if right else obs
    if t.shape[1] > t.shape[0]:
        t = t.T  # not reached for Toeplitz matrices with n_refs <= n_channels
    gram = t.T @ t
    c = gram.shape[0]
    n = min(max_order, c)
    w, v = scipy.linalg.eigh(gram, subset_by_index=[c - n, c - 1], driver="evr", check_finite=False)
    w, v = w[::-1], v[:, ::-1]
    keep = w > (w[0] if w.size else 0.0) * 1e-14
    w, v = w[keep], v[:, keep]
    obs = (t @ v) / np.sqrt(np.sqrt(w))
    return (obs, v, np.sqrt(w)) if right else obs


def mpc(shapes: npt.NDArray[np.complex128]) -> FloatArray:
    """Modal phase collinearity of each row of ``shapes`` (Pappa et al. 1993)."""
    re, im = shapes.real, shapes.imag
    sxx = np.einsum("ij,ij->i", re, re)
    syy = np.einsum("ij,ij->i", im, im)
    sxy = np.einsum("ij,ij->i", re, im)
    den = (sxx + syy) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        out = ((sxx - syy) ** 2 + 4 * sxy**2) / den
    return np.where(den > 0, out, 0.0)


def normalise_shapes(shapes: npt.NDArray[np.complex128]) -> npt.NDArray[np.complex128]:
    """Unit norm, largest component real and positive (rows)."""
    k = np.abs(shapes).argmax(axis=1)
    peak = shapes[np.arange(shapes.shape[0]), k]
    mag = np.abs(peak)
    rotation = np.conj(peak) / np.where(mag > 0, mag, 1.0)  # zero rows stay zero
    norm = np.linalg.norm(shapes, axis=1)
    return shapes * (rotation / np.where(norm > 0, norm, 1.0))[:, None]


class ShiftSolver:
    """``A_n = O_up(n)^+ O_down(n)`` for every order from one QR of ``O_up``.

    With ``O_up = Q R``, the leading ``n`` columns satisfy ``O_up(n) = Q_n R_nn``, so the
    least-squares solution is ``R_nn^-1 (Q^T O_down)_nn``: one QR and one product serve
    all orders, each order costs a triangular solve.
    """

    def __init__(self, obs: FloatArray, m: int) -> None:
        self.obs, self.m = obs, m
        q, self.r = scipy.linalg.qr(obs[:-m], mode="economic", check_finite=False)
        self.qtd = q.T @ obs[m:]

    def state_matrix(self, n: int) -> FloatArray:
        return scipy.linalg.solve_triangular(self.r[:n, :n], self.qtd[:n, :n], check_finite=False)


@dataclass(frozen=True, eq=False)
class OrderEigen:
    """Eigen-decomposition of the state matrix of one order (upper-half-plane poles only).

    ``right[:, p]`` and ``left[:, p]`` are the right and left eigenvectors of ``mu[p]``
    (``left^H A = mu left^H``), kept for first-order perturbation of the poles.
    """

    state: FloatArray
    mu: npt.NDArray[np.complex128]
    right: npt.NDArray[np.complex128]
    left: npt.NDArray[np.complex128]


def eigen_of_order(solver: ShiftSolver, n: int) -> OrderEigen | None:
    """Eigenvalues and left/right eigenvectors of ``A_n``; ``None`` when ``A_n`` is not finite."""
    with np.errstate(all="ignore"):
        a = solver.state_matrix(n)
    if not np.isfinite(a).all():
        return None
    # NumPy's eig and inv release the GIL (orders are solved on two threads); the left
    # eigenvectors are the rows of V^-1 (W^H V = I), which is all the perturbation
    # formula needs
    try:
        mu, right = np.linalg.eig(a)
        inv = np.linalg.inv(right)
    except np.linalg.LinAlgError:  # no eigenvector basis (defective): LAPACK's own left vectors
        mu, left, right = scipy.linalg.eig(a, left=True, right=True, check_finite=False)
        inv = np.conj(left).T
    keep = mu.imag > 0  # one of each conjugate pair; real eigenvalues are not oscillatory modes
    return OrderEigen(a, mu[keep], right[:, keep], np.conj(inv[keep, :]).T)


def modal_parameters(mu: npt.ArrayLike, fs_hz: float) -> tuple[FloatArray, FloatArray]:
    """Frequencies (Hz) and damping ratios of discrete poles ``mu`` (``lambda = fs ln mu``)."""
    lam = np.log(np.asarray(mu, dtype=np.complex128)) * fs_hz
    freq = np.abs(lam) / (2 * np.pi)
    with np.errstate(invalid="ignore", divide="ignore"):
        damp = -lam.real / np.abs(lam)
    return freq, damp
