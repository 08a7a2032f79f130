"""Python clients for the QuakeWatch gRPC API.

``Client`` (blocking) and ``AsyncClient`` (asyncio) expose one attribute per service
(``registry``, ``ingest``, ``monitor``, ``audit``, ``events``) whose methods are the generated
stub methods with the bearer token attached::

    with Client("127.0.0.1:50051", token) as qw:
        status = qw.monitor.GetStructureStatus(monitor_pb2.GetStructureStatusRequest(structure_id="b1"))

TLS: give ``tls_ca`` (server CA, PEM) and, for mutual TLS, ``tls_cert``/``tls_key``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from quakewatch.v1 import (
    alerts_pb2_grpc,
    audit_pb2_grpc,
    decision_pb2_grpc,
    drills_pb2_grpc,
    events_pb2_grpc,
    health_pb2_grpc,
    ingest_pb2_grpc,
    mine_pb2_grpc,
    monitor_pb2_grpc,
    registry_pb2_grpc,
)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ClientOptions:
    server: str
    token: str = ""
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    timeout_s: float | None = 30.0


def _credentials(o: ClientOptions) -> grpc.ChannelCredentials | None:
    if o.tls_ca is None and o.tls_cert is None:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=o.tls_ca.read_bytes() if o.tls_ca else None,
        private_key=o.tls_key.read_bytes() if o.tls_key else None,
        certificate_chain=o.tls_cert.read_bytes() if o.tls_cert else None,
    )


_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]


class _Authed:
    """A stub whose calls carry ``authorization: Bearer <token>`` and a default timeout."""

    def __init__(self, stub: Any, token: str, timeout_s: float | None) -> None:
        self._stub = stub
        self._md = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout_s

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._stub, name)
        streaming = name in ("Stream", "Watch")

        @functools.wraps(fn)
        def call(request: Any, *, metadata: tuple[tuple[str, str], ...] = (), **kw: Any) -> Any:
            if not streaming:
                kw.setdefault("timeout", self._timeout)
            return fn(request, metadata=self._md + tuple(metadata), **kw)

        return call


class _Services:
    registry: Any
    ingest: Any
    monitor: Any
    audit: Any
    events: Any
    health: Any
    decision: Any
    mine: Any
    alerts: Any
    drills: Any

    def _bind(self, channel: Any, o: ClientOptions) -> None:
        self.registry = _Authed(registry_pb2_grpc.RegistryServiceStub(channel), o.token, o.timeout_s)
        self.ingest = _Authed(ingest_pb2_grpc.IngestServiceStub(channel), o.token, o.timeout_s)
        self.monitor = _Authed(monitor_pb2_grpc.MonitorServiceStub(channel), o.token, o.timeout_s)
        self.audit = _Authed(audit_pb2_grpc.AuditServiceStub(channel), o.token, o.timeout_s)
        self.events = _Authed(events_pb2_grpc.EventServiceStub(channel), o.token, o.timeout_s)
        self.health = _Authed(health_pb2_grpc.HealthServiceStub(channel), o.token, o.timeout_s)
        self.decision = _Authed(decision_pb2_grpc.DecisionServiceStub(channel), o.token, o.timeout_s)
        self.mine = _Authed(mine_pb2_grpc.MineServiceStub(channel), o.token, o.timeout_s)
        self.alerts = _Authed(alerts_pb2_grpc.AlertServiceStub(channel), o.token, o.timeout_s)
        self.drills = _Authed(drills_pb2_grpc.DrillServiceStub(channel), o.token, o.timeout_s)


class Client(_Services):
    """Blocking client."""

    def __init__(self, server: str | ClientOptions, token: str = "", **kw: Any) -> None:
        self.options = server if isinstance(server, ClientOptions) else ClientOptions(server, token, **kw)
        creds = _credentials(self.options)
        if creds is None:
            self.channel = grpc.insecure_channel(self.options.server, options=_CHANNEL_OPTIONS)
        else:
            self.channel = grpc.secure_channel(self.options.server, creds, options=_CHANNEL_OPTIONS)
        self._bind(self.channel, self.options)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Services):
    """asyncio client (grpc.aio); create it inside a running event loop."""

    def __init__(self, server: str | ClientOptions, token: str = "", **kw: Any) -> None:
        self.options = server if isinstance(server, ClientOptions) else ClientOptions(server, token, **kw)
        creds = _credentials(self.options)
        if creds is None:
            self.channel = grpc.aio.insecure_channel(self.options.server, options=_CHANNEL_OPTIONS)
        else:
            self.channel = grpc.aio.secure_channel(self.options.server, creds, options=_CHANNEL_OPTIONS)
        self._bind(self.channel, self.options)

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
