"""QualityTracker (the ingest path's per-structure state) against a plain-Python twin
built from the documented definitions: random channel orders, block sizes, gaps and
refusals; a refused block changes nothing but the overlap count."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_quality_kernel import twin_channel

from quakewatch.ext.quality import NONFINITE, OK, OVERLAP, RATE_REGISTERED, RATE_STREAMED, QualityTracker

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
FIELDS = (
    "samples", "gaps", "gap_total_s", "last_gap_ns", "overlaps", "clipped", "last_clip_ns", "spikes", "last_spike_ns",
    "carry_last", "carry_last2", "carry_run", "latency_s", "max_latency_s", "last_recv_ns", "rms", "mean", "minimum",
    "maximum", "timing_quality", "end_ns", "rate_hz",
)


class Twin:
    """The documented continuity and quality rules, channel by channel, in Python."""

    def __init__(self, n: int, clip: np.ndarray) -> None:
        self.clip = clip
        self.s = {f: [0.0] * n for f in FIELDS}
        for f in ("carry_last", "carry_last2"):
            self.s[f] = [math.nan] * n
        self.s["timing_quality"] = [-1] * n

    def update(self, data: np.ndarray, idx: np.ndarray, start: int, end: int, rate: float, recv: int, tq: int) -> None:
        s = self.s
        for r, c in enumerate(idx):
            t = twin_channel(data[r].astype(np.float64), float(self.clip[c]), s["carry_last"][c], s["carry_last2"][c], int(s["carry_run"][c]), 20.0)
            prev = s["end_ns"][c]
            if prev > 0 and (start - prev) / NS > 0.5 / rate:
                s["gaps"][c] += 1
                s["gap_total_s"][c] += (start - prev) / NS
                s["last_gap_ns"][c] = start
            s["samples"][c] += data.shape[1]
            s["clipped"][c] += t.n_clipped
            s["spikes"][c] += t.n_spikes
            if t.n_clipped:
                s["last_clip_ns"][c] = end
            if t.n_spikes:
                s["last_spike_ns"][c] = end
            s["carry_last"][c], s["carry_last2"][c], s["carry_run"][c] = t.last, t.last2, t.run
            s["latency_s"][c] = (recv - end) / NS
            s["max_latency_s"][c] = max(s["max_latency_s"][c], (recv - end) / NS)
            s["last_recv_ns"][c] = recv
            s["rms"][c], s["mean"][c], s["minimum"][c], s["maximum"][c] = t.rms, t.mean, t.minimum, t.maximum
            s["timing_quality"][c] = tq
            s["end_ns"][c] = end
            s["rate_hz"][c] = rate


def _assert_same(tracker: QualityTracker, twin: Twin) -> None:
    for f in FIELDS:
        got = getattr(tracker, f)
        want = np.array(twin.s[f], dtype=np.float64)
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=f)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("seed", range(4))
def test_matches_twin_over_a_stream_in_random_blocks(dtype: type, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_ch, rate = 6, 100.0
    clip = np.array([0.0, 2.0, 3.0, 0.0, 2.5, 1e9])
    tracker = QualityTracker(n_ch)
    tracker.clip_level[:] = clip
    twin = Twin(n_ch, clip)
    t = T0
    for _ in range(25):
        n = int(rng.integers(1, 300))
        x = rng.normal(0, 1, (n_ch, n))
        x[:, rng.integers(0, n)] += rng.choice([0, 40])  # sometimes a spike
        if rng.random() < 0.3:
            x[:, : n // 2] = x[:, :1]  # a flat stretch continuing the previous block's run sometimes
        data = (x * 1000).astype(dtype) if dtype is np.int32 else x.astype(dtype)
        idx = rng.permutation(n_ch).astype(np.intp)[: int(rng.integers(1, n_ch + 1))]
        block = np.ascontiguousarray(data[: len(idx)])
        if rng.random() < 0.2:
            t += int(rng.integers(1, 5 * NS))  # a gap
        end = t + round(n * NS / rate)
        recv = end + int(rng.integers(0, 3 * NS))
        tq = int(rng.integers(-1, 101))
        assert tracker.update(block, idx, t, end, rate, recv, tq) == (OK, -1, -1)
        twin.update(block, idx, t, end, rate, recv, tq)
        _assert_same(tracker, twin)
        t = end


def test_refusals_name_the_row_and_change_nothing_but_the_overlap_count() -> None:
    tracker = QualityTracker(3)
    tracker.registered_rate_hz[:] = [100.0, 0.0, 0.0]
    x = np.ones((2, 100), np.float32) * np.arange(100, dtype=np.float32)
    idx = np.array([1, 2], dtype=np.intp)
    assert tracker.update(x, idx, T0, T0 + NS, 100.0, T0 + NS)[0] == OK
    before = {f: getattr(tracker, f).copy() for f in FIELDS}

    # rate differs from the registered rate of channel 0 (row 1 of this block)
    assert tracker.update(x, np.array([2, 0], np.intp), T0 + NS, T0 + 2 * NS, 50.0, T0)[:2] == (RATE_REGISTERED, 1)
    # rate differs from what channel 1 streamed so far
    assert tracker.update(x, idx, T0 + NS, T0 + 3 * NS, 50.0, T0)[:2] == (RATE_STREAMED, 0)
    # NaN in row 1 at sample 7
    bad = x.copy()
    bad[1, 7] = np.nan
    assert tracker.update(bad, idx, T0 + NS, T0 + 2 * NS, 100.0, T0) == (NONFINITE, 1, 7)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(tracker, f), before[f], err_msg=f)
    # overlap: only the overlap count of the channel changes
    assert tracker.update(x, idx, T0 + NS // 2, T0 + 3 * NS // 2, 100.0, T0)[:2] == (OVERLAP, 0)
    assert list(tracker.overlaps) == [0, 1, 0]
    # within half a sample is not an overlap
    assert tracker.update(x, idx, T0 + NS - 4_000_000, T0 + 2 * NS, 100.0, T0)[0] == OK


def test_durable_marks_rollback_and_growth() -> None:
    tracker = QualityTracker(2)
    x = np.zeros((2, 10), np.float64)
    idx = np.array([0, 1], np.intp)
    tracker.update(x, idx, T0, T0 + NS, 10.0, T0 + NS)
    tracker.mark_durable(idx, T0 + NS)
    tracker.update(x, idx, T0 + NS, T0 + 2 * NS, 10.0, T0 + 2 * NS)
    tracker.mark_durable(idx[:1], T0)  # never moves back
    assert list(tracker.durable_end_ns) == [T0 + NS, T0 + NS]
    tracker.rollback(idx)  # the second block never became durable
    assert list(tracker.end_ns) == [T0 + NS, T0 + NS]
    tracker.grow(4)
    assert tracker.n_channels == 4 and list(tracker.samples) == [20, 20, 0, 0]
    assert math.isnan(tracker.carry_last[3]) and tracker.timing_quality[3] == -1
    with pytest.raises(AttributeError):
        tracker.samples = np.zeros(4, np.int64)  # type: ignore[misc]
    with pytest.raises(IndexError, match="idx"):
        tracker.update(x, np.array([0, 4], np.intp), T0 + 2 * NS, T0 + 3 * NS, 10.0, T0)
    with pytest.raises(ValueError, match="idx"):
        tracker.update(x, np.array([0], np.intp), T0 + 2 * NS, T0 + 3 * NS, 10.0, T0)
    with pytest.raises(TypeError, match="dtype"):
        tracker.update(x.astype(np.int16), idx, T0 + 2 * NS, T0 + 3 * NS, 10.0, T0)


def test_all_zero_block_gives_no_nan() -> None:
    tracker = QualityTracker(1)
    idx = np.array([0], np.intp)
    for k in range(3):
        assert tracker.update(np.zeros((1, 50), np.float32), idx, T0 + k * NS, T0 + (k + 1) * NS, 50.0, T0 + (k + 1) * NS)[0] == OK
    assert tracker.rms[0] == 0.0 and tracker.mean[0] == 0.0 and tracker.carry_run[0] == 150
    assert tracker.spikes[0] == 0 and tracker.gaps[0] == 0
