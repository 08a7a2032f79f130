# Type stub of the compiled module ext/_tracker.pyx (documentation lives there).
from typing import Final

import numpy as np
import numpy.typing as npt

OK: Final[int]
RATE_REGISTERED: Final[int]
RATE_STREAMED: Final[int]
OVERLAP: Final[int]
NONFINITE: Final[int]

class QualityTracker:
    n_channels: int
    clip_level: npt.NDArray[np.float64]
    registered_rate_hz: npt.NDArray[np.float64]
    rate_hz: npt.NDArray[np.float64]
    end_ns: npt.NDArray[np.int64]
    durable_end_ns: npt.NDArray[np.int64]
    samples: npt.NDArray[np.int64]
    gaps: npt.NDArray[np.int64]
    gap_total_s: npt.NDArray[np.float64]
    last_gap_ns: npt.NDArray[np.int64]
    overlaps: npt.NDArray[np.int64]
    clipped: npt.NDArray[np.int64]
    last_clip_ns: npt.NDArray[np.int64]
    spikes: npt.NDArray[np.int64]
    last_spike_ns: npt.NDArray[np.int64]
    carry_last: npt.NDArray[np.float64]
    carry_last2: npt.NDArray[np.float64]
    carry_run: npt.NDArray[np.int64]
    latency_s: npt.NDArray[np.float64]
    max_latency_s: npt.NDArray[np.float64]
    last_recv_ns: npt.NDArray[np.int64]
    rms: npt.NDArray[np.float64]
    mean: npt.NDArray[np.float64]
    minimum: npt.NDArray[np.float64]
    maximum: npt.NDArray[np.float64]
    timing_quality: npt.NDArray[np.int32]
    def __init__(self, n_channels: int = 0) -> None: ...
    def grow(self, n_channels: int) -> None: ...
    def update(
        self,
        data: np.ndarray,
        idx: npt.NDArray[np.intp],
        start_ns: int,
        end_ns: int,
        rate_hz: float,
        recv_ns: int,
        timing_quality: int = -1,
        spike_factor: float = 20.0,
        gap_tolerance_samples: float = 0.5,
        overlap_tolerance_samples: float = 0.5,
    ) -> tuple[int, int, int]: ...
    def mark_durable(self, idx: npt.NDArray[np.intp], end_ns: int) -> None: ...
    def rollback(self, idx: npt.NDArray[np.intp]) -> None: ...
