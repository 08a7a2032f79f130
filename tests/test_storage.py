"""Storage on SQLite and PostgreSQL: migrations match the models, tokens are stored
hashed, the audit chain detects tampering and never forks under concurrency."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from quakewatch.server.storage import audit, migrate, tokens
from quakewatch.server.storage.models import ApiToken, AuditEntry


def run_concurrently(work: Callable[[int], None], n_threads: int = 4) -> list[BaseException]:
    """Run ``work(k)`` in ``n_threads`` threads at once; return what they raised."""
    errors: list[BaseException] = []

    def guarded(k: int) -> None:
        try:
            work(k)
        except BaseException as exc:  # pragma: no cover - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_migrated_schema_matches_the_models(engine: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == [], diff
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_upgrade_is_idempotent(engine: Any) -> None:
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_tokens_are_stored_hashed_and_verify(engine: Any) -> None:
    tok, p = tokens.create_token(engine, "owner", "t1")
    with Session(engine) as s:
        row = s.get(ApiToken, p.token_id)
    assert row is not None
    secret = tok.split("_", 2)[2]
    assert secret not in row.secret_sha256 and row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert tokens.verify_token(engine, tok) == p
    assert tokens.verify_token(engine, tok[:-1] + ("A" if tok[-1] != "A" else "B")) is None
    assert tokens.revoke_token(engine, p.token_id)
    assert tokens.verify_token(engine, tok) is None


@pytest.mark.parametrize("role,tenant,match", [("owner", None, "tenant"), ("gateway", "", "tenant"), ("root", None, "role")])
def test_token_rules(engine: Any, role: str, tenant: str | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        tokens.create_token(engine, role, tenant)


def test_audit_chain_verifies_and_detects_tampering(engine: Any) -> None:
    for i in range(5):
        audit.append(engine, actor="a", role="admin", tenant=None, action="test", target=f"t{i}", details={"i": i})
    assert audit.verify_chain(engine).ok
    with Session(engine) as s:
        e = s.exec(select(AuditEntry).where(AuditEntry.target == "t2")).one()
        e.details_json = '{"i":99}'
        s.add(e)
        s.commit()
        bad_id = e.id
    rep = audit.verify_chain(engine)
    assert not rep.ok and rep.first_bad_id == bad_id and rep.entries == 3


def test_audit_deletion_is_detected(engine: Any) -> None:
    for i in range(4):
        audit.append(engine, actor="a", role="admin", tenant=None, action="test", target=f"t{i}")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE target = 't1'"))
    assert not audit.verify_chain(engine).ok


def test_concurrent_appends_never_fork_the_chain(engine: Any) -> None:
    def writer(k: int) -> None:
        for i in range(10):
            audit.append(engine, actor=f"w{k}", role="admin", tenant=None, action="concurrent", target=str(i))

    errors = run_concurrently(writer)
    assert not errors, errors
    rep = audit.verify_chain(engine)
    assert rep.ok and rep.entries == 40


def test_registry_changes_and_their_audit_entries_commit_together(engine: Any) -> None:
    from quakewatch.server import registry
    from quakewatch.server.errors import InvalidInput
    from quakewatch.server.storage.models import Channel
    from quakewatch.server.storage.tokens import Principal, Role

    p = Principal("admin1", Role.ADMIN, None)

    def entries() -> list[AuditEntry]:
        with Session(engine) as s:
            return list(s.exec(select(AuditEntry)))

    registry.put_structure(engine, p, registry.StructureInput("s1", tenant="t"), "QW")
    assert [(e.action, e.target) for e in entries()] == [("structure.create", "s1")]
    with pytest.raises(InvalidInput, match="channel_id"):
        registry.put_channels(engine, p, "s1", [Channel(structure_id="s1", channel_id="ok"), Channel(structure_id="s1", channel_id="bad id")])
    assert len(entries()) == 1  # a rejected change leaves no entry and no channel

    def writer(k: int) -> None:
        for i in range(5):
            registry.put_channels(engine, p, "s1", [Channel(structure_id="s1", channel_id=f"w{k}-{i}", sample_rate_hz=100.0)])

    errors = run_concurrently(writer)
    assert not errors, errors
    rep = audit.verify_chain(engine)
    assert rep.ok and rep.entries == 1 + 20
    assert sum(e.action == "channels.put" for e in entries()) == 20


def test_structures_registered_before_0010_get_no_lowest_mode(db_url: str | None, tmp_path: Path) -> None:
    """0010 adds ``structure.lowest_mode_hz``: existing rows read 0 (found in each record); the
    downgrade drops the column again."""
    from alembic import command
    from sqlalchemy import inspect

    from quakewatch.server.storage.engine import default_url, make_engine
    from quakewatch.server.storage.models import Structure

    e = make_engine(db_url or default_url(tmp_path))
    try:
        migrate.upgrade(e, "0009")
        with e.begin() as conn:
            conn.execute(text("INSERT INTO structure (structure_id, name, kind, longitude_deg, latitude_deg, elevation_m, "
                              "tenant, network_code, station_code, description, created_at, updated_at) VALUES "
                              "('tower-7', 'Tower 7', 'building', 112.5, 37.8, 0, 'acme', 'QW', 'TW7', '', "
                              "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        migrate.upgrade(e)
        with Session(e) as s:
            row = s.get(Structure, "tower-7")
            assert row is not None and row.lowest_mode_hz == 0.0 and row.name == "Tower 7"
        cfg = migrate.alembic_config()
        with e.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0009")
        with e.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("structure")}
        assert "lowest_mode_hz" not in columns and "station_code" in columns
    finally:
        e.dispose()
