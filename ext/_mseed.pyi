# Type stub of the compiled module ext/_mseed.pyx (documentation lives there and in mseed.py).
from typing import Final

import numpy as np

IDENT_BYTES: Final[int]

def plan_records(start_ns: int, rate_hz: float, count: int, max_record_length: int) -> list[tuple[int, int, int]]: ...
def pack_float32_rows(
    blocks: list[np.ndarray],
    skip: int,
    count: int,
    start_ns: int,
    rate_hz: float,
    idents: list[bytes],
    max_record_length: int,
) -> list[bytes]: ...
def pack_float32_many(jobs: list[tuple[list[np.ndarray], int, int, int, float, list[bytes]]], max_record_length: int) -> list[list[bytes]]: ...
def write_all(fds: list[int], payloads: list[bytes]) -> list[int]: ...
def checksum(data: bytes | bytearray | memoryview) -> int: ...
