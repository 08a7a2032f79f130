# Type stub of the compiled module ext/_filters.pyx (documentation in filters.py).
import numpy as np
import numpy.typing as npt

class SosFilter:
    n_channels: int
    n_sections: int
    zi_steady: npt.NDArray[np.float64] | None
    def __init__(self, sos: npt.ArrayLike, n_channels: int, scale: npt.ArrayLike | None = ..., zi_steady: npt.ArrayLike | None = ...) -> None: ...
    def reset(self) -> None: ...
    def process(self, block: np.ndarray) -> npt.NDArray[np.float64]: ...
