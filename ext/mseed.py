"""miniSEED 2.4 writer for float32 samples, many channels in one call.

:func:`pack_float32` turns the rows of consecutive ingest blocks (each of shape
``(n_channels, n_samples)``, all with the same channels) into one byte string of
records per channel, with no intermediate concatenation: the archive's per-commit
hot path.

Record layout (SEED 2.4 manual, chapter 8), identical to what libmseed 3 writes
for the same samples and record length:

* 48-byte fixed header: sequence number ``000000``, quality ``D``, station,
  location, channel, network, BTIME start (rounded to 0.1 ms), sample count,
  sample rate factor (the rate, a whole number of Hz) and multiplier 1, no
  flags, no time correction;
* blockette 1000: encoding 4 (IEEE float32), big-endian, record length;
* blockette 1001 with the microsecond offset (-50..49) from the BTIME, so start
  times are exact to the microsecond (the start in ns is rounded to the nearest
  microsecond, then to the nearest 0.1 ms for the BTIME); present when the offset
  is not 0, and in every record when the sample period is not a whole number of
  0.1 ms;
* big-endian float32 samples, zero padding to the record length.

Record lengths: the smallest power of two (>= 256 bytes) that holds the rest
of the samples, at most ``max_record_length``; so a one-second block fills one
small record and a long group commit uses full large records and one small tail.
libmseed and ObsPy read files whose records differ in length.

Rates that are not a whole number of Hz (which need a factor/multiplier pair
and blockette 100) and integer samples (STEIM2) are not handled here: the
archive packs those with libmseed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from quakewatch.ext import _mseed

__all__ = ["IDENT_BYTES", "checksum", "ident", "pack_float32", "pack_float32_many", "plan_records", "supports_rate", "write_all"]

#: Length of a channel identity in the fixed header (station, location, channel, network).
IDENT_BYTES: int = _mseed.IDENT_BYTES


def ident(network: str, station: str, location: str, channel: str) -> bytes:
    """The 12 identity bytes of the fixed header: station (5), location (2),
    channel (3), network (2), ASCII, space padded.

    Raises
    ------
    ValueError
        A code is longer than its field or not printable ASCII.
    """
    out = b""
    for name, code, width in (("station", station, 5), ("location", location, 2), ("channel", channel, 3), ("network", network, 2)):
        raw = code.encode("ascii", "strict") if code.isascii() and code.isprintable() else None
        if raw is None or len(raw) > width:
            raise ValueError(f"{name}: {code!r} must be at most {width} printable ASCII characters")
        out += raw.ljust(width, b" ")
    return out


def supports_rate(rate_hz: float) -> bool:
    """Whether :func:`pack_float32` can write this rate (a whole number of Hz, 1..32767)."""
    return 1.0 <= rate_hz <= 32767.0 and float(rate_hz).is_integer()


def plan_records(start_ns: int, rate_hz: float, count: int, max_record_length: int = 4096) -> list[tuple[int, int, int]]:
    """Record layout of ``count`` samples from ``start_ns``: ``(first sample, samples, length)`` per record."""
    return list(_mseed.plan_records(start_ns, rate_hz, count, max_record_length))


def pack_float32(
    blocks: Sequence[np.ndarray],
    start_ns: int,
    rate_hz: float,
    idents: Sequence[bytes],
    *,
    skip: int = 0,
    count: int | None = None,
    max_record_length: int = 4096,
) -> list[bytes]:
    """miniSEED 2 records of every row of consecutive blocks.

    Parameters
    ----------
    blocks : sequence of ndarray of float32, each of shape (n_rows, n_i)
        Consecutive blocks of the same channels, joined along time (axis 1).
        C-contiguous, native byte order; never modified.
    start_ns : int
        Time of sample ``skip``, ns since 1970-01-01 UTC.
    rate_hz : float
        Sample rate, a whole number of Hz in 1..32767 (see :func:`supports_rate`).
    idents : sequence of bytes
        :func:`ident` of each row.
    skip, count : int
        Pack samples ``skip .. skip + count - 1`` of the joined blocks (default:
        all from ``skip``).
    max_record_length : int
        Largest record, a power of two in 256..65536 bytes.

    Returns
    -------
    list of bytes
        Per row, its records back to back (a whole number of records).
    """
    total = sum(int(b.shape[1]) for b in blocks)
    n = total - skip if count is None else count
    return list(_mseed.pack_float32_rows(list(blocks), skip, n, start_ns, rate_hz, list(idents), max_record_length))


#: One series for :func:`pack_float32_many`: (blocks, skip, count, start_ns, rate_hz, idents).
PackJob = tuple[Sequence[np.ndarray], int, int, int, float, Sequence[bytes]]


def pack_float32_many(jobs: Sequence[PackJob], max_record_length: int = 4096) -> list[list[bytes]]:
    """:func:`pack_float32` for several series at once (each job as its arguments,
    ``count`` explicit), with one release of the GIL for all of them."""
    return _mseed.pack_float32_many([(list(b), s, c, t, r, list(i)) for b, s, c, t, r, i in jobs], max_record_length)


def write_all(fds: Sequence[int], payloads: Sequence[bytes]) -> list[int]:
    """Append ``payloads[i]`` to the open file descriptor ``fds[i]``, whole, for
    every i, with one release of the GIL for all of them (a thread writing many
    files behind a busy event loop would otherwise wait for the GIL after every
    write). Returns :func:`checksum` of each payload, computed on the way.

    Raises
    ------
    OSError
        The first failed write (with its errno); earlier files were written,
        later ones were not.
    """
    return list(_mseed.write_all(list(fds), list(payloads)))


def checksum(data: bytes | bytearray | memoryview) -> int:
    """64-bit FNV-1a over 64-bit words, seeded with the length: finds missing, zeroed
    or stale bytes in a file after a crash. Not a cryptographic hash."""
    return int(_mseed.checksum(data))
