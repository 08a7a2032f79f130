"""Tests of the per-channel data-quality kernel ``quakewatch.ext.quality``.

Oracles:

* ``twin_block_quality`` below: a slow, plain-Python/NumPy implementation of the
  definitions in the ``quality`` module docstring, written without looking at
  the compiled kernel's structure (no fast path, no shift, no even/odd sums).
  Compared per dtype on seeded random blocks with NaN/Inf, clipping, flat runs
  and spikes injected.
* Hand-computed values (``reference``): constant block, one spike on a flat
  line, ramp, alternating signal, boundary spikes, clipping, non-finite samples.
* Split invariance (hypothesis): a stream cut anywhere gives the same carry and
  runs as one block, and sparse spikes are each found exactly once.
"""

from __future__ import annotations

import dataclasses
import math
import struct

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quakewatch.ext import _quality
from quakewatch.ext.quality import BlockQuality, ChannelCarry, block_quality

DTYPES = [np.float32, np.float64, np.int32]
DTYPE_IDS = ["float32", "float64", "int32"]

# Relative tolerance on mean/rms against the twin, per dtype.  Every dtype is
# accumulated in float64, so the budget is the same: the kernel's shifted
# one-pass sums lose at most log10(n + 1) digits against NumPy's pairwise sums.
RTOL: dict[npt.DTypeLike, float] = {np.float32: 1e-10, np.float64: 1e-10, np.int32: 1e-10}


# --------------------------------------------------------------------------
# The twin: obviously-correct, slow.
# --------------------------------------------------------------------------


@dataclasses.dataclass
class TwinChannel:
    first_nonfinite: int
    minimum: float
    maximum: float
    mean: float
    rms: float
    n_clipped: int
    longest_run: int
    n_spikes: int
    last: float
    last2: float
    run: int


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


def twin_channel(
    x: npt.NDArray[np.float64],
    clip: float,
    last: float,
    last2: float,
    run: int,
    spike_factor: float,
) -> TwinChannel:
    """One channel, straight from the definitions (x already float64)."""
    values = [float(v) for v in x]
    n = len(values)

    first_nonfinite = -1
    for i, v in enumerate(values):
        if not math.isfinite(v):
            first_nonfinite = i
            break

    finite = np.array([v for v in values if math.isfinite(v)], dtype=np.float64)
    if finite.size:
        minimum, maximum = float(finite.min()), float(finite.max())
        mean, rms = float(np.mean(finite)), float(np.std(finite))
    else:
        minimum = maximum = math.nan
        mean = rms = 0.0
    n_clipped = sum(1 for v in finite if abs(v) >= clip) if clip > 0 else 0

    current, longest, previous = run, 0, last
    for v in values:
        current = current + 1 if _bits(v) == _bits(previous) else 1
        longest = max(longest, current)
        previous = v

    # stream positions -2, -1 (carry), 0 .. n-1; judge every centre whose right
    # neighbour is in this block
    stream = [last2, last, *values]
    windows = [(stream[i - 1], stream[i], stream[i + 1]) for i in range(1, len(stream) - 1)]
    defined = []
    for a, b, c in windows:
        d = abs(a - 2.0 * b + c)
        if math.isfinite(d):
            defined.append((a, c, d))
    scale = math.fsum(d for _, _, d in defined) / len(defined) if defined else 0.0
    n_spikes = 0
    if scale > 0:
        for a, c, d in defined:
            if d > spike_factor * scale and 2.0 * abs(c - a) < d:
                n_spikes += 1

    if n == 0:
        new_last, new_last2, new_run = last, last2, run
    else:
        new_last, new_last2, new_run = stream[-1], stream[-2], current
    return TwinChannel(
        first_nonfinite, minimum, maximum, mean, rms, n_clipped,
        longest if n else 0, n_spikes, new_last, new_last2, new_run,
    )


