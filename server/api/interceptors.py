"""One server interceptor for authentication and error mapping.

* Authentication: ``authorization: Bearer <token>`` metadata, verified against the
  hashed token table (cached for ``cache_s``), exposed to servicers through
  :func:`quakewatch.server.api.context.current_principal`. The gRPC health and
  reflection services are open.
* Errors: domain exceptions (:mod:`quakewatch.server.errors`) become status codes
  with a ``google.rpc.Status`` carrying ``BadRequest`` field violations or
  ``ErrorInfo`` (grpcio-status rich error model); anything else is INTERNAL and logged.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from sqlalchemy.engine import Engine

from .. import errors
from ..storage.tokens import Principal, verify_token
from .context import reset_principal, set_principal

log = logging.getLogger(__name__)

OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

_CODES: dict[type[errors.QuakeWatchError], grpc.StatusCode] = {
    errors.InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def status_code_for(exc: errors.QuakeWatchError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in _CODES:
            return _CODES[cls]  # type: ignore[index]
    return grpc.StatusCode.UNKNOWN


def rich_status(exc: errors.QuakeWatchError) -> grpc.Status:
    code = status_code_for(exc)
    detail = any_pb2.Any()
    if isinstance(exc, errors.InvalidInput) and exc.field:
        detail.Pack(error_details_pb2.BadRequest(field_violations=[error_details_pb2.BadRequest.FieldViolation(field=exc.field, description=exc.message)]))
    else:
        detail.Pack(error_details_pb2.ErrorInfo(reason=type(exc).__name__.upper(), domain="quakewatch", metadata={"field": exc.field} if exc.field else {}))
    st = status_pb2.Status(code=getattr(code_pb2, code.name), message=exc.message, details=[detail])
    return rpc_status.to_status(st)


class TokenCache:
    def __init__(self, engine: Engine, ttl_s: float = 30.0) -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Principal]] = {}

    async def principal(self, token: str) -> Principal | None:
        hit = self._cache.get(token)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        p = await asyncio.to_thread(verify_token, self.engine, token)
        if p is not None:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (now, p)
        else:
            self._cache.pop(token, None)
        return p


def _bearer(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | None:
    for k, v in metadata or ():
        if k == "authorization":
            v = v.decode() if isinstance(v, bytes) else v
            if v.lower().startswith("bearer "):
                return v[7:].strip()
    return None


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, tokens: TokenCache) -> None:
        self.tokens = tokens

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(OPEN_PREFIXES):
            return handler
        token = _bearer(details.invocation_metadata)  # type: ignore[arg-type]
        principal = await self.tokens.principal(token) if token else None
        return _wrap(handler, principal, details.method)


def _wrap(handler: grpc.RpcMethodHandler, principal: Principal | None, method: str) -> grpc.RpcMethodHandler:
    def unary(fn: Callable[..., Any]) -> Callable[..., Any]:
        async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
            tok = set_principal(principal)
            try:
                _require(principal)
                return await fn(request, context)
            except errors.QuakeWatchError as exc:
                await _abort(context, exc, method)
            except Exception:
                log.exception("method=%s unhandled error", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error; see server log")
            finally:
                reset_principal(tok)

        return run

    def streaming(fn: Callable[..., Any]) -> Callable[..., Any]:
        async def run(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            tok = set_principal(principal)
            try:
                _require(principal)
                result = fn(request, context)
                if inspect.isasyncgen(result):
                    async for item in result:
                        yield item
                else:
                    yield await result
            except errors.QuakeWatchError as exc:
                await _abort(context, exc, method)
            except Exception:
                log.exception("method=%s unhandled error", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error; see server log")
            finally:
                reset_principal(tok)

        return run

    h = handler
    if h.unary_unary:
        return grpc.unary_unary_rpc_method_handler(unary(h.unary_unary), h.request_deserializer, h.response_serializer)
    if h.stream_unary:
        return grpc.stream_unary_rpc_method_handler(unary(h.stream_unary), h.request_deserializer, h.response_serializer)
    if h.unary_stream:
        return grpc.unary_stream_rpc_method_handler(streaming(h.unary_stream), h.request_deserializer, h.response_serializer)
    return grpc.stream_stream_rpc_method_handler(streaming(h.stream_stream), h.request_deserializer, h.response_serializer)


def _require(principal: Principal | None) -> None:
    if principal is None:
        raise errors.Unauthenticated("authorization: missing, invalid or revoked bearer token (metadata 'authorization: Bearer <token>')")


async def _abort(context: grpc.aio.ServicerContext, exc: errors.QuakeWatchError, method: str) -> None:
    st = rich_status(exc)
    log.info("method=%s code=%s message=%r", method, st.code.name, exc.message)
    await context.abort(st.code, st.details, trailing_metadata=st.trailing_metadata)
