"""Fan-out of live messages (events, alerts) to gRPC Watch streams.

A publisher on any thread hands a message to every subscriber allowed to see it: same
tenant (or an all-tenant principal), the structure asked for (or any) and, when the
subscriber gave a filter, one it accepts.  Each subscriber owns a bounded asyncio queue
on its own event loop; a subscriber that stops reading is cut off (a ``None`` sentinel
with ``dropped`` set), never waited for, so one slow client cannot stall the server.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from quakewatch.v1 import alerts_pb2

from ..errors import ResourceExhausted
from ..storage.tokens import Principal

__all__ = ["EXERCISE_PREFIX", "QUEUE_LIMIT", "AlertHub", "Hub", "Subscriber", "drain"]

QUEUE_LIMIT = 1000  # messages buffered per watcher before it is dropped
M = TypeVar("M")


@dataclass
class Subscriber(Generic[M]):
    principal: Principal
    structure_id: str
    queue: asyncio.Queue[M | None]
    loop: asyncio.AbstractEventLoop
    accept: Callable[[M], bool] | None = None
    dropped: bool = False


class Hub(Generic[M]):
    """Thread-safe publish to subscribers; ``structure_of`` names a message's structure."""

    def __init__(self, structure_of: Callable[[M], str]) -> None:
        self._structure_of = structure_of
        self._subs: list[Subscriber[M]] = []
        self._lock = threading.Lock()

    def subscribe(self, principal: Principal, structure_id: str, accept: Callable[[M], bool] | None = None) -> Subscriber[M]:
        sub: Subscriber[M] = Subscriber(principal, structure_id, asyncio.Queue(QUEUE_LIMIT + 1), asyncio.get_running_loop(), accept)
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscriber[M]) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def publish(self, tenant: str | frozenset[str], msg: M) -> None:
        """Hand ``msg`` to the subscribers allowed to see it: all-tenant principals and
        those of ``tenant`` (or of any tenant in the set: one message, never duplicated)."""
        tenants = tenant if isinstance(tenant, frozenset) else frozenset((tenant,))
        with self._lock:
            subs = list(self._subs)
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # a worker thread
            here = None
        structure = self._structure_of(msg)
        for sub in subs:
            p = sub.principal
            if p.tenant is not None and p.tenant not in tenants:
                continue
            if sub.structure_id and sub.structure_id != structure:
                continue
            if sub.accept is not None and not sub.accept(msg):
                continue
            if sub.loop is here:
                self._put(sub, msg)
            else:
                sub.loop.call_soon_threadsafe(self._put, sub, msg)

    @staticmethod
    def _put(sub: Subscriber[M], msg: M) -> None:
        if sub.dropped:
            return
        if sub.queue.qsize() >= QUEUE_LIMIT:
            sub.dropped = True
            sub.queue.put_nowait(None)
            return
        sub.queue.put_nowait(msg)

    def close_all(self) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.loop.call_soon_threadsafe(sub.queue.put_nowait, None)


async def drain(hub: Hub[M], sub: Subscriber[M], what: str) -> AsyncIterator[M]:
    """A subscriber's messages until the hub closes; a dropped subscriber ends with
    RESOURCE_EXHAUSTED (``what`` names the messages in the error); always unsubscribes."""
    try:
        while True:
            msg = await sub.queue.get()
            if msg is None:
                if sub.dropped:
                    raise ResourceExhausted(f"watch: more than {QUEUE_LIMIT} {what} were not read; reconnect and catch up")
                return
            yield msg
    finally:
        hub.unsubscribe(sub)


EXERCISE_PREFIX = "EXERCISE: "


class AlertHub(Hub[alerts_pb2.Alert]):
    """Fan-out of alerts to ``AlertService.Watch`` streams.

    ``exercise``: the server runs a drill; producers render CAP documents with status
    Exercise (they read this flag), and every alert is marked ``exercise`` with its
    headline prefixed ``EXERCISE:`` here, where all of them pass.
    """

    def __init__(self, exercise: bool = False) -> None:
        super().__init__(lambda a: a.structure_id)
        self.exercise = exercise

    def publish(self, tenant: str | frozenset[str], msg: alerts_pb2.Alert) -> None:
        if self.exercise:
            msg.exercise = True
            if not msg.headline.startswith(EXERCISE_PREFIX):
                msg.headline = EXERCISE_PREFIX + msg.headline
        super().publish(tenant, msg)
