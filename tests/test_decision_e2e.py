"""DecisionService.EstimateLoss over a real socket: run, store, read back, refuse what it must."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import grpc
import pytest

from conftest import run, running_server
from loss_cases import write_scenario
from quakewatch.clients.client import AsyncClient
from quakewatch.server.decision.scenario import run_scenario_file
from quakewatch.server.storage.tokens import create_token
from quakewatch.v1 import decision_pb2

pytestmark = pytest.mark.e2e


def _stage(tmp_path: Path) -> tuple[Path, str]:
    """Scenario inputs in the server's decision directory; the scenario text for the request."""
    src = write_scenario(tmp_path / "inputs", n_assets=120, realisations=16, seed=3)
    target = tmp_path / "data" / "decision"
    shutil.copytree(src.parent, target)
    return target, (target / "scenario.yaml").read_text()


def test_estimate_loss_runs_stores_and_reads_back(tmp_path: Path) -> None:
    decision_dir, text = _stage(tmp_path)
    local, extra = run_scenario_file(decision_dir / "scenario.yaml")  # the same scenario in-process

    async def scenario() -> None:
        async with running_server(tmp_path / "data") as srv:
            hq, _ = create_token(srv.engine, "hq", None)
            async with AsyncClient(srv.address, hq) as c:
                got = await c.decision.EstimateLoss(decision_pb2.EstimateLossRequest(scenario=text))
                assert got.estimate_id and got.n_assets == 120 and got.realisations == 16
                assert got.response_level == (extra["response_level"]["level"] or "")
                assert got.pager_alert == extra["pager"]["alert"]
                assert got.fatalities == pytest.approx(local.casualties["severity_4"].sum(), rel=1e-12)
                assert got.economic_loss == pytest.approx(local.losses["structural"].sum(), rel=1e-12)
                names = {t.name for t in got.totals}
                assert {"structural:complete", "severity_4:structural", "losses:structural"} <= names
                assert "assets" not in json.loads(got.document_json)
                again = await c.decision.GetLossEstimate(
                    decision_pb2.GetLossEstimateRequest(estimate_id=got.estimate_id, include_assets=True))
                doc = json.loads(again.document_json)
                assert len(doc["assets"]) == 120 and again.fatalities == got.fatalities
    run(scenario())


@pytest.mark.parametrize(("role", "code"), [("owner", grpc.StatusCode.PERMISSION_DENIED),
                                            ("gateway", grpc.StatusCode.PERMISSION_DENIED)])
def test_only_headquarters_drills_and_admins_estimate(tmp_path: Path, role: str, code: grpc.StatusCode) -> None:
    _, text = _stage(tmp_path)

    async def scenario() -> None:
        async with running_server(tmp_path / "data") as srv:
            tok, _ = create_token(srv.engine, role, "t")
            async with AsyncClient(srv.address, tok) as c:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.decision.EstimateLoss(decision_pb2.EstimateLossRequest(scenario=text))
                assert err.value.code() == code
    run(scenario())


@pytest.mark.parametrize(("change", "needle"), [
    (("exposure: exposure.xml", "exposure: ../../../etc/passwd"), "outside the decision data directory"),
    (("mw: 6.5", "mw: 11"), "rupture.mw"),
    (("realisations: 16", "realisations: 50000"), "at most 10000"),
    (("exposure: exposure.xml", "exposure: missing.xml"), "cannot read XML"),
])
def test_bad_requests_are_invalid_argument_naming_the_field(tmp_path: Path, change: tuple[str, str],
                                                            needle: str) -> None:
    _, text = _stage(tmp_path)
    assert change[0] in text

    async def scenario() -> None:
        async with running_server(tmp_path / "data") as srv:
            hq, _ = create_token(srv.engine, "hq", None)
            async with AsyncClient(srv.address, hq) as c:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.decision.EstimateLoss(decision_pb2.EstimateLossRequest(scenario=text.replace(*change)))
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert needle in err.value.details()
                assert str(tmp_path) not in err.value.details()
    run(scenario())
