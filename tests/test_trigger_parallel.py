"""Batch triggers on records long enough for their parallel and SIMD paths (>= 2**17
samples per call): OpenMP work items (rows, re-anchoring chunks, carl_sta_trig chunks
that rebuild their start state, recursive STA/LTA chunks started from a guessed state
and repaired where the guess was wrong) and SIMD lanes (classic: independent chunks
side by side; carl: sub-chunks side by side).  Each must give exactly the bits of the
streaming classes, which run the plain per-sample kernels block by block, whatever
the number of threads and lanes; and the long records still match ObsPy
(independent oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from quakewatch.ext import _trigger
from quakewatch.ext import trigger as qt

THREADS = [1, 2, 3]
LANES = [0, 1, 2, 4]  # 0: automatic; 1: scalar code; 2: SSE2; 4: AVX (2 without AVX)


def _record(shape: tuple[int, ...], dtype: type, seed: int, nan_at: int | None = None) -> np.ndarray:
    """Noise (offset 3, so carl's signed means are not ~0) with a 1e6 burst, a zero gap
    and a quiet coda in every row; optionally one NaN."""
    rng = np.random.default_rng(seed)
    n = shape[-1]
    x = rng.normal(3.0, 1.0, shape)
    x[..., n // 5: n // 5 + 300] *= 1e6
    x[..., n // 2: n // 2 + 2000] = 0.0
    x[..., 4 * n // 5:] *= 1e-3
    if nan_at is not None:
        x[..., nan_at] = np.nan
    if dtype is np.int32:
        return np.round(x * 100).astype(np.int32)
    return x.astype(dtype)


def _stream(det: object, x: np.ndarray, step: int = 10_007) -> np.ndarray:
    parts = [det.process(x[..., a: a + step]) for a in range(0, x.shape[-1], step)]  # type: ignore[attr-defined]
    return np.concatenate(parts, axis=-1)


CLASSIC_CASES = [
    ((300_000,), np.float64, 100, 1000),
    ((3, 140_000), np.float32, 7, 60),
    ((5, 70_000), np.int32, 50, 5000),  # period 80 000 > row: one chunk per row
    ((2, 200_000), np.float64, 50, 5000),
]


@pytest.mark.parametrize("shape,dtype,nsta,nlta", CLASSIC_CASES, ids=[str(c[:2]) for c in CLASSIC_CASES])
def test_classic_batch_equals_stream_for_any_threads_and_lanes(
    shape: tuple[int, ...], dtype: type, nsta: int, nlta: int
) -> None:
    x = _record(shape, dtype, seed=1)
    rows = x.reshape(-1, shape[-1])
    ref = _stream(qt.ClassicStaLta(nsta, nlta, rows.shape[0]), rows).reshape(shape)
    # the exact re-anchoring after the burst happens in the parallel chunks too
    assert np.all(np.isfinite(ref))
    for threads in THREADS:
        with threadpool_limits(limits=threads, user_api="openmp"):
            for lanes in LANES:
                np.testing.assert_array_equal(_trigger.classic_sta_lta(x, nsta, nlta, lanes=lanes), ref)


CARL_CASES = [
    ((400_000,), np.float64, 500, 1000),  # the benchmark's windows
    ((300_000,), np.float32, 7, 60),
    ((2, 200_000), np.int32, 97, 1009),  # coprime windows
    ((3, 150_000), np.float64, 20, 200),
]


@pytest.mark.parametrize("shape,dtype,nsta,nlta", CARL_CASES, ids=[str(c[:2]) for c in CARL_CASES])
def test_carl_batch_equals_stream_for_any_threads_and_lanes(
    shape: tuple[int, ...], dtype: type, nsta: int, nlta: int
) -> None:
    x = _record(shape, dtype, seed=2)
    rows = x.reshape(-1, shape[-1])
    ref = _stream(qt.CarlStaTrig(nsta, nlta, 0.8, 0.8, rows.shape[0]), rows).reshape(shape)
    for threads in [*THREADS, 8]:
        with threadpool_limits(limits=threads, user_api="openmp"):
            for lanes in LANES:
                np.testing.assert_array_equal(_trigger.carl_sta_trig(x, nsta, nlta, 0.8, 0.8, lanes=lanes), ref)


def test_carl_chunks_recover_from_nan() -> None:
    # ObsPy-style running sums stay NaN while the NaN is in a window and recover at the
    # next re-anchoring; chunks that rebuild their start state must agree exactly
    x = _record((300_000,), np.float64, seed=3, nan_at=150_001)
    ref = _stream(qt.CarlStaTrig(10, 100, 0.8, 0.8), x)
    assert np.isnan(ref).any() and np.isfinite(ref[-1000:]).all()
    for threads in THREADS:
        with threadpool_limits(limits=threads, user_api="openmp"):
            for lanes in LANES:
                got = _trigger.carl_sta_trig(x, 10, 100, 0.8, 0.8, lanes=lanes)
                np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("rows,nsta,nlta", [(1, 10, 100), (2, 10, 100), (1, 100, 1000), (6, 100, 1000)])
def test_recursive_batch_equals_stream_for_any_threads(rows: int, nsta: int, nlta: int) -> None:
    # (1, 10, 100), (2, 10, 100): rows split into chunks that start from a guessed state
    x = _record((rows, 2**18 + 5), np.float64, seed=4, nan_at=2**18 - 1000)
    ref = _stream(qt.RecursiveStaLta(nsta, nlta, rows), x)
    for threads in [*THREADS, 5]:
        with threadpool_limits(limits=threads, user_api="openmp"):
            np.testing.assert_array_equal(qt.recursive_sta_lta(x, nsta, nlta), ref)
            np.testing.assert_array_equal(qt.recursive_sta_lta(x[0], nsta, nlta), ref[0])


@pytest.mark.parametrize("nan", [False, True])
def test_recursive_speculation_that_fails_is_repaired(nan: bool) -> None:
    # After a 1e6 burst the record is all zeros for a long time: the exact state decays
    # towards (but long stays above) 0 while a chunk started from a guessed state sees
    # only zeros, so the guess is wrong where the chunk starts and the chunk must be
    # recomputed until both trajectories have underflowed to the same bits.  With a
    # NaN before the chunks (nan=True) they never meet: recomputed to the end.
    n = 2**18
    x = np.random.default_rng(6).normal(0.0, 1.0, n)
    x[n // 4 - 500: n // 4] = 1e6
    x[n // 4: 4 * n // 5] = 0.0
    if nan:
        x[1000] = np.nan
    ref = _stream(qt.RecursiveStaLta(10, 100), x)
    for threads in THREADS:
        with threadpool_limits(limits=threads, user_api="openmp"):
            np.testing.assert_array_equal(qt.recursive_sta_lta(x, 10, 100), ref)


@pytest.mark.parametrize("shape", [(0,), (0, 300_000), (3, 0), (1, 1), (2, 5)])
def test_empty_and_tiny_blocks_with_threads(shape: tuple[int, ...]) -> None:
    # no rows / no samples must not reach a work split (a division by the row count)
    x = np.ones(shape)
    for threads in [1, 2, 5]:
        with threadpool_limits(limits=threads, user_api="openmp"):
            for lanes in LANES:
                assert _trigger.classic_sta_lta(x, 2, 10, lanes=lanes).shape == shape
                assert _trigger.carl_sta_trig(x, 2, 10, 0.8, 0.8, lanes=lanes).shape == shape
            assert qt.recursive_sta_lta(x, 2, 10).shape == shape


def test_lanes_argument_is_checked() -> None:
    x = np.zeros(100)
    with pytest.raises(ValueError, match=r"lanes must be 0, 1, 2 or 4, got 3"):
        _trigger.classic_sta_lta(x, 2, 10, lanes=3)
    with pytest.raises(ValueError, match=r"lanes must be <= 4, got 8"):
        _trigger.carl_sta_trig(x, 2, 10, 0.8, 0.8, lanes=8)


@pytest.mark.reference
def test_long_records_match_obspy() -> None:
    ot = pytest.importorskip("obspy.signal.trigger")
    # noise with x10 / x30 events (no 1e6 burst: ObsPy's running sums would lose it)
    x = np.random.default_rng(5).normal(0.0, 1.0, 2**18 + 11)
    x[50_000:52_000] *= 10.0
    x[180_000:181_000] *= 30.0
    with threadpool_limits(limits=2, user_api="openmp"):
        rec = qt.recursive_sta_lta(x, 100, 1000)
        cla = qt.classic_sta_lta(x, 100, 1000)
        carl = qt.carl_sta_trig(x, 10, 100, 0.8, 0.8)
    np.testing.assert_array_equal(rec[1000:], ot.recursive_sta_lta(x, 100, 1000)[1000:])
    np.testing.assert_allclose(cla[999:], ot.classic_sta_lta(x, 100, 1000)[999:], rtol=1e-9)
    np.testing.assert_allclose(carl, ot.carl_sta_trig(x, 10, 100, 0.8, 0.8), rtol=0, atol=1e-12 * np.max(np.abs(x)))


def test_carl_chunk_starts_at_every_anchor_phase() -> None:
    # Tiny windows (3, 7): the re-anchoring pattern repeats every 16 * lcm(3, 7) = 336
    # samples.  Shifting the record length by 1 .. 400 samples moves the chunk and lane
    # starts through every phase of it, including those that need the longest replay
    # (34 (nsta + nlta) - 4 samples) to rebuild their start state.
    x = _record((2**17 + 400,), np.float64, seed=7)
    ref = _stream(qt.CarlStaTrig(3, 7, 0.8, 0.8), x)  # causal: prefixes of ref are references
    with threadpool_limits(limits=8, user_api="openmp"):
        for n in range(2**17, 2**17 + 400):
            np.testing.assert_array_equal(_trigger.carl_sta_trig(x[:n], 3, 7, 0.8, 0.8), ref[:n], err_msg=f"n={n}")
