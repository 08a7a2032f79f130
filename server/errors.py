"""The domain exception hierarchy, mapped to gRPC status codes in one place
(:mod:`quakewatch.server.api.interceptors`)."""

from __future__ import annotations

from typing import Any


class QuakeWatchError(Exception):
    """Base of all domain errors. ``field`` names the offending input when there is one."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(QuakeWatchError):
    """The request is malformed or outside a documented limit."""


class NotFound(QuakeWatchError):
    pass


class AlreadyExists(QuakeWatchError):
    pass


class Unauthenticated(QuakeWatchError):
    pass


class PermissionDenied(QuakeWatchError):
    pass


class FailedPrecondition(QuakeWatchError):
    """The request is valid but the system is not in a state to serve it."""


class ResourceExhausted(QuakeWatchError):
    """A rate or size limit was exceeded."""


class Unavailable(QuakeWatchError):
    """A dependency (database, archive disk) is not available; retry later."""


def validation_problems(exc: Any, top: str) -> tuple[str, str]:
    """A pydantic ``ValidationError`` as (first field, ``"field: message; ..."``).

    Fields are dotted paths (``levels.2.deaths``), ``top`` when the error is
    about the whole document; pydantic's "Value error, " prefix is dropped.
    """
    problems, first = [], ""
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or top
        first = first or loc
        problems.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
    return first, "; ".join(problems)
