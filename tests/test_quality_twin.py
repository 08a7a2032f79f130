"""The Cython data-quality kernel against a slow, obviously-correct NumPy twin written
here from the definitions in ``quakewatch.ext.quality``, per dtype, plus analytic cases."""

from __future__ import annotations

import numpy as np
import pytest

from quakewatch.ext.quality import ChannelCarry, block_quality


def twin(x: np.ndarray, clip: float, last: float, last2: float, run: int, k: float) -> dict[str, float]:
    x = x.astype(np.float64)
    n = len(x)
    fin = np.isfinite(x)
    full = np.concatenate([[last2, last], x])  # full[j + 2] == x[j]
    d = {}
    for i in range(-1, n - 1):
        a, b, c = full[i + 1], full[i + 2], full[i + 3]
        if np.isfinite(a) and np.isfinite(b) and np.isfinite(c):
            d[i] = (abs(a - 2 * b + c), abs(c - a))
    s = np.mean([v[0] for v in d.values()]) if d else 0.0
    spikes = sum(1 for dd, span in d.values() if s > 0 and dd > k * s and 2 * span < dd)
    longest, cur = 0, run
    prev = last
    for v in x:
        cur = cur + 1 if v == prev else 1
        longest = max(longest, cur)
        prev = v
    xf = x[fin]
    return {
        "first_nonfinite": int(np.flatnonzero(~fin)[0]) if (~fin).any() else -1,
        "mean": xf.mean(), "rms": xf.std(), "minimum": xf.min(), "maximum": xf.max(),
        "n_clipped": int((np.abs(xf) >= clip).sum()) if clip > 0 else 0,
        "longest_run": longest, "n_spikes": spikes, "run": cur,
    }


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-12), (np.float64, 1e-12), (np.int32, 0.0)])
@pytest.mark.parametrize("seed", range(4))
def test_kernel_matches_numpy_twin(dtype: type, rtol: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = (rng.normal(0, 100, (5, 300))).astype(dtype)
    x[1, 50:80] = x[1, 50]  # a flat run
    x[2, 100] += dtype(5000) if dtype is not np.float32 else np.float32(5000)  # a spike
    x[3, ::37] = 250  # clipping
    if dtype is not np.int32:
        x[4, 123] = np.nan
    clip = np.array([0, 0, 0, 240, 0], dtype=np.float64)
    carry = ChannelCarry(last=rng.normal(0, 100, 5), last2=rng.normal(0, 100, 5), run=np.array([3, 0, 1, 2, 0]))
    before = x.copy()
    q = block_quality(x, clip, carry, 20.0)
    np.testing.assert_array_equal(x, before)  # inputs are not mutated
    for ch in range(5):
        t = twin(x[ch], clip[ch], carry.last[ch], carry.last2[ch], int(carry.run[ch]), 20.0)
        assert q.first_nonfinite[ch] == t["first_nonfinite"]
        for name in ("mean", "rms", "minimum", "maximum"):
            np.testing.assert_allclose(getattr(q, name)[ch], t[name], rtol=rtol, atol=1e-9, err_msg=f"{name} ch{ch}")
        assert q.n_clipped[ch] == t["n_clipped"]
        assert q.longest_run[ch] == t["longest_run"]
        assert q.n_spikes[ch] == t["n_spikes"], ch
        assert q.carry.run[ch] == t["run"]


@pytest.mark.reference
def test_analytic_cases() -> None:
    flat = np.full((1, 100), 7.0)
    q = block_quality(flat)
    assert q.rms[0] == 0 and q.mean[0] == 7 and q.longest_run[0] == 100 and q.n_spikes[0] == 0
    zeros = np.zeros((2, 50), dtype=np.float32)
    q = block_quality(zeros)
    assert np.all(np.isfinite(q.rms)) and np.all(q.rms == 0)
    ramp = np.arange(100, dtype=np.float64)[None, :]
    q = block_quality(ramp)
    assert q.n_spikes[0] == 0 and q.longest_run[0] == 1
    np.testing.assert_allclose(q.rms[0], np.sqrt((100**2 - 1) / 12))  # population std of 0..99
    spike = np.sin(np.arange(400) / 10.0)[None, :]
    spike[0, 200] += 50.0
    assert block_quality(spike).n_spikes[0] == 1


def test_chunk_invariance_of_runs_and_spikes() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, (2, 1000))
    x[0, 499] += 100  # spike straddling the cut at 500
    x[1, 480:530] = 3.0  # a run across the cut
    whole = block_quality(x)
    a = block_quality(x[:, :500])
    b = block_quality(x[:, 500:], carry=a.carry)
    assert list(a.n_spikes + b.n_spikes) == list(whole.n_spikes)
    assert list(np.maximum(a.longest_run, b.longest_run)) == list(whole.longest_run)
    np.testing.assert_array_equal(b.carry.run, whole.carry.run)
