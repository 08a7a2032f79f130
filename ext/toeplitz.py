"""The block Toeplitz matrix of SSI-cov: dense, as an FFT operator, and its leading
singular subspace.

``T_1|i`` (Peeters & De Roeck 1999, eq. 9) has block ``(r, c) = R_(i + r - c)``, so a
product with it is a convolution over the lag index: every index ``i + r - c`` lies in
``1 .. 2i - 1`` and a circular convolution of any length ``L >= 2i`` gives the needed
lags without wrap-around (Oppenheim & Schafer, Discrete-Time Signal Processing, 3rd
ed., sec. 8.7).  Per product this costs ``L / 2 + 1`` complex ``m x n_r x K`` matrix
products instead of ``i`` real ``i m x n_r x K`` ones: about 10x fewer operations at
``i = 50``.

:func:`leading_singular` finds the model orders' singular subspace from such products
alone (randomized subspace iteration), so the ``i m x i n_r`` matrix is never formed
and no cubic eigenproblem of its size is solved.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt
import scipy.fft
import scipy.linalg

FloatArray = npt.NDArray[np.float64]

#: largest spectrum of a Toeplitz product held at once (bytes; the product is chunked by columns)
PRODUCT_BYTES = 2 * 2**20
#: extra columns of the randomized subspace beyond the requested rank
OVERSAMPLE = 30
#: power (subspace) iterations of :func:`leading_singular` (2 gave 3-12 % larger jackknife
#: deviations on the upper modes of the X/Y building of benchmarks/modal_accuracy.py; 3
#: costs 5 ms more at 16 channels)
POWER_ITERATIONS = 3


def check_rows(correlations: FloatArray, block_rows: int) -> int:
    """``block_rows`` as an int that ``correlations`` (lags ``0 .. 2i - 1`` needed) supports."""
    i = int(block_rows)
    lags = correlations.shape[0]
    if i < 1 or 2 * i - 1 >= lags:
        raise ValueError(f"block_rows must be in [1, {lags // 2}] for {lags - 1} lags, got {block_rows}")
    return i


def toeplitz(correlations: FloatArray, block_rows: int) -> FloatArray:
    """Block Toeplitz ``T_1|i`` from ``correlations[k] = R_k`` (needs lags up to ``2i - 1``).

    Block column ``b`` is ``R_(i-b) .. R_(2i-1-b)`` stacked, i.e. the contiguous slice
    ``correlations[i - b: 2i - b]`` seen as an ``(i m, n_r)`` matrix: the matrix is
    filled column block by column block, with no intermediate copy.
    """
    i = check_rows(correlations, block_rows)
    _, m, n_r = correlations.shape
    out = np.empty((i * m, i * n_r))
    for b in range(i):
        out[:, b * n_r:(b + 1) * n_r] = correlations[i - b: 2 * i - b].reshape(i * m, n_r)
    return out


def _convolve(a_f: npt.NDArray[np.complex128], p_f: npt.NDArray[np.complex128], i: int, length: int) -> FloatArray:
    """Lags ``i .. 2i - 1`` of the convolution whose spectra are ``a_f`` (F, rows, inner)
    and ``p_f`` (F, inner, K), as ``(i * rows, K)``; the spectrum of the product is made
    in column chunks of at most :data:`PRODUCT_BYTES`."""
    n_f, rows, _ = a_f.shape
    k = p_f.shape[2]
    out = np.empty((i, rows, k))
    step = max(1, PRODUCT_BYTES // (16 * n_f * rows))
    for c in range(0, k, step):
        out[:, :, c: c + step] = scipy.fft.irfft(a_f @ p_f[:, :, c: c + step], n=length, axis=0)[i: 2 * i]
    return out.reshape(i * rows, k)


class ToeplitzProduct:
    """``T_1|i @ right`` for many correlation sequences and one ``right`` (the
    jackknife's delete-one sets), by FFT: block row ``r`` of the product is
    ``sum_c R_(i + r - c) P_c`` with ``P_c`` the ``c``-th ``n_r``-row block of ``right``,
    the lags ``i .. 2i - 1`` of the convolution of ``R_0 .. R_(2i-1)`` with
    ``P_0 .. P_(i-1)``.  ``right`` is transformed once.
    """

    def __init__(self, right: FloatArray, block_rows: int, n_refs: int) -> None:
        i, n_r = int(block_rows), int(n_refs)
        if right.ndim != 2 or right.shape[0] != i * n_r:
            raise ValueError(f"right must have {i * n_r} rows (block_rows x n_refs), got shape {right.shape}")
        self.block_rows, self.columns = i, right.shape[1]
        self.length = scipy.fft.next_fast_len(2 * i, real=True)
        self._right_f = scipy.fft.rfft(right.reshape(i, n_r, self.columns), n=self.length, axis=0)

    def __call__(self, correlations: FloatArray) -> FloatArray:
        i = self.block_rows
        a = np.asarray(correlations, dtype=np.float64)[: 2 * i]
        n_r = self._right_f.shape[1]
        if a.shape[0] < 2 * i or a.shape[2] != n_r:
            raise ValueError(f"correlations must hold lags 0..{2 * i - 1} with {n_r} references, got shape {a.shape}")
        return _convolve(scipy.fft.rfft(a, n=self.length, axis=0), self._right_f, i, self.length)


class BlockToeplitz:
    """``T_1|i`` of one correlation sequence as an operator: ``T @ P`` and ``T^T @ Y`` by
    FFT (the correlations transformed once), without forming the matrix.

    ``T^T`` has block ``(c, r) = R_(i + r - c)^T``: with the blocks of ``Y`` reversed
    (``Y~_t = Y_(i-1-t)``), block ``c`` of ``T^T Y`` is lag ``2i - 1 - c`` of the
    convolution of ``R^T`` with ``Y~``, the same lags ``i .. 2i - 1`` read backwards.
    """

    def __init__(self, correlations: FloatArray, block_rows: int) -> None:
        a = np.asarray(correlations, dtype=np.float64)
        i = check_rows(a, block_rows)
        _, self.m, self.n_refs = a.shape
        self.block_rows = i
        self.shape = (i * self.m, i * self.n_refs)
        self.length = scipy.fft.next_fast_len(2 * i, real=True)
        self._a = np.array(a[: 2 * i])  # a snapshot: the caller may reuse its array
        self._a_f = scipy.fft.rfft(self._a, n=self.length, axis=0)  # (F, m, n_r)

    def matmat(self, p: FloatArray) -> FloatArray:
        """``T @ p`` for ``p`` of shape ``(i n_r, K)``."""
        i, k = self.block_rows, p.shape[1]
        p_f = scipy.fft.rfft(p.reshape(i, self.n_refs, k), n=self.length, axis=0)
        return _convolve(self._a_f, p_f, i, self.length)

    def rmatmat(self, y: FloatArray) -> FloatArray:
        """``T^T @ y`` for ``y`` of shape ``(i m, K)``."""
        i, k = self.block_rows, y.shape[1]
        y_f = scipy.fft.rfft(y.reshape(i, self.m, k)[::-1], n=self.length, axis=0)
        out = _convolve(self._a_f.transpose(0, 2, 1), y_f, i, self.length).reshape(i, self.n_refs, k)
        return np.ascontiguousarray(out[::-1]).reshape(i * self.n_refs, k)

    def dense(self) -> FloatArray:
        """The matrix itself (:func:`toeplitz`)."""
        return toeplitz(self._a, self.block_rows)


class LinearOperator(Protocol):
    shape: tuple[int, int]

    def matmat(self, p: FloatArray) -> FloatArray: ...

    def rmatmat(self, y: FloatArray) -> FloatArray: ...


def _orth(y: FloatArray) -> FloatArray:
    return np.linalg.qr(y)[0]


def _renormalise(y: FloatArray) -> FloatArray:
    """A well-conditioned basis of the columns of ``y``: the unit lower-triangular factor
    of partial-pivoting LU (permuted back), at a quarter of a QR's cost; enough between
    power iterations, where only the span matters (the LU normaliser of scikit-learn's
    ``randomized_range_finder``, after Li, Linderman, Szlam, Stanton, Kluger & Tygert
    2017, "An implementation of a randomized algorithm for principal component
    analysis", ACM Trans. Math. Softw. 43(3))."""
    return scipy.linalg.lu(y, permute_l=True, check_finite=False)[0]


def leading_singular(op: LinearOperator, rank: int, *, oversample: int = OVERSAMPLE,
                     power_iterations: int = POWER_ITERATIONS, seed: int = 0) -> tuple[FloatArray, FloatArray]:
    """The ``rank`` leading right singular vectors ``V`` (columns, descending) and
    singular values of ``op``, by randomized subspace iteration (Halko, Martinsson &
    Tropp 2011, SIAM Rev. 53(2), Algorithms 4.4 and 5.1): ``Q = orth((T T^T)^q T Omega)``
    with ``rank + oversample`` Gaussian columns (seeded: the result is deterministic),
    then the exact SVD of ``Q^T T`` from the eigen-decomposition of its small Gram
    matrix.  Singular values below ``1e-7`` of the largest are dropped (as the dense
    path does).

    Accuracy: each singular pair converges with the ratio
    ``(sigma_(l+1) / sigma_j)^(2q + 1)``; a structure's modes stand orders of magnitude
    above the noise floor of the Toeplitz matrix and come out to rounding, while the
    noise directions that fill the higher model orders are a near-optimal rather than
    the optimal subspace (``||T - Q Q^T T||`` within a small factor of
    ``sigma_(rank+1)``, op. cit. sec. 10).  On a 16-channel, 30-min record
    (i = 50, rank 100) the first 30 singular values agree with LAPACK's to 1e-6, the
    50th to 6e-4 and the 100th to 1e-2; the noise singular values are nearly
    degenerate, so their exact subspace is itself at the mercy of the record's noise.
    What the SSI estimates make of it is measured in ``benchmarks/modal_accuracy.py``
    (``--svd exact`` for the dense path; README).
    """
    n_rows, n_cols = op.shape
    width = min(rank + oversample, n_rows, n_cols)
    omega = np.random.default_rng(seed).standard_normal((n_cols, width))
    y = op.matmat(omega)
    for _ in range(power_iterations):
        y = op.matmat(_renormalise(op.rmatmat(_renormalise(y))))
    bt = op.rmatmat(_orth(y))  # (Q^T T)^T
    w, u = np.linalg.eigh(bt.T @ bt)
    w, u = w[::-1][:rank], u[:, ::-1][:, :rank]
    keep = w > (w[0] if w.size else 0.0) * 1e-14
    s = np.sqrt(w[keep])
    return (bt @ u[:, keep]) / s, s
