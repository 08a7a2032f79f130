"""The native miniSEED 2 writer: byte for byte what libmseed (pymseed) writes for the
same samples and record length, and read back exactly by ObsPy (an independent reader)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from quakewatch.ext import mseed

obspy = pytest.importorskip("obspy")
pymseed = pytest.importorskip("pymseed")

NS = 1_000_000_000
IDENT = mseed.ident("QW", "BR1", "00", "HNZ")


def _libmseed_record(samples: np.ndarray, start_ns: int, rate_hz: float, length: int) -> list[bytes]:
    msr = pymseed.MS3Record()
    msr.sourceid = "FDSN:QW_BR1_00_H_N_Z"
    msr.reclen = length
    msr.formatversion = 2
    msr.samprate = rate_hz
    msr.starttime = start_ns
    msr.encoding = pymseed.DataEncoding.FLOAT32
    with msr.with_datasamples(np.ascontiguousarray(samples, dtype=np.float32), "f") as m:
        return list(m.generate())


def _cases(n_cases: int, seed: int) -> list[tuple[int, float, int, int]]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_cases):
        rate = float(rng.choice([1, 3, 7, 20, 100, 200, 250, 300, 500, 1000, 8000, 10000, 20000]))
        start = int(rng.integers(0, 4_102_444_800 * NS))  # 1970 .. 2100
        if k % 3 == 0:  # rounding ties at the microsecond and 0.1 ms
            start = start // 100_000 * 100_000 + int(rng.choice([0, 500, 499, 50_000, 49_500, 50_500, 99_500]))
        out.append((start, rate, int(rng.integers(1, 2500)), int(rng.choice([256, 512, 4096]))))
    return out


@pytest.mark.parametrize("case", _cases(120, 1))
def test_records_are_byte_identical_to_libmseed(case: tuple[int, float, int, int]) -> None:
    start, rate, n, max_len = case
    x = np.random.default_rng(n).normal(size=(2, n)).astype(np.float32)
    cut = n // 3
    blocks = [np.ascontiguousarray(x[:, :cut]), np.ascontiguousarray(x[:, cut:])]
    packed = mseed.pack_float32(blocks, start, rate, [IDENT, IDENT], max_record_length=max_len)
    plan = mseed.plan_records(start, rate, n, max_len)
    assert sum(c for _, c, _ in plan) == n
    for row in range(2):
        assert len(packed[row]) == sum(length for _, _, length in plan)
        offset = 0
        for first, count, length in plan:
            ours = packed[row][offset : offset + length]
            offset += length
            rec_start = start + int(first / rate * 1e9 + 0.5)
            theirs = _libmseed_record(x[row, first : first + count], rec_start, rate, length)
            assert theirs == [ours], (first, count, length)


def test_obspy_reads_back_samples_and_times(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    start = 1_767_225_600 * NS + 123_456_789  # 2026-01-01T00:00:00.123456789Z
    blocks = [rng.normal(size=(3, 200)).astype(np.float32) for _ in range(7)]
    idents = [mseed.ident("QW", "BR1", f"0{i}", "HNZ") for i in range(3)]
    packed = mseed.pack_float32(blocks, start, 200.0, idents, skip=50, count=1000)
    for row, data in enumerate(packed):
        f = tmp_path / f"row{row}.mseed"
        f.write_bytes(data)
        st = obspy.read(str(f))
        st.merge(method=-1)
        assert len(st) == 1
        tr = st[0]
        expected = np.concatenate([b[row] for b in blocks])[50:1050]
        np.testing.assert_array_equal(tr.data, expected)
        assert tr.stats.sampling_rate == 200.0
        assert tr.stats.location == f"0{row}" and tr.stats.station == "BR1" and tr.stats.network == "QW"
        # sample 50 after ``start``... is ``start`` itself: the caller passes the time of sample ``skip``
        assert tr.stats.starttime == obspy.UTCDateTime(ns=(start + 500) // 1000 * 1000)


def test_bad_input_is_refused_with_the_field_named() -> None:
    x = np.zeros((1, 10), np.float32)
    with pytest.raises(ValueError, match="rate_hz"):
        mseed.pack_float32([x], 0, 0.5, [IDENT])
    with pytest.raises(ValueError, match="max_record_length"):
        mseed.pack_float32([x], 0, 100.0, [IDENT], max_record_length=300)
    with pytest.raises(ValueError, match="blocks\\[0\\]"):
        mseed.pack_float32([x.astype(np.float64)], 0, 100.0, [IDENT])
    with pytest.raises(ValueError, match="blocks\\[0\\]"):
        mseed.pack_float32([np.zeros((2, 10), np.float32)[:, ::2]], 0, 100.0, [IDENT, IDENT])
    with pytest.raises(ValueError, match="skip"):
        mseed.pack_float32([x], 0, 100.0, [IDENT], skip=5, count=6)
    with pytest.raises(ValueError, match="idents"):
        mseed.pack_float32([x], 0, 100.0, [b"short"])
    with pytest.raises(ValueError, match="station"):
        mseed.ident("QW", "TOOLONG", "00", "HNZ")


def test_input_is_not_modified() -> None:
    x = np.random.default_rng(0).normal(size=(2, 300)).astype(np.float32)
    before = x.copy()
    mseed.pack_float32([x], 1_700_000_000 * NS, 100.0, [IDENT, IDENT])
    np.testing.assert_array_equal(x, before)


def test_write_all_appends_every_payload_and_reports_a_failure(tmp_path: Path) -> None:
    paths = [tmp_path / f"f{i}" for i in range(3)]
    fds = [os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) for p in paths]
    try:
        mseed.write_all(fds, [b"a" * 10, b"b" * 70_000, b""])
        mseed.write_all(fds[:1], [b"c"])
        assert [p.read_bytes() for p in paths] == [b"a" * 10 + b"c", b"b" * 70_000, b""]
        ro = os.open(paths[0], os.O_RDONLY)
        try:
            with pytest.raises(OSError) as err:
                mseed.write_all([fds[1], ro], [b"x", b"y"])
            assert err.value.errno is not None
            assert paths[1].read_bytes().endswith(b"x")  # the write before the failure happened
        finally:
            os.close(ro)
    finally:
        for fd in fds:
            os.close(fd)
