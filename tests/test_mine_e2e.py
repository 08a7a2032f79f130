"""MineService over a real socket (SQLite and PostgreSQL): import, grade changes stored and audited, status, export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grpc
import numpy as np
import pytest

from conftest import run, running_server
from quakewatch.clients.client import AsyncClient
from quakewatch.server.analysis.mine_catalog import read_catalog, write_catalog
from quakewatch.server.analysis.mine_warning import load_table, timeline
from quakewatch.server.storage.audit import list_entries, verify_chain
from quakewatch.server.storage.tokens import create_token
from quakewatch.v1 import mine_pb2, registry_pb2
from test_mine_warning import DAY, T0, _catalog

pytestmark = pytest.mark.e2e


def _history() -> str:
    rng = np.random.default_rng(11)
    t = np.sort(rng.uniform(T0 - 20 * DAY, T0 - DAY, 120))
    mags = np.round(rng.uniform(0.5, 1.3, 120), 1)
    t = np.concatenate([t, [T0 - 3600.0, T0 - 1800.0]])
    mags = np.concatenate([mags, [2.1, 2.7]])  # medium, then strong
    kinds = ["tremor"] * 121 + ["blast"]  # ... but the M2.7 is a blast: it never counts
    return write_catalog(_catalog(t, mags, kinds))


def test_import_status_export(tmp_path: Path, db_url: str | None) -> None:
    text = _history()
    cat = read_catalog(text)
    expected = timeline(cat, load_table())  # the whole catalogue evaluated in one go, in-process

    async def scenario() -> None:
        async with running_server(tmp_path / "data", db_url) as srv:
            owner, owner_p = create_token(srv.engine, "owner", "coal-co")
            other, _ = create_token(srv.engine, "owner", "other-co")
            hq, _ = create_token(srv.engine, "hq", None)
            async with AsyncClient(srv.address, owner) as c:
                await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                    structure_id="mine-1", kind=registry_pb2.STRUCTURE_KIND_MINE)))
                await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                    structure_id="bridge-1", kind=registry_pb2.STRUCTURE_KIND_BRIDGE)))
                # in two parts: the grade changes found incrementally are those of the whole catalogue
                lines = text.splitlines(keepends=True)
                first = await c.mine.ImportCatalog(mine_pb2.ImportCatalogRequest(mine_id="mine-1", catalog_csv="".join(lines[:80])))
                second = await c.mine.ImportCatalog(mine_pb2.ImportCatalogRequest(mine_id="mine-1", catalog_csv=lines[0] + "".join(lines[60:])))
                assert (first.added, second.added, second.already_stored) == (79, len(cat) - 79, 20)
                got = [(ch.event_id, ch.previous, ch.grade) for ch in [*first.changes, *second.changes]]
                assert got == [(x.event_id, x.previous.value, x.grade.value) for x in expected]
                assert got[-1][2] == "medium" and "max_magnitude 2.1 >= 2" in second.changes[-1].reasons

                st = await c.mine.GetMineStatus(mine_pb2.GetMineStatusRequest(mine_id="mine-1"))
                assert st.events == len(cat) and st.changes[0].grade == got[-1][2]
                ind = json.loads(st.indicators_json)
                assert ind["n_events"] == 0 or ind["max_magnitude"] is not None
                at = mine_pb2.GetMineStatusRequest(mine_id="mine-1", changes=1)
                at.time.FromSeconds(int(T0))
                st = await c.mine.GetMineStatus(at)
                assert st.grade == "medium" and json.loads(st.indicators_json)["max_magnitude"] == 2.1

                out = await c.mine.ExportCatalog(mine_pb2.ExportCatalogRequest(mine_id="mine-1"))
                back = read_catalog(out.catalog_csv)
                assert back.event_id == cat.event_id and np.array_equal(back.magnitude, cat.magnitude) and back.type == cat.type

                for mine_id, code in (("bridge-1", grpc.StatusCode.FAILED_PRECONDITION), ("nowhere", grpc.StatusCode.NOT_FOUND)):
                    with pytest.raises(grpc.aio.AioRpcError) as err:
                        await c.mine.ImportCatalog(mine_pb2.ImportCatalogRequest(mine_id=mine_id, catalog_csv=text))
                    assert err.value.code() == code
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.mine.ImportCatalog(mine_pb2.ImportCatalogRequest(mine_id="mine-1", catalog_csv=text.replace(",0.", ",x.", 1)))
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "catalog_csv: row" in err.value.details()
            async with AsyncClient(srv.address, other) as c:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.mine.GetMineStatus(mine_pb2.GetMineStatusRequest(mine_id="mine-1"))
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            async with AsyncClient(srv.address, hq) as c:
                assert (await c.mine.GetMineStatus(mine_pb2.GetMineStatusRequest(mine_id="mine-1"))).events == len(cat)
                with pytest.raises(grpc.aio.AioRpcError) as err:  # headquarters read, they do not write catalogues
                    await c.mine.ImportCatalog(mine_pb2.ImportCatalogRequest(mine_id="mine-1", catalog_csv=text))
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            grades = [e for e in list_entries(srv.engine) if e.action == "mine.grade"]
            assert len(grades) == len(expected) and all(e.actor == owner_p.token_id for e in grades)
            assert verify_chain(srv.engine).ok

    run(scenario())


def test_cli_against_a_server(tmp_path: Path) -> None:
    path = tmp_path / "cat.csv"
    path.write_text(_history())

    async def scenario() -> None:
        async with running_server(tmp_path / "data") as srv:
            owner, _ = create_token(srv.engine, "owner", "coal-co")
            async with AsyncClient(srv.address, owner) as c:
                await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                    structure_id="mine-1", kind=registry_pb2.STRUCTURE_KIND_MINE)))
            base = [sys.executable, "-m", "quakewatch.clients.cli", "mine"]
            opts = ["--server", srv.address, "--token", owner]

            def cli(*args: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run([*base, *args, *opts], capture_output=True, text=True, timeout=120)

            import asyncio

            r = await asyncio.to_thread(cli, "catalog", "import", "mine-1", str(path), "--json")
            assert r.returncode == 0, r.stderr
            assert json.loads(r.stdout)["added"] == 122
            r = await asyncio.to_thread(cli, "status", "mine-1", "--json", "--at", "2027-01-15T08:00:00Z")
            assert r.returncode == 0, r.stderr
            doc = json.loads(r.stdout)
            assert doc["grade"] == "medium" and doc["indicators"]["max_magnitude"] == 2.1
            r = await asyncio.to_thread(cli, "catalog", "export", "mine-1")
            assert r.returncode == 0 and len(read_catalog(r.stdout)) == 122

    run(scenario())
