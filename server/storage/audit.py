"""Append-only, hash-chained audit trail.

Each entry's ``hash`` is SHA-256 over the previous entry's hash and the entry's
canonical content, so any edit, deletion or reordering of past entries breaks the
chain from that point on (:func:`verify_chain`). Entries are added inside the
transaction of the change they record (:func:`add`), so a change is never committed
without its entry. ``prev_hash`` is unique, so two concurrent writers can never fork
the chain: the loser's commit fails and the unit of work is retried on the new tip
(:func:`retry_chain_conflicts`). On PostgreSQL a transaction-scoped advisory lock
serialises writers up front so that retries are rare.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from .models import AuditEntry, utcnow
from .retry import rerun_on_integrity_error

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 0x5157_4155  # "QWAU"


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _timestamp(t: datetime) -> str:
    if t.tzinfo is None:  # SQLite returns naive datetimes; they are stored as UTC
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, e: AuditEntry) -> str:
    body = canonical_json(
        {
            "prev": prev_hash,
            "time": _timestamp(e.time),
            "actor": e.actor,
            "role": e.role,
            "tenant": e.tenant,
            "action": e.action,
            "target": e.target,
            "details": e.details_json,
        }
    )
    return hashlib.sha256(body.encode()).hexdigest()


def add(
    s: Session,
    *,
    actor: str,
    role: str,
    tenant: str | None,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to ``s``'s transaction: it commits, or rolls back, with the change
    it records. A concurrent writer that took the same tip makes the commit fail with
    a chain conflict (see :func:`is_chain_conflict`); retry the whole unit."""
    if s.get_bind().dialect.name == "postgresql":
        s.connection().execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    last = s.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(1)).first()
    prev = last.hash if last is not None else GENESIS
    e = AuditEntry(
        time=utcnow(),
        actor=actor,
        role=role,
        tenant=tenant or "",
        action=action,
        target=target,
        details_json=canonical_json(details or {}),
        prev_hash=prev,
        hash="",
    )
    e.hash = entry_hash(prev, e)
    s.add(e)
    return e


def is_chain_conflict(exc: IntegrityError) -> bool:
    """True when the error is two writers chaining onto the same audit entry."""
    return "audit_entry" in str(exc.orig)


retry_chain_conflicts = rerun_on_integrity_error(when=is_chain_conflict)
"""Run an audited unit of work again when it lost the race for the chain's tip."""


@retry_chain_conflicts
def append(
    engine: Engine,
    *,
    actor: str,
    role: str,
    tenant: str | None,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry on its own (for events that change nothing else)."""
    with Session(engine) as s:
        e = add(s, actor=actor, role=role, tenant=tenant, action=action, target=target, details=details)
        s.commit()
        s.refresh(e)
        return e


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    first_bad_id: int = 0
    detail: str = ""


def verify_chain(engine: Engine) -> ChainReport:
    """Recompute every link; report the first entry that does not verify."""
    prev = GENESIS
    n = 0
    with Session(engine) as s:
        for e in s.exec(select(AuditEntry).order_by(col(AuditEntry.id))):
            n += 1
            if e.prev_hash != prev:
                return ChainReport(False, n, e.id or 0, f"entry {e.id}: prev_hash does not match the previous entry")
            if entry_hash(prev, e) != e.hash:
                return ChainReport(False, n, e.id or 0, f"entry {e.id}: content does not match its hash")
            prev = e.hash
    return ChainReport(True, n)


def list_entries(engine: Engine, after_id: int = 0, limit: int = 1000) -> list[AuditEntry]:
    with Session(engine) as s:
        q = select(AuditEntry).where(col(AuditEntry.id) > after_id).order_by(col(AuditEntry.id)).limit(limit)
        return list(s.exec(q))
