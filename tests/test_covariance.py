"""Streaming covariance accumulator: direct sums as the oracle, split invariance, offsets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quakewatch.ext.covariance import CovarianceAccumulator, finite_runs

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


# ------------------------------------------------------------------------ gaps


def _direct_runs(runs: list[np.ndarray], refs: list[int], max_lag: int, mu: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Textbook lag sums within each run (no product spans a gap) of ``y - mu[run]``, and
    their counts."""
    sums = np.zeros((max_lag + 1, runs[0].shape[1], len(refs)))
    counts = np.zeros(max_lag + 1)
    for y, level in zip(runs, mu):
        x, n = y - level, y.shape[0]
        for k in range(min(max_lag + 1, n)):
            sums[k] += x[k:].T @ x[: n - k, refs]
            counts[k] += n - k
    return sums, counts


RUN_LENGTHS = [1700, 13, 0, 2900, 5, 60, 2222]  # runs shorter than the lags, an empty one


def _runs(seed: int = 21) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    # each run with its own DC level, as after a logger restart
    return [rng.standard_normal((n, 4)) * 2.0 + rng.uniform(-5, 5, 4) for n in RUN_LENGTHS]


def _feed_runs(acc: CovarianceAccumulator, runs: list[np.ndarray], step: int | None = None) -> None:
    acc.gap()  # before any sample: nothing
    for y in runs:
        for a in range(0, y.shape[0], step or max(1, y.shape[0])):
            acc.update(y[a: a + (step or y.shape[0])])
        acc.gap()
        acc.gap()  # a second gap in a row: nothing


def _levelled(runs: list[np.ndarray], seg: int) -> list[np.ndarray]:
    """Each run less the mean of its first segment (its DC level)."""
    return [y - y[:seg].mean(axis=0) for y in runs if y.shape[0]]


@pytest.mark.parametrize("block", [None, 1500])
def test_gaps_no_lag_product_spans_a_gap(block):
    """Lag sums, counts and mean-removed covariances of a record with gaps are those of
    the textbook sums taken within each run, each run levelled by the mean of its first
    segment; the mean then removed is over every levelled sample."""
    runs, refs, lag = _runs(), [0, 3], 40
    acc = CovarianceAccumulator(4, lag, ref_channels=refs, block_samples=block)
    _feed_runs(acc, runs)
    s = acc.sums()
    n_real = sum(RUN_LENGTHS)
    assert s.n_samples == acc.n_samples == n_real and s.n_runs == 6  # the empty run is not a run
    kept = [y for y in runs if y.shape[0]]
    np.testing.assert_allclose(s.run_offsets, [y[: acc.segment].mean(axis=0) for y in kept], rtol=0, atol=1e-13)
    raw, counts = _direct_runs(kept, refs, lag, list(s.run_offsets))
    np.testing.assert_array_equal(s.counts, counts)
    np.testing.assert_allclose(s.sums, raw, rtol=0, atol=1e-9)
    level = _levelled(kept, acc.segment)
    mu = np.concatenate(level).mean(axis=0)
    centred, _ = _direct_runs(level, refs, lag, [mu] * len(level))
    np.testing.assert_allclose(s.covariances(), centred / counts[:, None, None], rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.variances, np.concatenate(level).var(axis=0, ddof=1), rtol=1e-12)


def test_gap_blocks_hold_the_products_of_their_positions():
    """Jackknife blocks with gaps: a run starts at the first segment boundary after the
    previous run's end (the padding of the module docstring); each block's sums are the
    products whose later sample lies at its positions."""
    runs, refs, lag = _runs(5), [1, 2], 30
    acc = CovarianceAccumulator(4, lag, ref_channels=refs, block_samples=1200)
    _feed_runs(acc, runs)
    s = acc.sums()
    seg = acc.segment
    span = 1200 // seg * seg
    starts, pos = [], 0
    for y in runs:
        starts.append(pos)
        pos = -(-(pos + y.shape[0]) // seg) * seg if y.shape[0] else pos
    assert s.block_sums.shape[0] >= 3
    for b in range(s.block_sums.shape[0]):
        want = np.zeros(s.block_sums.shape[1:])
        cnt = np.zeros(s.block_sums.shape[1])
        for y, p, level in zip([y for y in runs if y.shape[0]], [p for y, p in zip(runs, starts) if y.shape[0]], s.run_offsets):
            x = y - level
            for k in range(min(lag + 1, y.shape[0])):
                t = np.arange(k, y.shape[0])
                inside = t[(p + t >= b * span) & (p + t < (b + 1) * span)]
                want[k] += x[inside].T @ x[inside - k][:, refs]
                cnt[k] += inside.size
        np.testing.assert_allclose(s.block_sums[b], want, rtol=0, atol=1e-9, err_msg=f"block {b}")
        np.testing.assert_array_equal(s.block_counts[b], cnt)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 3000), st.sampled_from([None, 900]))
def test_state_with_gaps_is_bit_identical_for_any_split(step, block):
    runs = _runs(8)
    one = CovarianceAccumulator(4, 25, ref_channels=[2], block_samples=block)
    _feed_runs(one, runs)
    many = CovarianceAccumulator(4, 25, ref_channels=[2], block_samples=block)
    _feed_runs(many, runs, step)
    a, b = one.sums(), many.sums()
    for name in ("sums", "counts", "block_sums", "block_counts", "channel_sums", "channel_sumsq", "head", "tail", "offset",
                 "run_offsets"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_finite_runs_nan_rows_are_gaps_inf_is_refused():
    x = np.zeros((10, 2))
    x[0, 1] = x[4:6, 0] = x[9] = np.nan
    assert finite_runs(x) == [(1, 4), (6, 9)]
    assert finite_runs(np.zeros((5, 2), dtype=np.int16)) == [(0, 5)]
    assert finite_runs(np.full((3, 2), np.nan)) == []
    assert finite_runs(np.full((3, 2), 1e308)) == [(0, 3)]  # the row sums overflow, the samples are finite
    x[7, 1] = -np.inf
    with pytest.raises(ValueError, match=r"infinite value \(first at sample 7, channel 1\)"):
        finite_runs(x)


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
