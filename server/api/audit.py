"""AuditService servicer (admin only)."""

from __future__ import annotations

import asyncio

import grpc
from sqlalchemy.engine import Engine

from quakewatch.v1 import audit_pb2, audit_pb2_grpc

from ..auth import require_admin
from ..storage import audit
from .context import current_principal
from .convert import ts


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def ListAuditEntries(self, request: audit_pb2.ListAuditEntriesRequest, context: grpc.aio.ServicerContext) -> audit_pb2.ListAuditEntriesResponse:
        require_admin(current_principal())
        limit = request.limit if 0 < request.limit <= 10_000 else 1000
        rows = await asyncio.to_thread(audit.list_entries, self.engine, request.after_id, limit)
        return audit_pb2.ListAuditEntriesResponse(
            entries=[
                audit_pb2.AuditEntry(id=r.id or 0, time=ts(r.time), actor=r.actor, role=r.role, tenant=r.tenant, action=r.action, target=r.target, details_json=r.details_json, prev_hash=r.prev_hash, hash=r.hash)
                for r in rows
            ]
        )

    async def VerifyAuditChain(self, request: audit_pb2.VerifyAuditChainRequest, context: grpc.aio.ServicerContext) -> audit_pb2.VerifyAuditChainResponse:
        require_admin(current_principal())
        rep = await asyncio.to_thread(audit.verify_chain, self.engine)
        return audit_pb2.VerifyAuditChainResponse(ok=rep.ok, entries=rep.entries, first_bad_id=rep.first_bad_id, detail=rep.detail)
