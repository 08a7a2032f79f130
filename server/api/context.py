"""The authenticated caller of the current RPC."""

from __future__ import annotations

from contextvars import ContextVar

from ..errors import Unauthenticated
from ..storage.tokens import Principal

_principal: ContextVar[Principal | None] = ContextVar("quakewatch_principal", default=None)


def current_principal() -> Principal:
    p = _principal.get()
    if p is None:
        raise Unauthenticated("authorization: missing or invalid bearer token")
    return p


def set_principal(p: Principal | None) -> object:
    return _principal.set(p)


def reset_principal(token: object) -> None:
    _principal.reset(token)  # type: ignore[arg-type]
