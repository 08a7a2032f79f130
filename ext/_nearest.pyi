# Type stub of the compiled module ext/_nearest.pyx (documentation lives there and in nearest_site.py).
import numpy as np
import numpy.typing as npt

def nearest(
    site_lon: npt.NDArray[np.float64],
    site_lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    radius: float,
    max_chord: float = ...,
    max_shells: int = ...,
    threads: int = ...,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...
