"""The domain exception hierarchy, mapped to gRPC status codes in one place
(:mod:`quakewatch.server.api.interceptors`)."""

from __future__ import annotations


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
