# Type stub of the compiled module ext/_motion.pyx (documentation lives there and in motion.py).
from typing import Final

import numpy as np
import numpy.typing as npt

def sdof_peaks(
    acc: np.ndarray, dt_s: float, periods_s: npt.NDArray[np.float64], damping: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def coefficients(dt_s: float, periods_s: npt.NDArray[np.float64], damping: float) -> npt.NDArray[np.float64]: ...

T_PGA: Final[int]
T_PGV: Final[int]
T_PGD: Final[int]
T_ARIAS: Final[int]
T_CAV: Final[int]
T_START: Final[int]
T_END1: Final[int]
T_END2: Final[int]

def time_domain(
    acc: npt.NDArray[np.float64], dt_s: float, q_start: float, q_end1: float, q_end2: float
) -> npt.NDArray[np.float64]: ...
def vector_peaks(acc: npt.NDArray[np.float64], dt_s: float) -> tuple[float, float]: ...
def sosfilt_inplace(sos: npt.NDArray[np.float64], y: npt.NDArray[np.float64], zero_phase: bool) -> None: ...
