"""Commit journal of the waveform archive: what makes an ACK mean "on disk".

Each group commit writes three things, each followed by ``fdatasync``:

1. ``BEGIN``: the size of every archive file the commit will append to;
2. the miniSEED records themselves;
3. ``END``: the last sequence and end time of every stream and channel the commit
   carried.

Only after (3) are the blocks acknowledged. On start-up, :func:`recover` reads the
journal: a ``BEGIN`` without its ``END`` means the process died mid-commit, so
those files are truncated back to their recorded sizes (the blocks were never
acknowledged and the gateway sends them again). The latest ``END`` per stream gives
the resume points. The journal is compacted into ``state.json`` (written to a
temporary file, synced and renamed) when it grows past ``compact_bytes``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

JOURNAL = "commits.log"
SNAPSHOT = "state.json"


@dataclass
class StreamMark:
    """Last durable block of a stream."""

    sequence: int
    end_time_ns: int


@dataclass
class DurableState:
    streams: dict[str, StreamMark] = field(default_factory=dict)  # "structure/stream" -> mark
    channels: dict[str, int] = field(default_factory=dict)  # "structure/channel" -> end time ns
    rates: dict[str, float] = field(default_factory=dict)  # "structure/channel" -> sample rate

    def to_json(self) -> dict[str, Any]:
        return {
            "streams": {k: [m.sequence, m.end_time_ns] for k, m in self.streams.items()},
            "channels": self.channels,
            "rates": self.rates,
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
        path = self.dir / JOURNAL
        open_begin: dict[str, Any] | None = None
        if path.exists():
            with open(path, "rb") as fh:
                lines = fh.readlines()
            for k, raw in enumerate(lines):
                last = k == len(lines) - 1
                try:
                    rec = json.loads(raw) if raw.endswith(b"\n") else None
                except json.JSONDecodeError:
                    rec = None
                if rec is None:
                    if last:
                        break  # torn last line: never synced, so never acknowledged
                    raise RuntimeError(f"journal: {path} line {k + 1} is corrupt; refusing to guess the durable state")
                self._commit_id = max(self._commit_id, int(rec.get("id", 0)))
                if rec["t"] == "B":
                    open_begin = rec
                elif rec["t"] == "E":
                    self.state.apply(rec)
                    open_begin = None
                elif rec["t"] == "P":
                    self.state.remove_structure(rec["structure_id"])
        if open_begin is not None:
            for rel, size in open_begin["files"].items():
                f = self.archive_root / rel
                if f.exists() and f.stat().st_size > size:
                    with open(f, "r+b") as fh:
                        fh.truncate(size)
                        os.fsync(fh.fileno())
                    repaired.append(f"truncated {rel} to {size} bytes (commit {open_begin['id']} never completed)")
        self._compact()
        return repaired

    # -- commit protocol ----------------------------------------------------------
    def begin(self, file_sizes: dict[str, int]) -> int:
        self._commit_id += 1
        self._append({"t": "B", "id": self._commit_id, "files": file_sizes})
        return self._commit_id

    def end(self, commit_id: int, streams: dict[str, StreamMark], channels: dict[str, int], rates: dict[str, float]) -> None:
        rec = {
            "t": "E",
            "id": commit_id,
            "streams": {k: [m.sequence, m.end_time_ns] for k, m in streams.items()},
            "channels": channels,
            "rates": rates,
        }
        self._append(rec)  # from here on the commit is durable: nothing below may fail it
        self.state.apply(rec)
        if self._size() > self.compact_bytes:
            try:
                self._compact()
            except OSError:
                log.exception("journal compaction failed; will retry after the next commit")

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

    def _append(self, rec: dict[str, Any]) -> None:
        fd = self._open()
        size = self._bytes
        data = (json.dumps(rec, separators=(",", ":")) + "\n").encode()
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
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
