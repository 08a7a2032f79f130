"""Block Toeplitz products by FFT and the randomized leading singular subspace, against
the matrix written out from its definition and LAPACK's SVD."""

from __future__ import annotations

import numpy as np
import pytest

from quakewatch.ext import toeplitz as tz

pytestmark = pytest.mark.reference

SHAPES = [(50, 16, 16, 100), (7, 5, 3, 1), (3, 2, 1, 4), (20, 6, 2, 9)]


def _written_out(corr: np.ndarray, i: int) -> np.ndarray:
    """Block (r, c) = R_(i + r - c) (Peeters & De Roeck 1999, eq. 9)."""
    return np.block([[corr[i + r - c] for c in range(i)] for r in range(i)])


@pytest.mark.parametrize(("block_rows", "m", "n_r", "k"), SHAPES)
@pytest.mark.parametrize("chunk_bytes", [None, 1])
def test_fft_products_equal_the_block_toeplitz_matrix(monkeypatch, block_rows, m, n_r, k, chunk_bytes):
    """The jackknife's product (many correlation sets, one right factor) and the operator's
    T @ P and T^T @ Y (one correlation set) against the written-out matrix; one column
    per chunk too."""
    if chunk_bytes is not None:
        monkeypatch.setattr(tz, "PRODUCT_BYTES", chunk_bytes)
    rng = np.random.default_rng(block_rows)
    corr = rng.standard_normal((2 * block_rows + 2, m, n_r))
    t = _written_out(corr, block_rows)
    right = rng.standard_normal((block_rows * n_r, k))
    left = rng.standard_normal((block_rows * m, k))
    tol = 1e-12 * np.abs(t).sum(axis=1).max() * max(np.abs(right).max(), np.abs(left).max())
    np.testing.assert_allclose(tz.ToeplitzProduct(right, block_rows, n_r)(corr), t @ right, rtol=0, atol=tol)
    op = tz.BlockToeplitz(corr, block_rows)
    assert op.shape == t.shape
    np.testing.assert_allclose(op.matmat(right), t @ right, rtol=0, atol=tol)
    np.testing.assert_allclose(op.rmatmat(left), t.T @ left, rtol=0, atol=tol)
    np.testing.assert_array_equal(tz.toeplitz(corr, block_rows), t)
    np.testing.assert_array_equal(op.dense(), t)
    with pytest.raises(ValueError, match="rows"):
        tz.ToeplitzProduct(right[1:], block_rows, n_r)


def test_too_few_lags_are_refused():
    with pytest.raises(ValueError, match=r"block_rows must be in \[1, 5\]"):
        tz.BlockToeplitz(np.zeros((10, 2, 2)), 6)


class _Dense:
    def __init__(self, a: np.ndarray) -> None:
        self.a, self.shape = a, a.shape

    def matmat(self, p: np.ndarray) -> np.ndarray:
        return self.a @ p

    def rmatmat(self, y: np.ndarray) -> np.ndarray:
        return self.a.T @ y


def _graded(n_rows: int, n_cols: int, singular: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.standard_normal((n_rows, singular.size)))[0]
    v = np.linalg.qr(rng.standard_normal((n_cols, singular.size)))[0]
    return (u * singular) @ v.T


def test_leading_singular_pairs_match_lapack_where_the_spectrum_has_a_gap():
    """20 'modes' (1 .. 0.1) above a flat noise floor (1e-3 .. 5e-4): the 20 leading
    singular values to 1e-12 relative and their vectors to 1e-9, as numpy's SVD gives
    them; the input is not modified."""
    s_true = np.concatenate([np.geomspace(1.0, 0.1, 20), np.linspace(1e-3, 5e-4, 280)])
    a = _graded(400, 300, s_true, 1)
    keep = a.copy()
    v, s = tz.leading_singular(_Dense(a), 60)
    np.testing.assert_array_equal(a, keep)
    _, s_ref, vt_ref = np.linalg.svd(a)
    assert s.shape == (60,) and v.shape == (300, 60)
    np.testing.assert_allclose(s[:20], s_ref[:20], rtol=1e-12)
    align = np.abs(np.sum(v[:, :20] * vt_ref[:20].T, axis=0))  # |cos| of each vector pair
    np.testing.assert_allclose(align, 1.0, atol=1e-9)
    np.testing.assert_allclose(v.T @ v, np.eye(60), atol=1e-12)
    assert np.all(np.diff(s) <= 0)
    # a projection never exceeds the true values (interlacing): s_j <= sigma_j
    assert np.all(s <= s_ref[:60] * (1 + 1e-12)) and s[20:].min() >= s_ref[-1]


def test_leading_singular_drops_what_is_below_1e_7_of_the_largest():
    """An exactly rank-6 matrix (as exact covariances of 3 modes give): 6 values."""
    a = _graded(80, 60, np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.1]), 2)
    v, s = tz.leading_singular(_Dense(a), 30)
    assert s.size == 6 and v.shape == (60, 6)
    np.testing.assert_allclose(s, [5.0, 3.0, 2.0, 1.0, 0.5, 0.1], rtol=1e-12)


def test_leading_singular_is_deterministic():
    a = _graded(120, 100, np.geomspace(1, 1e-4, 100), 3)
    first, second = tz.leading_singular(_Dense(a), 40), tz.leading_singular(_Dense(a), 40)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
