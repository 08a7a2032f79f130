"""Running data-quality state of every channel of one structure.

State lives in arrays indexed by the structure's channel index, so a block's
statistics (one call of :func:`quakewatch.ext.quality.block_quality`) are folded in
with a handful of vectorised operations, whatever the channel count. Soft failure:
a channel that is flat, clipped, spiky, late or gappy is marked with reasons; the
stream goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from quakewatch.ext.quality import BlockQuality, ChannelCarry

from ..settings import QualitySettings

NS = 1_000_000_000
RECENT_S = 600.0  # gaps and spikes this recent degrade a channel


class ClockDriftEstimator:
    """Gateway clock drift from the trend of the minimum latency per arrival minute.

    Only a real-time stream is assessed: when data time advances faster or slower
    than the server clock by more than 1 % (replay, backfill, catch-up), there is
    no clock statement to make and :attr:`drift_ppm` is None.
    """

    BUCKET_NS = 60 * NS
    MIN_BUCKETS = 5
    MAX_BUCKETS = 15

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}
        self.drift_ppm: float | None = None

    def add(self, arrival_ns: int, latency_ns: int) -> None:
        b = arrival_ns // self.BUCKET_NS
        prev = self._buckets.get(b)
        if prev is None:
            self._buckets[b] = latency_ns
            if len(self._buckets) > self.MAX_BUCKETS:
                del self._buckets[min(self._buckets)]
            self._update()
        elif latency_ns < prev:
            self._buckets[b] = latency_ns

    def _update(self) -> None:
        if len(self._buckets) < self.MIN_BUCKETS:
            self.drift_ppm = None
            return
        keys = sorted(self._buckets)[:-1]  # the current minute is still filling
        x = np.array(keys, dtype=np.float64) * self.BUCKET_NS
        y = np.array([self._buckets[k] for k in keys], dtype=np.float64)
        slope = float(np.polyfit(x - x[0], y, 1)[0])
        self.drift_ppm = None if abs(slope) > 0.01 else -slope * 1e6


@dataclass
class QualityArrays:
    """Per-channel running quality state of one structure (arrays of length n_channels)."""

    n: int
    samples: np.ndarray = field(init=False)
    gaps: np.ndarray = field(init=False)
    gap_total_s: np.ndarray = field(init=False)
    last_gap_ns: np.ndarray = field(init=False)
    overlaps: np.ndarray = field(init=False)
    clipped: np.ndarray = field(init=False)
    last_clip_ns: np.ndarray = field(init=False)
    spikes: np.ndarray = field(init=False)
    last_spike_ns: np.ndarray = field(init=False)
    carry_last: np.ndarray = field(init=False)
    carry_last2: np.ndarray = field(init=False)
    carry_run: np.ndarray = field(init=False)
    latency_s: np.ndarray = field(init=False)
    max_latency_s: np.ndarray = field(init=False)
    last_recv_ns: np.ndarray = field(init=False)
    rms: np.ndarray = field(init=False)
    mean: np.ndarray = field(init=False)
    minimum: np.ndarray = field(init=False)
    maximum: np.ndarray = field(init=False)
    timing_quality: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = self.n
        for name, dtype, fill in (
            ("samples", np.int64, 0),
            ("gaps", np.int64, 0),
            ("gap_total_s", np.float64, 0.0),
            ("last_gap_ns", np.int64, 0),
            ("overlaps", np.int64, 0),
            ("clipped", np.int64, 0),
            ("last_clip_ns", np.int64, 0),
            ("spikes", np.int64, 0),
            ("last_spike_ns", np.int64, 0),
            ("carry_last", np.float64, np.nan),
            ("carry_last2", np.float64, np.nan),
            ("carry_run", np.int64, 0),
            ("latency_s", np.float64, 0.0),
            ("max_latency_s", np.float64, 0.0),
            ("last_recv_ns", np.int64, 0),
            ("rms", np.float64, 0.0),
            ("mean", np.float64, 0.0),
            ("minimum", np.float64, 0.0),
            ("maximum", np.float64, 0.0),
            ("timing_quality", np.int32, -1),
        ):
            setattr(self, name, np.full(n, fill, dtype=dtype))

    def grow(self, n: int) -> None:
        """Add channels (registered after the state was created) with fresh state."""
        if n <= self.n:
            return
        fresh = QualityArrays(n)
        for name in fresh.__dataclass_fields__:
            if name == "n":
                continue
            arr = getattr(fresh, name)
            arr[: self.n] = getattr(self, name)
            setattr(self, name, arr)
        self.n = n

    def carry(self, idx: np.ndarray) -> ChannelCarry:
        return ChannelCarry(last=self.carry_last[idx], last2=self.carry_last2[idx], run=self.carry_run[idx])

    def fold(
        self,
        idx: np.ndarray,
        q: BlockQuality,
        n_samples: int,
        start_ns: int,
        end_ns: int,
        prev_end_ns: np.ndarray,
        rate_hz: float,
        recv_ns: int,
        timing_quality: int,
        gap_tolerance_samples: float,
    ) -> None:
        """Fold an accepted block's statistics into the running state."""
        self.samples[idx] += n_samples
        has_prev = prev_end_ns > 0
        gap_s = (start_ns - prev_end_ns) / NS
        is_gap = has_prev & (gap_s > gap_tolerance_samples / rate_hz)
        self.gaps[idx] += is_gap
        self.gap_total_s[idx] += np.where(is_gap, gap_s, 0.0)
        self.last_gap_ns[idx] = np.where(is_gap, start_ns, self.last_gap_ns[idx])
        self.clipped[idx] += q.n_clipped
        self.last_clip_ns[idx] = np.where(q.n_clipped > 0, end_ns, self.last_clip_ns[idx])
        self.spikes[idx] += q.n_spikes
        self.last_spike_ns[idx] = np.where(q.n_spikes > 0, end_ns, self.last_spike_ns[idx])
        self.carry_last[idx] = q.carry.last
        self.carry_last2[idx] = q.carry.last2
        self.carry_run[idx] = q.carry.run
        lat = (recv_ns - end_ns) / NS
        self.latency_s[idx] = lat
        self.max_latency_s[idx] = np.maximum(self.max_latency_s[idx], lat)
        self.last_recv_ns[idx] = recv_ns
        self.rms[idx] = q.rms
        self.mean[idx] = q.mean
        self.minimum[idx] = q.minimum
        self.maximum[idx] = q.maximum
        self.timing_quality[idx] = timing_quality


