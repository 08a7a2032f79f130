"""The archive's commit protocol: a commit torn by a crash is undone on recovery,
completed commits survive, and the resume points come back."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from quakewatch.server.ingest.archive import ArchiveWriter, PendingBlock, SeedId, contiguous_runs, day_pieces, sds_relpath
from quakewatch.ext.mseed import checksum
from quakewatch.server.ingest.journal import JOURNAL, CommitJournal

NS = 1_000_000_000
T0 = 1_767_225_600 * NS  # 2026-01-01T00:00:00Z
SEED = SeedId("QW", "BR1", "00", "HNZ")


def _commit(w: ArchiveWriter, seq: int, start_ns: int, n: int = 200) -> None:
    async def go() -> None:
        w.start()
        data = (np.arange(n, dtype=np.float32) + seq).reshape(1, n)
        await w.submit(PendingBlock("br1/default", seq, start_ns, start_ns + n * NS // 200, 200.0, (SEED,), ("br1/c0",), data))
        await w.close()

    asyncio.run(go())


def _end_record(jdir: Path, **fields: object) -> None:
    with open(jdir / JOURNAL, "a") as fh:
        fh.write(json.dumps({"t": "E", "id": 100, "streams": {}, "channels": {}, "rates": {}, **fields}) + "\n")


def _one_commit(tmp_path: Path) -> tuple[Path, Path, str, Path, int]:
    """An archive with one committed block: (root, journal dir, file, its path, its size)."""
    root, jdir = tmp_path / "archive", tmp_path / "journal"
    w = ArchiveWriter(root, jdir)
    w.recover()
    _commit(w, 1, T0)
    rel = sds_relpath(SEED, T0)
    return root, jdir, rel, root / rel, (root / rel).stat().st_size


def test_last_end_without_its_data_is_dropped(tmp_path: Path) -> None:
    """The END reached the disk, the data did not (the crash came during the flush)."""
    root, jdir, rel, f, size = _one_commit(tmp_path)
    intended = b"\x01" * 512
    with open(f, "ab") as fh:  # what reached the disk: zeros where the records should be
        fh.write(b"\x00" * 512)
    _end_record(jdir, streams={"br1/default": [2, T0 + 2 * NS]}, files={rel: [size, size + 512, checksum(intended)]})
    w2 = ArchiveWriter(root, jdir)
    repaired = w2.recover()
    assert any("dropped commit" in r for r in repaired)
    assert f.stat().st_size == size and w2.journal.state.streams["br1/default"].sequence == 1
    assert w2.journal.durable_size(rel) == size


def test_last_end_with_its_data_stands_and_later_bytes_go(tmp_path: Path) -> None:
    """A complete commit survives; bytes of the next commit (written, no END yet) are cut."""
    root, jdir, rel, f, size = _one_commit(tmp_path)
    second = b"\x02" * 512
    with open(f, "ab") as fh:
        fh.write(second + b"\x03" * 256)  # commit 2, then commit 3's data without its END
    _end_record(jdir, streams={"br1/default": [2, T0 + 2 * NS]}, files={rel: [size, size + 512, checksum(second)]})
    w2 = ArchiveWriter(root, jdir)
    repaired = w2.recover()
    assert f.stat().st_size == size + 512 and repaired
    assert w2.journal.state.streams["br1/default"].sequence == 2


def test_steady_commits_skip_begin_new_files_do_not(tmp_path: Path) -> None:
    root, jdir = tmp_path / "archive", tmp_path / "journal"
    w = ArchiveWriter(root, jdir)
    w.recover()

    async def go() -> None:
        w.start()
        for seq in range(1, 4):
            start = T0 + (seq - 1) * NS
            data = np.full((1, 200), seq, np.float32)
            await w.submit(PendingBlock("br1/default", seq, start, start + NS, 200.0, (SEED,), ("br1/c0",), data))
        await w.close()

    asyncio.run(go())
    kinds = [json.loads(line)["t"] for line in (jdir / JOURNAL).read_text().splitlines()]
    assert kinds == ["B", "E", "E", "E"]  # the day file is new once, then known


def test_torn_commit_is_truncated_and_completed_ones_survive(tmp_path: Path) -> None:
    import obspy

    root, jdir = tmp_path / "archive", tmp_path / "journal"
    w = ArchiveWriter(root, jdir)
    w.recover()
    _commit(w, 1, T0)
    f = root / sds_relpath(SEED, T0)
    good_size = f.stat().st_size
    # simulate a crash between the data write and the END record: BEGIN + garbage records
    with open(jdir / JOURNAL, "a") as fh:
        fh.write(json.dumps({"t": "B", "id": 99, "files": {sds_relpath(SEED, T0): good_size}}) + "\n")
    with open(f, "ab") as fh:
        fh.write(b"\xff" * 512)
    w2 = ArchiveWriter(root, jdir)
    repaired = w2.recover()
    assert repaired and f.stat().st_size == good_size
    assert w2.journal.state.streams["br1/default"].sequence == 1
    st = obspy.read(str(f))
    assert st[0].stats.npts == 200 and st[0].stats.starttime == obspy.UTCDateTime(ns=T0)


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    j = CommitJournal(tmp_path / "j", tmp_path / "a")
    j.recover()
    j.begin({})
    j.confirm(j.write_end({}, {"s/c": 5}, {}, {}))
    j.close()
    with open(tmp_path / "j" / JOURNAL, "a") as fh:
        fh.write('{"t":"E","id":7,"streams":{"s/x":[9,')  # no newline: never synced
    j2 = CommitJournal(tmp_path / "j", tmp_path / "a")
    j2.recover()
    assert j2.state.channels == {"s/c": 5} and "s/x" not in j2.state.streams


def test_compaction_keeps_state(tmp_path: Path) -> None:
    j = CommitJournal(tmp_path / "j", tmp_path / "a", compact_bytes=200)
    j.recover()
    from quakewatch.server.ingest.journal import StreamMark

    for i in range(1, 50):
        j.confirm(j.write_end({"s/default": StreamMark(i, i * 10)}, {}, {}, {}))
    j.close()
    assert (tmp_path / "j" / JOURNAL).stat().st_size < 1000
    j2 = CommitJournal(tmp_path / "j", tmp_path / "a")
    j2.recover()
    assert j2.state.streams["s/default"].sequence == 49


@pytest.mark.reference
def test_day_boundary_split_matches_sds_convention(tmp_path: Path) -> None:
    """A segment crossing UTC midnight lands in two day files (SDS: one file per day)."""
    import obspy

    w = ArchiveWriter(tmp_path / "a", tmp_path / "j")
    w.recover()
    start = T0 - 1 * NS  # 23:59:59
    _commit(w, 1, start, n=400)  # 2 s at 200 Hz
    files = sorted((tmp_path / "a").rglob("*.D.*"))
    assert [p.name[-8:] for p in files] == ["2025.365", "2026.001"]
    st = obspy.Stream()
    for p in files:
        st += obspy.read(str(p))
    st.sort()
    assert [tr.stats.npts for tr in st] == [200, 200]
    assert st[1].stats.starttime == obspy.UTCDateTime(ns=T0)
    st.merge(method=-1)
    assert len(st) == 1 and st[0].stats.npts == 400


def _block(seq: int, start_ns: int, seeds: tuple[SeedId, ...] = (SEED,), n: int = 200) -> PendingBlock:
    data = np.zeros((len(seeds), n), np.float32)
    return PendingBlock("br1/default", seq, start_ns, start_ns + n * NS // 200, 200.0, seeds, tuple(f"br1/c{i}" for i in range(len(seeds))), data)


def test_contiguous_runs_cut_at_gaps_and_channel_lists() -> None:
    other = (SeedId("QW", "BR1", "00", "HNE"),)
    a, b, c = _block(1, T0), _block(2, T0 + NS), _block(3, T0 + 3 * NS)  # gap before c
    d = _block(4, T0 + 4 * NS, other)
    runs = contiguous_runs([a, b, c, d])
    assert [[x.sequence for x in r] for r in runs] == [[1, 2], [3], [4]]


def test_day_pieces_split_at_utc_midnight() -> None:
    # 200 Hz from 0.5 s before midnight: 100 samples on the first day, the rest on the next
    start = T0 - NS // 2
    assert day_pieces(start, 300, 200.0) == [(0, 100, start), (100, 200, T0)]
    assert day_pieces(T0, 300, 200.0) == [(0, 300, T0)]
    # a sample exactly at midnight belongs to the new day
    assert day_pieces(T0 - NS, 200, 200.0) == [(0, 200, T0 - NS)]
    assert day_pieces(T0 - NS, 201, 200.0) == [(0, 200, T0 - NS), (200, 1, T0)]
