"""Streaming covariance accumulator: direct sums as the oracle, split invariance, offsets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quakewatch.ext.covariance import CovarianceAccumulator

pytestmark = pytest.mark.reference


def _direct(y: np.ndarray, refs: list[int], max_lag: int, demean: bool) -> np.ndarray:
    """Textbook unbiased lag covariance, one matrix product per lag."""
    x = y - y.mean(axis=0) if demean else y
    n = x.shape[0]
    return np.stack([x[k:].T @ x[: n - k, refs] / (n - k) for k in range(max_lag + 1)])


def _feed(acc: CovarianceAccumulator, y: np.ndarray, cuts: list[int]) -> None:
    start = 0
    for c in sorted(set(cuts)) + [y.shape[0]]:
        acc.update(y[start:c])
        start = c


def test_sums_equal_direct_time_domain_products():
    rng = np.random.default_rng(1)
    y = rng.standard_normal((7000, 6))
    acc = CovarianceAccumulator(6, 45, ref_channels=[1, 4], block_samples=1500)
    acc.update(y)
    s = acc.sums()
    expected = np.stack([y[k:].T @ (y - s.offset)[: 7000 - k, [1, 4]] for k in range(46)])
    # sums are of offset samples; compare the mean-removed covariances instead
    np.testing.assert_allclose(s.covariances(), _direct(y, [1, 4], 45, True), rtol=0, atol=1e-13)
    assert s.sums.shape == expected.shape
    np.testing.assert_array_equal(s.counts, 7000 - np.arange(46))
    np.testing.assert_allclose(s.variances, y.var(axis=0, ddof=1), rtol=1e-12)


def test_large_dc_offset_costs_no_precision():
    # gravity on a vertical channel and counts offsets: 1e4 times the vibration
    rng = np.random.default_rng(2)
    y = rng.standard_normal((20000, 3)) * 1e-3 + np.array([9.80665, -3.0e1, 0.0])
    acc = CovarianceAccumulator(3, 20)
    acc.update(y)
    np.testing.assert_allclose(acc.sums().covariances(), _direct(y, [0, 1, 2], 20, True), rtol=0, atol=1e-16)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 4999), max_size=12), st.sampled_from([None, 700]))
def test_state_is_bit_identical_for_any_split(cuts, block):
    y = np.random.default_rng(3).standard_normal((5000, 4)) + 2.0
    one = CovarianceAccumulator(4, 25, block_samples=block)
    one.update(y)
    many = CovarianceAccumulator(4, 25, block_samples=block)
    _feed(many, y, cuts)
    a, b = one.sums(), many.sums()
    for name in ("sums", "block_sums", "channel_sums", "channel_sumsq", "head", "tail", "offset"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize("block", [None, 2000])
def test_threaded_fold_of_a_long_update_is_bit_identical_to_the_serial_fold(monkeypatch, block):
    """One long update folds its groups' cross-spectra on THREADS threads (more groups than
    are kept in flight, block boundaries inside); sample-by-segment feeding and a
    single-threaded accumulator take the serial path: every state array must agree
    bit for bit, and with the time-domain oracle."""
    import quakewatch.ext.covariance as cov_mod

    y = np.random.default_rng(11).standard_normal((40_000, 5)) * 3.0 + 7.0
    refs = [0, 3]
    threaded = CovarianceAccumulator(5, 40, ref_channels=refs, block_samples=block)
    assert len(threaded._plan(y.shape[0])) > 2 * cov_mod.THREADS + 1
    threaded.update(y)
    monkeypatch.setattr(cov_mod, "THREADS", 1)
    serial = CovarianceAccumulator(5, 40, ref_channels=refs, block_samples=block)
    serial.update(y)
    trickled = CovarianceAccumulator(5, 40, ref_channels=refs, block_samples=block)
    _feed(trickled, y, list(range(97, y.shape[0], 97)))
    a, b, c = threaded.sums(), serial.sums(), trickled.sums()
    for name in ("sums", "block_sums", "channel_sums", "channel_sumsq", "head", "tail", "offset"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        np.testing.assert_array_equal(getattr(a, name), getattr(c, name), err_msg=name)
    np.testing.assert_allclose(a.covariances(), _direct(y, refs, 40, True), rtol=0, atol=1e-10)


def test_jackknife_blocks_partition_the_record():
    y = np.random.default_rng(4).standard_normal((6000, 3))
    acc = CovarianceAccumulator(3, 10, block_samples=1000)
    acc.update(y)
    s = acc.sums()
    assert s.block_sums.shape[0] == 6000 // (1000 // acc.segment * acc.segment)
    covered = s.block_counts.sum(axis=0)
    assert np.all(covered <= s.counts)
    # leaving a block out is close to the direct estimate on the remaining products
    loo = s.jackknife_covariances()
    assert loo.shape == (s.block_sums.shape[0],) + s.sums.shape
    full = s.covariances()
    assert np.all(np.abs(loo - full[None]).max(axis=(1, 2, 3)) < 0.1)


def test_float32_int_and_no_mutation():
    rng = np.random.default_rng(5)
    y64 = rng.standard_normal((3000, 2))
    y32 = y64.astype(np.float32)
    keep = y32.copy()
    acc = CovarianceAccumulator(2, 8)
    acc.update(y32)
    np.testing.assert_array_equal(y32, keep)
    np.testing.assert_allclose(acc.sums().covariances(), _direct(y32.astype(np.float64), [0, 1], 8, True), atol=1e-12)
    acc_i = CovarianceAccumulator(2, 8)
    acc_i.update((y64 * 1000).astype(np.int32))
    assert np.isfinite(acc_i.sums().covariances()).all()


def test_zero_input_and_short_records_are_finite():
    acc = CovarianceAccumulator(3, 30)
    assert acc.sums().covariances().shape == (31, 3, 3)
    acc.update(np.zeros((10, 3)))
    cov = acc.sums().covariances()
    assert np.isfinite(cov).all() and not cov.any()
    assert acc.n_samples == 10


@pytest.mark.parametrize(
    ("block", "match"),
    [
        (np.zeros((5, 2)), r"block must have shape \(n_samples, 3\)"),
        (np.array([[0.0, np.nan, 1.0]]), r"NaN or Inf \(first at sample 0, channel 1\)"),
        (np.zeros((4, 3), dtype=complex), "real array"),
    ],
)
def test_bad_blocks_are_refused_and_state_kept(block, match):
    acc = CovarianceAccumulator(3, 5)
    acc.update(np.ones((50, 3)))
    before = acc.sums()
    with pytest.raises((ValueError, TypeError), match=match):
        acc.update(block)
    np.testing.assert_array_equal(acc.sums().sums, before.sums)
    assert acc.n_samples == 50


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_channels": 0, "max_lag": 3}, "n_channels must be >= 1"),
        ({"n_channels": 2, "max_lag": 0}, "max_lag must be >= 1"),
        ({"n_channels": 2, "max_lag": 3, "ref_channels": [2]}, r"ref_channels must be distinct indices in \[0, 1\]"),
        ({"n_channels": 2, "max_lag": 3, "ref_channels": [0, 0]}, "distinct"),
    ],
)
def test_constructor_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CovarianceAccumulator(**kwargs)
