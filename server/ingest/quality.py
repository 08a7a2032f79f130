"""Judging the running data-quality state of a structure's channels.

The state itself is a :class:`quakewatch.ext.quality.QualityTracker` per structure,
updated by the ingest path once per block. Soft failure: a channel that is flat,
clipped, spiky, late or gappy is marked with reasons; the stream goes on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quakewatch.ext.quality import QualityTracker

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


@dataclass(frozen=True)
class ChannelVerdict:
    state: str  # "NO_DATA" | "OK" | "DEGRADED" | "FAILED"
    reasons: tuple[str, ...]
    flatline_s: float


def assess(
    qa: QualityTracker,
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
