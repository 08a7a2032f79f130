"""Shared fixtures: databases (SQLite and a real PostgreSQL), a real server on a real
socket, tokens.

PostgreSQL tests read ``QUAKEWATCH_TEST_POSTGRES_URL`` (e.g.
``postgresql://postgres@127.0.0.1:5432/test``). Without it they skip with that
reason; with it, an unreachable server is a failure (``.ci/run`` sets it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

PG_ENV = "QUAKEWATCH_TEST_POSTGRES_URL"


def _pg_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return url


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the test server; dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(_pg_admin_url())
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"qw_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {exc}")
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None = the embedded default (SQLite under the data dir); else a PostgreSQL URL."""
    if request.param == "sqlite":
        yield None
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture
def engine(db_url: str | None, tmp_path: Path) -> Iterator[Any]:
    from quakewatch.server.storage import migrate
    from quakewatch.server.storage.engine import default_url, make_engine

    e = make_engine(db_url or default_url(tmp_path))
    migrate.upgrade(e)
    yield e
    e.dispose()


@contextlib.asynccontextmanager
async def running_server(data_dir: Path, db_url: str | None = None, **settings: Any) -> AsyncIterator[Any]:
    """A real QuakeWatch server on 127.0.0.1:<free port>."""
    from quakewatch.server.app import create_server
    from quakewatch.server.settings import Settings

    server, port = await create_server(Settings(listen="127.0.0.1:0", data_dir=data_dir, db_url=db_url, **settings))
    server.address = f"127.0.0.1:{port}"
    await server.start()
    try:
        yield server
    finally:
        await server.stop(grace=0.5)


def run(coro: Any) -> Any:
    return asyncio.run(coro)
