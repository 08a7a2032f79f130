"""A small reader for SAC binary files (evenly sampled time series).

Layout (SAC User Manual, "SAC Data Format"): a 632-byte header of 70 float32, 40
int32 and 192 bytes of 8-character strings, then ``npts`` float32 samples. The byte
order is recognised from the header version ``nvhdr`` (int word 6), which is 6 (or 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

HEADER_BYTES = 632
UNDEFINED = -12345


@dataclass(frozen=True)
class SacTrace:
    seed_id: str
    start_ns: int
    sample_rate_hz: float
    samples: np.ndarray  # float32


def _str(raw: bytes, offset: int, size: int = 8) -> str:
    s = raw[offset : offset + size].decode("ascii", errors="replace").strip().strip("\x00")
    return "" if s == str(UNDEFINED) else s


def read_sac(path: Path) -> SacTrace:
    raw = Path(path).read_bytes()
    if len(raw) < HEADER_BYTES:
        raise ValueError(f"{path}: not a SAC file (shorter than its 632-byte header)")
    for order in ("<", ">"):
        ints = np.frombuffer(raw, dtype=f"{order}i4", count=40, offset=280)
        if ints[6] in (6, 7):
            break
    else:
        raise ValueError(f"{path}: not a SAC binary file (header version nvhdr is not 6 or 7)")
    floats = np.frombuffer(raw, dtype=f"{order}f4", count=70, offset=0)
    delta, b = float(floats[0]), float(floats[5])
    npts, leven = int(ints[9]), int(ints[35])
    if leven == 0:
        raise ValueError(f"{path}: unevenly sampled SAC files are not supported")
    if not delta > 0:
        raise ValueError(f"{path}: delta must be > 0, got {delta}")
    if len(raw) < HEADER_BYTES + 4 * npts:
        raise ValueError(f"{path}: truncated: header says {npts} samples")
    year, jday, hour, minute, sec, msec = (int(v) for v in ints[:6])
    if UNDEFINED in (year, jday):
        raise ValueError(f"{path}: reference time (nzyear, nzjday) is undefined")
    ref = datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=jday - 1, hours=hour, minutes=minute, seconds=sec)
    # integer arithmetic: float seconds since 1970 cannot hold nanoseconds; b is a
    # float32 offset, meaningful to the microsecond at most
    start_ns = int(ref.timestamp()) * 1_000_000_000 + msec * 1_000_000 + round(b * 1e6) * 1000
    net, sta, loc, cha = _str(raw, 608), _str(raw, 440), _str(raw, 464), _str(raw, 600)
    data = np.frombuffer(raw, dtype=f"{order}f4", count=npts, offset=HEADER_BYTES).astype(np.float32)
    # delta is stored in float32: round the rate to what it evidently is (e.g. 100.0 Hz, not 99.99999)
    rate = float(np.float32(1.0) / np.float32(delta))
    rate = round(rate, 6) if abs(rate - round(rate)) > 1e-4 else float(round(rate))
    return SacTrace(f"{net or 'XX'}.{sta or 'SAC'}.{loc}.{cha or 'HNZ'}", start_ns, rate, data)