def twin_block_quality(
    data: np.ndarray,
    clip_level: float | np.ndarray,
    carry: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    spike_factor: float,
) -> list[TwinChannel]:
    x = np.atleast_2d(np.asarray(data)).astype(np.float64)  # exact for all three dtypes
    n_channels = x.shape[0]
    clips = np.broadcast_to(np.asarray(clip_level, dtype=np.float64), (n_channels,))
    if carry is None:
        carry = (np.full(n_channels, np.nan), np.full(n_channels, np.nan),
                 np.zeros(n_channels, dtype=np.int64))
    last, last2, run = carry
    return [
        twin_channel(x[c], float(clips[c]), float(last[c]), float(last2[c]), int(run[c]),
                     spike_factor)
        for c in range(n_channels)
    ]


def twin_carry(channels: list[TwinChannel]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([t.last for t in channels], dtype=np.float64),
            np.array([t.last2 for t in channels], dtype=np.float64),
            np.array([t.run for t in channels], dtype=np.int64))


def assert_matches_twin(
    got: BlockQuality, want: list[TwinChannel], data: np.ndarray, rtol: float
) -> None:
    field = lambda name: np.array([getattr(t, name) for t in want])  # noqa: E731
    for name in ("first_nonfinite", "n_clipped", "longest_run", "n_spikes"):
        np.testing.assert_array_equal(getattr(got, name), field(name), err_msg=name)
    np.testing.assert_array_equal(got.carry.run, field("run"), err_msg="carry.run")
    for name in ("minimum", "maximum"):
        np.testing.assert_array_equal(getattr(got, name), field(name), err_msg=name)
    np.testing.assert_array_equal(
        got.carry.last.view(np.uint64), field("last").view(np.uint64), err_msg="carry.last"
    )
    np.testing.assert_array_equal(
        got.carry.last2.view(np.uint64), field("last2").view(np.uint64), err_msg="carry.last2"
    )
    # mean and rms: relative to the channel's magnitude (a zero-mean channel
    # has a mean of rounding size)
    x = np.atleast_2d(data).astype(np.float64)
    with np.errstate(invalid="ignore"):
        scale = np.array([np.max(np.abs(r[np.isfinite(r)]), initial=0.0) for r in x])
    for name in ("mean", "rms"):
        g, w = getattr(got, name), field(name)
        assert np.all(np.isfinite(g)), name
        err = np.abs(g - w)
        bound = rtol * (np.abs(w) + scale)
        assert np.all(err <= bound), f"{name}: err {err} > {bound}"


# --------------------------------------------------------------------------
# Random blocks with everything injected.
# --------------------------------------------------------------------------

N_CHANNELS = 16


