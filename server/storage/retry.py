"""Redo a database unit of work that lost a race on a unique constraint."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import IntegrityError

P = ParamSpec("P")
T = TypeVar("T")


def rerun_on_integrity_error(
    *,
    attempts: int = 20,
    when: Callable[[IntegrityError], bool] = lambda exc: True,
    exhausted: Callable[[IntegrityError], Exception] | None = None,
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorator: run the unit again (from the start, on fresh state) while it fails with
    an integrity error that ``when`` calls a race; after ``attempts`` tries raise
    ``exhausted(last error)``, or the error itself."""

    def decorate(fn: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            last: IntegrityError | None = None
            for attempt in range(attempts):
                try:
                    return fn(*args, **kwargs)
                except IntegrityError as exc:
                    if not when(exc):
                        raise
                    last = exc
                    # jittered backoff: writers that keep colliding on the same tip spread out
                    # instead of retrying in lockstep (seen: 20 straight losses on a loaded CI
                    # machine with four SQLite writers)
                    time.sleep(random.uniform(0.0, 0.001 * 2 ** min(attempt, 6)))
            assert last is not None  # attempts >= 1
            if exhausted is not None:
                raise exhausted(last) from last
            raise last

        return run

    return decorate
