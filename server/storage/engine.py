"""Engine factory. The engine is built here and passed in; there is no module global."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine

SQLITE_FILE = "quakewatch.db"


def default_url(data_dir: Path) -> str:
    """The embedded default: SQLite at ``<data-dir>/quakewatch.db``."""
    return f"sqlite:///{(Path(data_dir) / SQLITE_FILE).resolve()}"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and route it through psycopg 3."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL journaling, ``synchronous=NORMAL``
    (durable at WAL checkpoints and safe against application crashes), foreign keys
    and a busy timeout so that the CLI and a running server can share the file."""
    url = normalise_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if is_sqlite(engine):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def upsert(session: Any, model: Any, rows: list[dict[str, Any]], keys: list[str], update: list[str]) -> None:
    """Insert ``rows`` into ``model``'s table, updating ``update`` columns where the
    ``keys`` already exist: one INSERT ... ON CONFLICT DO UPDATE for SQLite and PostgreSQL."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt: Any = insert(model.__table__)
    session.execute(stmt.on_conflict_do_update(index_elements=keys, set_={c: getattr(stmt.excluded, c) for c in update}), rows)