@dataclass(frozen=True)
class ChannelVerdict:
    state: str  # "NO_DATA" | "OK" | "DEGRADED" | "FAILED"
    reasons: tuple[str, ...]
    flatline_s: float


def assess(
    qa: QualityArrays,
    i: int,
    rate_hz: float,
    now_ns: int,
    cfg: QualitySettings,
    drift_ppm: float | None,
) -> ChannelVerdict:
    """State and reasons of channel ``i``; FAILED channels are excluded from analysis."""
    if qa.samples[i] == 0:
        return ChannelVerdict("NO_DATA", (), 0.0)
    failed: list[str] = []
    degraded: list[str] = []
    flat_s = float(qa.carry_run[i]) / rate_hz if rate_hz > 0 else 0.0
    if flat_s >= cfg.flatline_s:
        failed.append(f"flatline: constant value {qa.carry_last[i]:.6g} for {flat_s:.1f} s (limit {cfg.flatline_s:g} s)")
    if qa.last_clip_ns[i] and (now_ns - qa.last_clip_ns[i]) / NS <= cfg.clip_window_s:
        failed.append(f"clipping: {int(qa.clipped[i])} samples at full scale, the last {(now_ns - qa.last_clip_ns[i]) / NS:.0f} s ago")
    if qa.last_gap_ns[i] and (now_ns - qa.last_gap_ns[i]) / NS <= RECENT_S:
        degraded.append(f"gaps: {int(qa.gaps[i])} totalling {qa.gap_total_s[i]:.3f} s")
    if qa.last_spike_ns[i] and (now_ns - qa.last_spike_ns[i]) / NS <= RECENT_S:
        degraded.append(f"spikes: {int(qa.spikes[i])} isolated outliers")
    if qa.latency_s[i] > cfg.latency_warn_s:
        degraded.append(f"latency: {qa.latency_s[i]:.1f} s (limit {cfg.latency_warn_s:g} s)")
    if drift_ppm is not None and abs(drift_ppm) > cfg.clock_drift_warn_ppm:
        degraded.append(f"clock drift: {drift_ppm:+.0f} ppm (limit {cfg.clock_drift_warn_ppm:g} ppm)")
    if 0 <= qa.timing_quality[i] < 50:
        degraded.append(f"timing quality: {int(qa.timing_quality[i])} % reported by the gateway")
    if failed:
        return ChannelVerdict("FAILED", tuple(failed + degraded), flat_s)
    if degraded:
        return ChannelVerdict("DEGRADED", tuple(degraded), flat_s)
    return ChannelVerdict("OK", (), flat_s)
