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


def _quake_records(srv: object, t0_ns: int, pga_g: float) -> None:
    """Two monitored buildings near the exposure recorded the earthquake (free field), one
    blast and one earlier event that the window must leave out."""
    from quakewatch.server.analysis import store
    from quakewatch.v1 import events_pb2

    def event(eid: str, sid: str, t_ns: int, cls: int, pga: float) -> events_pb2.Event:
        ev = events_pb2.Event(event_id=eid, structure_id=sid, state=events_pb2.EVENT_STATE_CLOSED,
                              classification=cls, trigger_time_ns=t_ns, end_time_ns=t_ns + 30 * 10**9)
        ev.stations.add(station="ff", pga_mps2=pga * 9.80665, pgv_mps=pga * 0.9, free_field=True)
        ev.stations.add(station="roof", pga_mps2=3 * pga * 9.80665, pgv_mps=pga * 2.0, free_field=False)
        return ev

    eq = events_pb2.EVENT_CLASS_EARTHQUAKE
    store.save(srv.engine, "t", event("e1", "bldg-a", t0_ns + 5 * 10**9, eq, pga_g))  # type: ignore[attr-defined]
    store.save(srv.engine, "t", event("e2", "bldg-b", t0_ns + 7 * 10**9, eq, pga_g))  # type: ignore[attr-defined]
    store.save(srv.engine, "t", event("e3", "bldg-b", t0_ns + 9 * 10**9, events_pb2.EVENT_CLASS_BLAST, 5.0))  # type: ignore[attr-defined]
    store.save(srv.engine, "t", event("e0", "bldg-a", t0_ns - 3600 * 10**9, eq, 5.0))  # type: ignore[attr-defined]


def test_observed_records_condition_the_estimate(tmp_path: Path) -> None:
    """Free-field records of detected events move the estimate: strong shaking recorded at two
    buildings in the exposure gives more deaths than weak shaking at the same places."""
    from google.protobuf.timestamp_pb2 import Timestamp

    from loss_cases import LAT0, LON0
    from quakewatch.v1 import common_pb2, registry_pb2

    _, text = _stage(tmp_path)
    t0 = 1_780_000_000 * 10**9
    deaths = {}
    for label, pga in (("weak", 0.01), ("strong", 1.2)):
        async def scenario(pga: float = pga, label: str = label) -> None:
            async with running_server(tmp_path / f"data-{label}" if label == "strong" else tmp_path / "data") as srv:
                if label == "strong":
                    shutil.copytree(tmp_path / "data" / "decision", tmp_path / f"data-{label}" / "decision")
                owner, _ = create_token(srv.engine, "owner", "t")
                hq, _ = create_token(srv.engine, "hq", None)
                async with AsyncClient(srv.address, owner) as o:
                    for sid, dlon, dlat in (("bldg-a", 0.05, 0.02), ("bldg-b", -0.1, -0.05)):
                        await o.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                            structure_id=sid, kind=registry_pb2.STRUCTURE_KIND_BUILDING,
                            location=common_pb2.GeoPoint(longitude_deg=LON0 + dlon, latitude_deg=LAT0 + dlat))))
                _quake_records(srv, t0, pga)
                start, end = Timestamp(), Timestamp()
                start.FromNanoseconds(t0)
                end.FromNanoseconds(t0 + 600 * 10**9)
                async with AsyncClient(srv.address, hq) as c:
                    got = await c.decision.EstimateLoss(decision_pb2.EstimateLossRequest(
                        scenario=text, observed_start_time=start, observed_end_time=end))
                assert got.observations == 4  # two buildings x (PGA, PGV); blast and earlier event left out
                doc = json.loads(got.document_json)
                assert doc["ground_motion"]["conditioned_on"] == ["PGA", "PGV"]
                assert doc["provenance"]["stations"]["sources"] == ["bldg-a/e1", "bldg-b/e2"]
                deaths[label] = got.fatalities
        run(scenario())
    assert deaths["strong"] > 3 * deaths["weak"]


def _with_monitored(decision_dir: Path, text: str, rows: str, with_coords: bool) -> str:
    header = "structure_id,taxonomy,number,structural,night,day,transit,residents" + (",lon,lat" if with_coords else "")
    (decision_dir / "monitored.csv").write_text(f"# monitored structures as assets\n{header}\n{rows}")
    return text + "monitored: monitored.csv\n"