def make_block(
    rng: np.random.Generator, dtype: npt.DTypeLike, n_samples: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """(data, per-channel clip level); channel roles fixed by index."""
    t = np.arange(n_samples)
    amp = 10.0 ** rng.uniform(0.5, 4.0, N_CHANNELS)
    x = rng.normal(size=(N_CHANNELS, n_samples)) * amp[:, None]
    x[1] = amp[1] * np.sin(2 * np.pi * 0.01 * t + rng.uniform(0, 6)) + 0.01 * x[1]  # smooth
    x[2] += 1e5                                                  # DC offset
    x[3] = 0.0                                                   # dead channel
    x[4] = 17.0                                                  # stuck channel
    for c in (1, 5, 12):                                         # spikes, incl. edges
        where = rng.choice(n_samples, size=min(4, n_samples), replace=False).tolist()
        where += [0, 1, n_samples - 2]
        for i in where:
            x[c, i] += rng.choice([-1, 1]) * 300 * amp[c]
    for _ in range(3):                                           # flat runs
        a = int(rng.integers(0, n_samples - 1))
        x[6, a : a + int(rng.integers(2, 20))] = x[6, a]
    clip = 1.2 * amp
    x[7] = np.clip(x[7], -clip[7], clip[7])                      # clipped channel
    clip[8], clip[9], clip[10] = 0.0, -1.0, np.nan               # clipping disabled
    if dtype is np.int32:
        x = np.clip(np.rint(x), -(2**31) + 1, 2**31 - 1)
        x[13] = rng.integers(-2, 3, n_samples)                   # many equal neighbours
        x[14, ::2] = 2**31 - 1                                   # extremes
        x[14, 1::2] = -(2**31)
    else:
        x[11, rng.integers(0, n_samples)] = np.nan
        x[12, rng.integers(0, n_samples)] = np.inf
        x[13] = np.nan                                           # all NaN
        x[14, 0] = -np.inf
        x[15, n_samples - 1] = np.nan                            # NaN at the block edge
    return x.astype(dtype), clip


def random_carry(
    rng: np.random.Generator, data: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A consistent carry: sometimes none, sometimes continuing the first sample."""
    n_channels = data.shape[0]
    last = rng.normal(size=(n_channels,)) * 100
    last2 = rng.normal(size=(n_channels,)) * 100
    run = rng.integers(1, 50, (n_channels,))
    kind = rng.integers(0, 3, n_channels)
    first = data[:, 0].astype(np.float64) if data.shape[1] else last
    last = np.where(kind == 1, first, last)                    # run continues
    none = kind == 0
    last[none], last2[none], run[none] = np.nan, np.nan, 0
    return last, last2, run.astype(np.int64)


# --------------------------------------------------------------------------
# Kernel vs twin.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_twin_fresh_stream(dtype: npt.DTypeLike, seed: int) -> None:
    rng = np.random.default_rng(seed)
    data, clip = make_block(rng, dtype)
    got = block_quality(data, clip)
    assert_matches_twin(got, twin_block_quality(data, clip, None, 20.0), data, RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("seed", [10, 11, 12, 13])
def test_matches_twin_with_carry(dtype: npt.DTypeLike, seed: int) -> None:
    rng = np.random.default_rng(seed)
    data, clip = make_block(rng, dtype, n_samples=int(rng.integers(3, 400)))
    carry = random_carry(rng, data)
    got = block_quality(data, clip, ChannelCarry(*carry), spike_factor=8.0)
    assert_matches_twin(got, twin_block_quality(data, clip, carry, 8.0), data, RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("seed", [20, 21])
def test_matches_twin_block_after_block(dtype: npt.DTypeLike, seed: int) -> None:
    rng = np.random.default_rng(seed)
    carry, twin_state = None, None
    for n_samples in (200, 1, 2, 0, 57, 200):
        data, clip = make_block(rng, dtype, n_samples=max(n_samples, 3))
        data = data[:, :n_samples]
        got = block_quality(data, 1e4, carry)
        want = twin_block_quality(data, 1e4, twin_state, 20.0)
        assert_matches_twin(got, want, data, RTOL[dtype])
        carry, twin_state = got.carry, twin_carry(want)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("n_samples", [1, 2, 3, 4, 5])
def test_matches_twin_short_blocks(dtype: npt.DTypeLike, n_samples: int) -> None:
    rng = np.random.default_rng(30 + n_samples)
    data, clip = make_block(rng, dtype, n_samples=8)
    data = np.ascontiguousarray(data[:, :n_samples])
    carry = random_carry(rng, data)
    got = block_quality(data, clip, ChannelCarry(*carry), spike_factor=0.5)
    assert_matches_twin(got, twin_block_quality(data, clip, carry, 0.5), data, RTOL[dtype])


def test_twin_agrees_with_numpy_statistics() -> None:
    """The twin itself against plain NumPy on an all-finite block."""
    rng = np.random.default_rng(40)
    x = rng.normal(size=(3, 50)) * 5 + 2
    for row, t in zip(x, twin_block_quality(x, 0.0, None, 20.0)):
        assert (t.minimum, t.maximum) == (row.min(), row.max())
        assert t.mean == pytest.approx(row.mean(), rel=1e-15)
        assert t.rms == pytest.approx(row.std(), rel=1e-15)


# --------------------------------------------------------------------------
# Analytic cases.
# --------------------------------------------------------------------------


@pytest.mark.reference
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_constant_block(dtype: npt.DTypeLike) -> None:
    data = np.full((2, 100), 7, dtype=dtype)
    q = block_quality(data, np.array([7.0, 7.5]))
    np.testing.assert_array_equal(q.minimum, [7.0, 7.0])
    np.testing.assert_array_equal(q.maximum, [7.0, 7.0])
    np.testing.assert_array_equal(q.mean, [7.0, 7.0])
    np.testing.assert_array_equal(q.rms, [0.0, 0.0])
    np.testing.assert_array_equal(q.n_clipped, [100, 0])
    np.testing.assert_array_equal(q.longest_run, [100, 100])
    np.testing.assert_array_equal(q.n_spikes, [0, 0])
    np.testing.assert_array_equal(q.first_nonfinite, [-1, -1])
    np.testing.assert_array_equal(q.carry.run, [100, 100])
    np.testing.assert_array_equal(q.carry.last, [7.0, 7.0])
    np.testing.assert_array_equal(q.carry.last2, [7.0, 7.0])


@pytest.mark.reference
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_all_zero_channel(dtype: npt.DTypeLike) -> None:
    q = block_quality(np.zeros((1, 64), dtype=dtype))
    assert (q.mean[0], q.rms[0], q.minimum[0], q.maximum[0]) == (0.0, 0.0, 0.0, 0.0)
    assert q.longest_run[0] == 64
    assert q.n_spikes[0] == 0


@pytest.mark.reference
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_single_spike_on_flat_line(dtype: npt.DTypeLike) -> None:
    # x = 0 except x[50] = 10.  Second differences (no carry, centres 1..98):
    # 10, 20, 10 at centres 49, 50, 51, else 0 -> s = 40 / 98, threshold
    # 20 s = 8.16.  Centre 50: 20 > 8.16 and 2|x51 - x49| = 0 < 20 -> spike.
    # Centres 49, 51: 10 > 8.16 but 2|x50 - x48| = 20 > 10 -> not isolated.
    x = np.zeros(100, dtype=dtype)
    x[50] = 10
    q = block_quality(x)
    assert q.n_spikes.tolist() == [1]
    assert q.mean[0] == pytest.approx(0.1, rel=1e-15)
    assert q.rms[0] == pytest.approx(math.sqrt(1.0 - 0.01), rel=1e-15)  # sqrt(E[x^2] - E[x]^2)
    assert (q.minimum[0], q.maximum[0]) == (0.0, 10.0)
    assert q.longest_run[0] == 50       # x[0:50]
    assert q.carry.run[0] == 49         # x[51:100]


@pytest.mark.reference
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_step_is_not_a_spike(dtype: npt.DTypeLike) -> None:
    x = np.zeros(100, dtype=dtype)
    x[50:] = 10
    q = block_quality(x, spike_factor=1.0)
    assert q.n_spikes[0] == 0
    assert q.longest_run[0] == 50


@pytest.mark.reference
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_two_sample_excursion_is_not_a_spike(dtype: npt.DTypeLike) -> None:
    x = np.zeros(100, dtype=dtype)
    x[50:52] = 10
    assert block_quality(x, spike_factor=1.0).n_spikes[0] == 0


@pytest.mark.reference
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_spike_on_ramp(dtype: npt.DTypeLike) -> None:
    # slope 2 per sample, spike height 40 at 30: d = 80 at the spike, 40 at its
    # neighbours, 0 elsewhere; isolation 2 |x31 - x29| = 8 < 80.
    x = (2 * np.arange(60) + 5).astype(dtype)
    x[30] += 40
    assert block_quality(x).n_spikes[0] == 1


@pytest.mark.reference
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_ramp(dtype: npt.DTypeLike) -> None:
    n = 101
    x = (3 * np.arange(n) - 100).astype(dtype)
    q = block_quality(x)
    assert q.mean[0] == pytest.approx(3 * (n - 1) / 2 - 100, rel=1e-15)
    # population std of 3 * (0..n-1) is 3 sqrt((n^2 - 1) / 12)
    assert q.rms[0] == pytest.approx(3 * math.sqrt((n * n - 1) / 12), rel=1e-14)
    assert (q.minimum[0], q.maximum[0]) == (-100.0, 3 * (n - 1) - 100.0)
    assert (q.longest_run[0], q.n_spikes[0], q.carry.run[0]) == (1, 0, 1)


@pytest.mark.reference
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_alternating_signal(dtype: npt.DTypeLike) -> None:
    # x = 3 (-1)^i: mean 0, rms 3; every second difference is 12 = s -> no spike
    x = (3 * (-1) ** np.arange(40)).astype(dtype)
    q = block_quality(x, clip_level=3.0)
    assert (q.mean[0], q.rms[0], q.n_spikes[0], q.longest_run[0]) == (0.0, 3.0, 0, 1)
    assert q.n_clipped[0] == 40


@pytest.mark.reference
def test_clip_levels_per_channel() -> None:
    row = np.array([0.0, 5.0, -5.0, 4.9, 10.0, -10.0])
    data = np.tile(row, (5, 1))
    q = block_quality(data, np.array([5.0, 0.0, -1.0, np.nan, np.inf]))
    assert q.n_clipped.tolist() == [4, 0, 0, 0, 0]
    assert block_quality(data, 5).n_clipped.tolist() == [4] * 5           # int scalar
    assert block_quality(data, np.float32(5)).n_clipped.tolist() == [4] * 5


@pytest.mark.reference
def test_non_finite_samples_are_reported_and_skipped() -> None:
    data = np.array(
        [
            [1.0, 2.0, np.nan, 4.0, np.inf],
            [np.nan] * 5,
            [-np.inf, 1.0, 1.0, 1.0, 1.0],
            [1.0, 2.0, 3.0, 4.0, 5.0],
        ]
    )
    q = block_quality(data, clip_level=4.0)
    assert q.first_nonfinite.tolist() == [2, 0, 0, -1]
    np.testing.assert_array_equal(q.minimum, [1.0, np.nan, 1.0, 1.0])
    np.testing.assert_array_equal(q.maximum, [4.0, np.nan, 1.0, 5.0])
    np.testing.assert_allclose(q.mean, [7 / 3, 0.0, 1.0, 3.0], rtol=1e-15)
    np.testing.assert_allclose(q.rms, np.array([np.std([1.0, 2.0, 4.0]), 0, 0, math.sqrt(2)]),
                               rtol=1e-14)
    assert q.n_clipped.tolist() == [1, 0, 0, 2]


@pytest.mark.reference
def test_int32_first_nonfinite_is_always_minus_one() -> None:
    q = block_quality(np.array([[0, -(2**31), 2**31 - 1]], dtype=np.int32))
    assert q.first_nonfinite.tolist() == [-1]
    assert (q.minimum[0], q.maximum[0]) == (-(2.0**31), 2.0**31 - 1)


@pytest.mark.reference
def test_large_offset_small_variance() -> None:
    # int32 counts near full scale: mean 2e9 + 0.5 and rms 0.5, exactly
    x = (2_000_000_000 + np.arange(1000) % 2).astype(np.int32)
    q = block_quality(x)
    assert q.mean[0] == 2_000_000_000.5
    assert q.rms[0] == 0.5


@pytest.mark.reference
def test_runs_carried_across_blocks() -> None:
    q1 = block_quality(np.array([1, 2, 3, 3, 3], dtype=np.int32))
    assert (q1.longest_run[0], q1.carry.run[0]) == (3, 3)
    q2 = block_quality(np.array([3, 3, 4], dtype=np.int32), carry=q1.carry)
    assert (q2.longest_run[0], q2.carry.run[0]) == (5, 1)   # 3 carried + 2
    q3 = block_quality(np.array([4, 4], dtype=np.int32), carry=q2.carry)
    assert (q3.longest_run[0], q3.carry.run[0]) == (3, 3)
    q4 = block_quality(np.array([5], dtype=np.int32), carry=q3.carry)
    assert (q4.longest_run[0], q4.carry.run[0]) == (1, 1)  # carried run ended


@pytest.mark.reference
def test_runs_compare_bits() -> None:
    q = block_quality(np.array([[0.0, -0.0, -0.0, 1.0], [np.nan, np.nan, np.nan, 1.0]]))
    assert q.longest_run.tolist() == [2, 3]


@pytest.mark.reference
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize(
    ("spike_at", "expected"),
    [
        (98, (1, 0)),   # second-to-last of block 1: its right neighbour is in block 1
        (99, (0, 1)),   # last of block 1: judged once x[100] arrives, via the carry
        (100, (0, 1)),  # first of block 2: left neighbours come from the carry
    ],
    ids=["second-to-last", "last", "first-of-next"],
)
def test_spike_at_block_boundary_is_found_once(
    dtype: npt.DTypeLike, spike_at: int, expected: tuple[int, int]
) -> None:
    # 100 + 100 samples, flat except one spike of 50: in the block judging it,
    # s <= 4 * 50 / 99 -> threshold 20 s <= 40.4 < d = 100.
    x = np.zeros(200, dtype=dtype)
    x[spike_at] = 50
    q1 = block_quality(x[:100])
    q2 = block_quality(x[100:], carry=q1.carry)
    assert (q1.n_spikes[0], q2.n_spikes[0]) == expected
    assert block_quality(x).n_spikes[0] == 1


# --------------------------------------------------------------------------
# Edge shapes.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_zero_length_block(dtype: npt.DTypeLike) -> None:
    carry = ChannelCarry(np.array([1.0, np.nan, 3.0]), np.array([0.5, np.nan, 3.0]),
                         np.array([4, 0, 2]))
    q = block_quality(np.empty((3, 0), dtype=dtype), 1.0, carry)
    assert q.carry is carry
    assert q.first_nonfinite.tolist() == [-1, -1, -1]
    for name in ("n_clipped", "longest_run", "n_spikes"):
        assert getattr(q, name).tolist() == [0, 0, 0], name
    assert q.mean.tolist() == [0.0, 0.0, 0.0]
    assert q.rms.tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(q.minimum).all() and np.isnan(q.maximum).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_one_sample_blocks(dtype: npt.DTypeLike) -> None:
    q1 = block_quality(np.array([[5], [6]], dtype=dtype))
    assert q1.minimum.tolist() == q1.maximum.tolist() == q1.mean.tolist() == [5.0, 6.0]
    assert q1.rms.tolist() == [0.0, 0.0]
    assert q1.longest_run.tolist() == [1, 1]
    assert q1.carry.last.tolist() == [5.0, 6.0]
    assert np.isnan(q1.carry.last2).all()
    q2 = block_quality(np.array([[5], [7]], dtype=dtype), carry=q1.carry)
    assert q2.longest_run.tolist() == [2, 1]
    assert q2.carry.last.tolist() == [5.0, 7.0]
    assert q2.carry.last2.tolist() == [5.0, 6.0]
    assert q2.carry.run.tolist() == [2, 1]


def test_no_channels() -> None:
    q = block_quality(np.empty((0, 10), dtype=np.float32))
    assert q.mean.shape == (0,) and q.carry.run.shape == (0,)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_output_shapes_and_dtypes(dtype: npt.DTypeLike) -> None:
    q = block_quality(np.ones((4, 9), dtype=dtype))
    for f in dataclasses.fields(BlockQuality):
        if f.name == "carry":
            continue
        value = getattr(q, f.name)
        assert value.shape == (4,), f.name
        expected = np.float64 if f.name in ("minimum", "maximum", "mean", "rms") else np.int64
        assert value.dtype == expected, f.name
    assert q.carry.last.dtype == q.carry.last2.dtype == np.float64
    assert q.carry.run.dtype == np.int64


def test_one_dimensional_input_is_one_channel() -> None:
    x = np.arange(10.0)
    q1, q2 = block_quality(x), block_quality(x[None, :])
    for f in ("mean", "rms", "longest_run", "n_spikes"):
        np.testing.assert_array_equal(getattr(q1, f), getattr(q2, f))
    assert q1.mean.shape == (1,)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("layout", ["fortran", "strided", "byteswapped", "readonly"])
def test_any_memory_layout_gives_the_same_answer(dtype: npt.DTypeLike, layout: str) -> None:
    data, clip = make_block(np.random.default_rng(50), dtype)
    if layout == "fortran":
        other = np.asfortranarray(data)
    elif layout == "strided":
        wide = np.zeros((data.shape[0], 2 * data.shape[1]), dtype=dtype)
        wide[:, ::2] = data
        other = wide[:, ::2]
    elif layout == "byteswapped":
        other = data.astype(data.dtype.newbyteorder(">" if data.dtype.byteorder != ">" else "<"))
    else:
        other = data.copy()
        other.setflags(write=False)
    want, got = block_quality(data, clip), block_quality(other, clip)
    for f in dataclasses.fields(BlockQuality):
        if f.name != "carry":
            np.testing.assert_array_equal(getattr(got, f.name), getattr(want, f.name), f.name)


def test_results_are_frozen() -> None:
    q = block_quality(np.zeros(3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.mean = np.zeros(1)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.carry.run = np.zeros(1, dtype=np.int64)  # type: ignore[misc]


# --------------------------------------------------------------------------
# Inputs are never mutated.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_inputs_not_mutated(dtype: npt.DTypeLike) -> None:
    rng = np.random.default_rng(60)
    data, clip = make_block(rng, dtype)
    carry = ChannelCarry(*random_carry(rng, data))
    before = [a.copy() for a in (data, clip, carry.last, carry.last2, carry.run)]
    block_quality(data, clip, carry)
    for original, now in zip(before, (data, clip, carry.last, carry.last2, carry.run)):
        assert original.tobytes() == now.tobytes()


def test_read_only_inputs_are_accepted() -> None:
    data = np.arange(20.0).reshape(2, 10)
    carry = ChannelCarry.empty(2)
    for a in (data, carry.last, carry.last2, carry.run):
        a.setflags(write=False)
    clip = np.array([3.0, 4.0])
    clip.setflags(write=False)
    assert block_quality(data, clip, carry).n_clipped.tolist() == [7, 10]


# --------------------------------------------------------------------------
# Validation at the edge.
# --------------------------------------------------------------------------


def test_rejects_non_array_data() -> None:
    with pytest.raises(TypeError, match="data must be a numpy.ndarray, got list"):
        block_quality([1.0, 2.0])  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [np.int64, np.float16, np.bool_, np.complex128, object])
def test_rejects_other_dtypes(dtype: npt.DTypeLike) -> None:
    with pytest.raises(TypeError, match="data must have dtype float32, float64 or int32"):
        block_quality(np.zeros((2, 3), dtype=dtype))


def test_rejects_three_dimensional_data() -> None:
    with pytest.raises(ValueError, match=r"data must have shape \(n_channels, n_samples\)"):
        block_quality(np.zeros((2, 3, 4)))


def test_rejects_wrong_clip_level_shape() -> None:
    with pytest.raises(ValueError, match=r"clip_level must be a scalar or have shape \(2,\)"):
        block_quality(np.zeros((2, 3)), np.ones(3))


def test_rejects_non_real_clip_level() -> None:
    with pytest.raises(TypeError, match="clip_level must be a real scalar or array"):
        block_quality(np.zeros((2, 3)), "high")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_rejects_bad_spike_factor(bad: float) -> None:
    with pytest.raises(ValueError, match="spike_factor must be finite and > 0"):
        block_quality(np.zeros(3), spike_factor=bad)


def test_rejects_non_numeric_spike_factor() -> None:
    with pytest.raises(TypeError, match="spike_factor must be a real number"):
        block_quality(np.zeros(3), spike_factor="20")  # type: ignore[arg-type]


def test_accepts_integer_spike_factor() -> None:
    x = np.zeros(100)
    x[50] = 1.0
    assert block_quality(x, spike_factor=20).n_spikes[0] == 1


def test_rejects_carry_of_wrong_type() -> None:
    with pytest.raises(TypeError, match="carry must be a ChannelCarry or None, got tuple"):
        block_quality(np.zeros((2, 3)), carry=(1, 2, 3))  # type: ignore[arg-type]


def test_rejects_carry_for_other_channel_count() -> None:
    with pytest.raises(ValueError, match=r"carry.last must have shape \(2,\) to match data"):
        block_quality(np.zeros((2, 3)), carry=ChannelCarry.empty(3))


def test_rejects_carry_with_wrong_dtype() -> None:
    carry = ChannelCarry(np.zeros(2), np.zeros(2), np.zeros(2))  # run as float64
    with pytest.raises(TypeError, match="carry.run must be an ndarray of int64, got float64"):
        block_quality(np.zeros((2, 3)), carry=carry)


def test_rejects_non_contiguous_carry() -> None:
    carry = ChannelCarry(np.zeros(4)[::2], np.zeros(2), np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="carry.last must be C-contiguous"):
        block_quality(np.zeros((2, 3)), carry=carry)


def test_empty_carry_validates_channel_count() -> None:
    with pytest.raises(ValueError, match="n_channels must be >= 0, got -1"):
        ChannelCarry.empty(-1)
    with pytest.raises(TypeError, match="n_channels must be an int, got float"):
        ChannelCarry.empty(2.0)  # type: ignore[arg-type]


def test_private_kernel_checks_lengths() -> None:
    # the nogil loop indexes per-channel arrays by row: a short one must not be read
    short = np.zeros(1)
    with pytest.raises(ValueError, match="one entry per row of data"):
        _quality.quality(np.zeros((2, 3)), 0.0, None, short, short,
                         np.zeros(1, dtype=np.int64), 20.0)
    with pytest.raises(ValueError, match="one entry per row of data"):
        _quality.quality(np.zeros((2, 3)), 0.0, short, np.zeros(2), np.zeros(2),
                         np.zeros(2, dtype=np.int64), 20.0)


# --------------------------------------------------------------------------
# Split invariance (hypothesis).
# --------------------------------------------------------------------------


def _split(x: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    edges = [0, *sorted(min(c, x.shape[-1]) for c in cuts), x.shape[-1]]
    return [x[..., a:b] for a, b in zip(edges[:-1], edges[1:])]


run_values = st.sampled_from([0.0, -0.0, 1.0, 2.5, np.nan, np.inf])


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(run_values, min_size=0, max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=8),
)
def test_split_gives_same_carry_and_runs(values: list[float], cuts: list[int]) -> None:
    x = np.array(values, dtype=np.float64).reshape(1, -1)
    whole = block_quality(x)
    carry, longest = None, 0
    for part in _split(x, cuts):
        q = block_quality(part, carry=carry)
        carry, longest = q.carry, max(longest, int(q.longest_run[0]))
    assert carry is not None
    assert longest == whole.longest_run[0]
    assert carry.run[0] == whole.carry.run[0]
    assert carry.last.view(np.uint64)[0] == whole.carry.last.view(np.uint64)[0]
    assert carry.last2.view(np.uint64)[0] == whole.carry.last2.view(np.uint64)[0]


@settings(max_examples=200, deadline=None)
@given(
    dtype=st.sampled_from(DTYPES),
    slope=st.integers(-3, 3),
    height=st.integers(20, 200),
    spikes=st.lists(st.tuples(st.integers(0, 30), st.booleans()), max_size=12),
    sizes=st.lists(st.integers(6, 60), min_size=1, max_size=12),
)
def test_sparse_spikes_found_once_whatever_the_split(
    dtype: npt.DTypeLike, slope: int, height: int, spikes: list[tuple[int, bool]], sizes: list[int]
) -> None:
    # A ramp (second differences exactly 0) with spikes of height h at 10, 30,
    # 50, ... (20 apart).  Each spike gives d = h, 2h, h at its three centres.
    # A block judging n_d >= 5 centres touches at most max(1, n_d / 20 + 2)
    # spikes, so s <= 4 h K / n_d < h and, with spike_factor 2, each spike's
    # d = 2h > 2 s; the neighbours fail isolation (2 |h +- 2 slope| > h).  So
    # the count equals the number of spikes, however the stream is cut into
    # blocks of >= 6 samples.
    n = sum(sizes)
    x = (slope * np.arange(n) + 1000).astype(np.float64)
    signs = {20 * slot + 10: up for slot, up in spikes if 20 * slot + 10 < n - 1}
    for position, up in signs.items():
        x[position] += height if up else -height
    x = x.astype(dtype)
    carry, total = None, 0
    for part in _split(x, [int(c) for c in np.cumsum(sizes)[:-1]]):
        q = block_quality(part, carry=carry, spike_factor=2.0)
        carry, total = q.carry, total + int(q.n_spikes[0])
    assert total == len(signs)
    assert block_quality(x, spike_factor=2.0).n_spikes[0] == len(signs)
