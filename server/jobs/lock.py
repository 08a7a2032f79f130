"""The single-active-scheduler lock.

APScheduler 3.x has no coordination between schedulers sharing a job store, so a
deployment must run exactly one. SQLite deployments (one host) take an exclusive
``flock`` on ``<data-dir>/scheduler.lock``; PostgreSQL deployments hold a
session-level advisory lock on a dedicated connection. Both are released by the
operating system or the database when the holder dies, so a survivor can take over.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

PG_SCHEDULER_LOCK = 0x5157_5343  # "QWSC"


class SchedulerLock:
    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self.engine = engine
        self.path = Path(data_dir) / "scheduler.lock"
        self._fd = -1
        self._conn: Any = None

    @property
    def held(self) -> bool:
        return self._fd >= 0 or self._conn is not None

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_SCHEDULER_LOCK}).scalar()
            conn.commit()
            if got:
                self._conn = conn
                return True
            conn.close()
            return False
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_SCHEDULER_LOCK})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