def test_monitored_structures_are_assets_at_their_registered_locations(tmp_path: Path) -> None:
    """A monitored structure placed from the registry gets exactly what the same building
    gets as a row of the exposure at that place (the oracle: the scenario without the
    monitored list, the building appended to the exposure CSV, run in-process)."""
    from loss_cases import LAT0, LON0
    from quakewatch.v1 import common_pb2, registry_pb2

    decision_dir, text = _stage(tmp_path)
    lon, lat = round(LON0 + 0.07, 5), round(LAT0 - 0.03, 5)
    mon_text = _with_monitored(decision_dir, text, "city-hall,C1L,1,8.5e7,120,600,40,0\n", with_coords=False)
    # the oracle: the same building as the last row of the exposure
    oracle_dir = tmp_path / "oracle"
    shutil.copytree(decision_dir, oracle_dir)
    with (oracle_dir / "exposure.csv").open("a") as f:
        f.write(f"structure:city-hall,{lon:.5f},{lat:.5f},C1L,1,8.5e7,120,600,40,0\n")
    oracle, _ = run_scenario_file(oracle_dir / "scenario.yaml")

    async def scenario() -> dict:
        async with running_server(tmp_path / "data") as srv:
            owner, _ = create_token(srv.engine, "owner", "city")
            hq, _ = create_token(srv.engine, "hq", None)
            async with AsyncClient(srv.address, owner) as o:
                await o.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                    structure_id="city-hall", kind=registry_pb2.STRUCTURE_KIND_BUILDING,
                    location=common_pb2.GeoPoint(longitude_deg=lon, latitude_deg=lat))))
                await o.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                    structure_id="no-place", kind=registry_pb2.STRUCTURE_KIND_BRIDGE)))
            async with AsyncClient(srv.address, hq) as c:
                got = await c.decision.EstimateLoss(decision_pb2.EstimateLossRequest(scenario=mon_text, include_assets=True))
                assert got.n_assets == 121
                # a structure without a registered location cannot be placed: the error names it
                (decision_dir / "monitored.csv").write_text("structure_id,taxonomy,structural\nno-place,C1L,1e6\n")
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.decision.EstimateLoss(decision_pb2.EstimateLossRequest(scenario=mon_text))
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "'no-place' is not registered with a location" in err.value.details()
                return json.loads(got.document_json)

    doc = run(scenario())
    (entry,) = doc["monitored"]
    i = list(oracle.asset_ids).index("structure:city-hall")
    assert entry["structure_id"] == "city-hall" and (entry["lon"], entry["lat"]) == (lon, lat) and entry["recorded"] is None
    for k, state in enumerate(oracle.damage_states):
        assert entry["damage"]["structural"][state] == pytest.approx(oracle.damage["structural"][i, k], rel=1e-12, abs=1e-15)
    assert entry["losses"]["structural"] == pytest.approx(oracle.losses["structural"][i], rel=1e-12)
    assert entry["casualties"]["severity_4"] == pytest.approx(oracle.casualties["severity_4"][i], rel=1e-12)
    assert sum(entry["damage"]["structural"].values()) == pytest.approx(1.0)
    assert any(a["id"] == "structure:city-hall" for a in doc["assets"])


@pytest.mark.parametrize(("rows", "coords", "message"), [
    pytest.param("a,C1L,1,1e6,1,1,1,0\n", False, "needs lon and lat", id="offline-without-place"),
    pytest.param("a,C1L,1,-5,1,1,1,0,112.5,37.8\n", True, "'structural': must be finite and >= 0", id="negative-value"),
    pytest.param("a,C1L,1,1e6,1,1,1,0,112.5,37.8\na,W1,1,1e6,1,1,1,0,112.5,37.8\n", True, "listed twice", id="twice"),
    pytest.param("a,C1L,1,x,1,1,1,0,112.5,37.8\n", True, "'x' is not a number", id="text"),
])
def test_bad_monitored_lists_are_errors_naming_the_row(tmp_path: Path, rows: str, coords: bool, message: str) -> None:
    from quakewatch.server.decision.nrml import InputFileError

    decision_dir, text = _stage(tmp_path)
    (decision_dir / "scenario.yaml").write_text(_with_monitored(decision_dir, text, rows, coords))
    with pytest.raises(InputFileError, match=message):
        run_scenario_file(decision_dir / "scenario.yaml")
