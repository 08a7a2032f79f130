"""The APScheduler instance and the service's periodic jobs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from .lock import SchedulerLock

log = logging.getLogger(__name__)
AsyncJob = Callable[[], Coroutine[Any, Any, None]]


class Scheduler:
    """Runs jobs only while this process holds the deployment's scheduler lock;
    a process that does not get it retries every ``retry_s`` and takes over when the
    holder goes away."""

    def __init__(self, lock: SchedulerLock, retry_s: float = 30.0) -> None:
        self.lock = lock
        self.retry_s = retry_s
        self._aps = AsyncIOScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60})
        self._jobs: list[tuple[str, AsyncJob, dict[str, Any]]] = []
        self._waiter: asyncio.Task[None] | None = None
        self.active = False

    def add_interval(self, name: str, fn: AsyncJob, seconds: float) -> None:
        self._jobs.append((name, fn, {"trigger": "interval", "seconds": seconds}))

    async def start(self) -> None:
        if await asyncio.to_thread(self.lock.try_acquire):
            self._activate()
        else:
            log.info("scheduler lock held by another process; standing by")
            self._waiter = asyncio.create_task(self._wait_for_lock())

    def _activate(self) -> None:
        for name, fn, trig in self._jobs:
            self._aps.add_job(fn, id=name, name=name, **trig)
        self._aps.start()
        self.active = True
        log.info("scheduler active jobs=%s", ",".join(n for n, _, _ in self._jobs))

    async def _wait_for_lock(self) -> None:
        while True:
            await asyncio.sleep(self.retry_s)
            if await asyncio.to_thread(self.lock.try_acquire):
                self._activate()
                return

    async def stop(self) -> None:
        if self._waiter is not None:
            self._waiter.cancel()
        if self.active:
            self._aps.shutdown(wait=False)
            self.active = False
        await asyncio.to_thread(self.lock.release)
