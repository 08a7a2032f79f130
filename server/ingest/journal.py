"""Commit journal of the waveform archive: what makes an ACK mean "on disk".

A group commit, for a batch of blocks appended to a set of archive files:

1. ``BEGIN`` (written and ``fdatasync``-ed first), only when the commit touches a
   file whose durable size the journal does not know (a new day file, a file not
   written since the last compaction, a file changed behind our back): its size
   before the commit;
2. the miniSEED records (appended to the page cache);
3. ``END``: for every file, its size before and after and a checksum of the
   appended bytes (:func:`quakewatch.ext.mseed.checksum`); the last sequence and end time of every stream and channel;
4. one flush that makes (2) and (3) durable together (``syncfs`` of the archive's
   filesystem, or ``fdatasync`` of every file and the journal).

Only after (4) are the blocks acknowledged. A steady stream therefore costs one
flush per commit, not three.

Recovery (:meth:`CommitJournal.recover`) relies on two facts: an ``END`` is written
only after the previous commit's flush succeeded (a failed flush removes its
``END`` again, or stops the writer), so only the *last* ``END`` can describe data
that never reached the disk; and every file a commit may append to is either in a
durable ``BEGIN`` or has a durable size from an earlier ``END``. So: the last
``END`` is checked against the files (sizes and checksums of the appended ranges)
and dropped if anything is missing; a ``BEGIN`` without its ``END`` truncates its
files back; and every file with a known durable size is truncated back to it. The
blocks cut off were never acknowledged and the gateway sends them again: no hole,
no duplicate. The journal is compacted into ``state.json`` (written to a temporary
file, synced and renamed) when it grows past ``compact_bytes``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quakewatch.ext.mseed import checksum

log = logging.getLogger(__name__)

JOURNAL = "commits.log"
SNAPSHOT = "state.json"
MAX_KNOWN_FILES = 100_000  # durable sizes kept for the most recently written files


@dataclass
class StreamMark:
    """Last durable block of a stream."""

    sequence: int
    end_time_ns: int


@dataclass
class PendingEnd:
    """An ``END`` record written but not yet flushed."""

    record: dict[str, Any]
    offset: int  # journal size before it


@dataclass
class DurableState:
    streams: dict[str, StreamMark] = field(default_factory=dict)  # "structure/stream" -> mark
    channels: dict[str, int] = field(default_factory=dict)  # "structure/channel" -> end time ns
    rates: dict[str, float] = field(default_factory=dict)  # "structure/channel" -> sample rate
    files: dict[str, int] = field(default_factory=dict)  # archive file (relative path) -> durable size

    def to_json(self) -> dict[str, Any]:
        return {
            "streams": {k: [m.sequence, m.end_time_ns] for k, m in self.streams.items()},
            "channels": self.channels,
            "rates": self.rates,
            "files": self.files,
        }

    def remove_structure(self, structure_id: str) -> None:
        prefix = structure_id + "/"
        for table in (self.streams, self.channels, self.rates):
            for k in [k for k in table if k.startswith(prefix)]:
                del table[k]

    def apply(self, rec: dict[str, Any]) -> None:
        for k, (seq, end) in rec.get("streams", {}).items():
            self.streams[k] = StreamMark(int(seq), int(end))
        self.channels.update({k: int(v) for k, v in rec.get("channels", {}).items()})
        self.rates.update({k: float(v) for k, v in rec.get("rates", {}).items()})
        for rel, v in rec.get("files", {}).items():
            self.files.pop(rel, None)  # re-inserted last: the dict is in order of last write
            self.files[rel] = int(v[1]) if isinstance(v, list) else int(v)  # END: [before, after, sum]; snapshot: size

    def prune_files(self, max_files: int) -> None:
        """Forget the durable sizes of all but the ``max_files`` most recently written
        files (a later write to one of them goes through a ``BEGIN``): bounds the
        state and recovery's checks."""
        for rel in list(self.files)[: max(0, len(self.files) - max_files)]:
            del self.files[rel]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CommitJournal:
    """Append-only journal; all methods are blocking and run in the archive's commit thread."""

    def __init__(self, directory: Path, archive_root: Path, compact_bytes: int = 16 * 1024 * 1024) -> None:
        self.dir = Path(directory)
        self.archive_root = Path(archive_root)
        self.compact_bytes = compact_bytes
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state = DurableState()
        self._fd = -1
        self._bytes = 0  # journal size while open
        self._commit_id = 0

    # -- start-up -----------------------------------------------------------------
    def recover(self) -> list[str]:
        """Load the durable state and undo a torn commit. Returns what was repaired."""
        repaired: list[str] = []
        snap = self.dir / SNAPSHOT
        if snap.exists():
            self.state.apply(json.loads(snap.read_text()))
        records = self._read_records()
        last_end = max((k for k, r in enumerate(records) if r["t"] == "E"), default=-1)
        if last_end >= 0 and not self._verify(records[last_end], repaired):
            records.pop(last_end)
        open_begin: dict[str, Any] | None = None
        for rec in records:
            self._commit_id = max(self._commit_id, int(rec.get("id", 0)))
            if rec["t"] == "B":
                open_begin = rec
            elif rec["t"] == "E":
                self.state.apply(rec)
                open_begin = None
            elif rec["t"] == "P":
                self.state.remove_structure(rec["structure_id"])
        targets = dict(self.state.files)
        if open_begin is not None:
            targets.update({rel: int(size) for rel, size in open_begin["files"].items()})
        for rel, size in sorted(targets.items()):
            if self._truncate(rel, size):
                repaired.append(f"truncated {rel} to {size} bytes (data of a commit that never completed)")
        self._compact()
        return repaired

    def _read_records(self) -> list[dict[str, Any]]:
        path = self.dir / JOURNAL
        if not path.exists():
            return []
        with open(path, "rb") as fh:
            lines = fh.readlines()
        out: list[dict[str, Any]] = []
        for k, raw in enumerate(lines):
            try:
                rec = json.loads(raw) if raw.endswith(b"\n") else None
            except json.JSONDecodeError:
                rec = None
            if rec is None:
                if k == len(lines) - 1:
                    break  # torn last line: never synced, so never acknowledged
                raise RuntimeError(f"journal: {path} line {k + 1} is corrupt; refusing to guess the durable state")
            out.append(rec)
        return out

    def _verify(self, end: dict[str, Any], repaired: list[str]) -> bool:
        """Whether every byte the ``END`` describes is in its file (it is the only one
        that may have been written without its flush completing)."""
        for rel, (before, after, crc) in end.get("files", {}).items():
            f = self.archive_root / rel
            try:
                with open(f, "rb") as fh:
                    fh.seek(before)
                    data = fh.read(after - before)
            except FileNotFoundError:
                data = b""
            if len(data) != after - before or checksum(data) != crc:
                repaired.append(f"dropped commit {end.get('id')}: {rel} does not hold its data (the flush never completed)")
                for r, (b0, _, _) in end["files"].items():
                    self._truncate(r, int(b0))
                return False
        return True

    def _truncate(self, rel: str, size: int) -> bool:
        f = self.archive_root / rel
        try:
            if f.stat().st_size <= size:
                return False
        except FileNotFoundError:
            return False
        with open(f, "r+b") as fh:
            fh.truncate(size)
            os.fsync(fh.fileno())
        return True

    # -- commit protocol ----------------------------------------------------------
    def durable_size(self, rel: str) -> int | None:
        """The size of an archive file as of the last durable commit, if known."""
        return self.state.files.get(rel)

    def begin(self, file_sizes: dict[str, int]) -> None:
        """Durably record the sizes of files whose durable size is unknown, before
        anything is appended to them."""
        self._append({"t": "B", "id": self._commit_id + 1, "files": file_sizes})

    def write_end(
        self,
        streams: dict[str, StreamMark],
        channels: dict[str, int],
        rates: dict[str, float],
        files: dict[str, tuple[int, int, int]],
    ) -> PendingEnd:
        """Append the ``END`` record without syncing it: the caller's flush makes it
        durable together with the data, then calls :meth:`confirm` (or :meth:`abort`)."""
        self._open()
        offset = self._bytes
        self._commit_id += 1
        rec = {
            "t": "E",
            "id": self._commit_id,
            "streams": {k: [m.sequence, m.end_time_ns] for k, m in streams.items()},
            "channels": channels,
            "rates": rates,
            "files": {rel: list(v) for rel, v in files.items()},
        }
        self._append(rec, sync=False)
        return PendingEnd(rec, offset)

    @property
    def fd(self) -> int:
        """The journal's descriptor (for a flush that covers it)."""
        return self._open()

    def confirm(self, end: PendingEnd) -> None:
        """The flush succeeded: the commit is durable."""
        self.state.apply(end.record)
        if self._size() > self.compact_bytes:
            try:
                self._compact()
            except OSError:
                log.exception("journal compaction failed; will retry after the next commit")

    def abort(self, end: PendingEnd) -> None:
        """The flush failed: take the ``END`` back out, durably, so that it is never
        followed by another one (recovery checks only the last). Raises when that
        fails: the archive must then stop committing."""
        os.ftruncate(self._open(), end.offset)
        os.fdatasync(self._fd)
        self._bytes = end.offset

    def purge(self, structure_id: str) -> None:
        """Forget a deleted structure's resume points, channel ends and rates."""
        self._append({"t": "P", "structure_id": structure_id})
        self.state.remove_structure(structure_id)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # -- internals ----------------------------------------------------------------
    def _open(self) -> int:
        if self._fd < 0:
            self._fd = os.open(self.dir / JOURNAL, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._bytes = os.fstat(self._fd).st_size  # then kept in memory: one system call less per record
        return self._fd

    def _append(self, rec: dict[str, Any], sync: bool = True) -> None:
        fd = self._open()
        size = self._bytes
        data = (json.dumps(rec, separators=(",", ":")) + "\n").encode()
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fdatasync(fd)
        except BaseException:
            os.ftruncate(fd, size)  # never leave a partial record in the middle of the journal
            raise
        self._bytes = size + len(data)

    def _size(self) -> int:
        return self._bytes if self._fd >= 0 else 0

    def _compact(self) -> None:
        """Fold the journal into the snapshot, then start an empty journal."""
        self.close()
        self.state.prune_files(MAX_KNOWN_FILES)
        tmp = self.dir / (SNAPSHOT + ".tmp")
        with open(tmp, "w") as fh:
            json.dump(self.state.to_json(), fh, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.dir / SNAPSHOT)
        _fsync_dir(self.dir)
        with open(self.dir / JOURNAL, "wb") as fh:  # the snapshot now holds everything
            os.fsync(fh.fileno())
        _fsync_dir(self.dir)
