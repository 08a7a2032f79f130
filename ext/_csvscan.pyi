# Type stub of the compiled module ext/_csvscan.pyx (documentation lives there and in csv_columns.py).
from typing import Final

import numpy as np
import numpy.typing as npt

REASON_OK: Final[int]
REASON_QUOTE: Final[int]
REASON_FIELDS: Final[int]
REASON_NOT_A_NUMBER: Final[int]
KIND_SKIP: Final[int]
KIND_NUMBER: Final[int]
KIND_TEXT: Final[int]

def scan(
    data: bytes | bytearray | memoryview, start: int, kinds: npt.NDArray[np.int8], n_chunks: int = ...
) -> tuple[int, npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def intern(
    data: bytes | bytearray | memoryview | npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def ascii_texts(
    data: bytes | bytearray | memoryview, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64], threads: int = ...
) -> npt.NDArray[np.str_] | None: ...
