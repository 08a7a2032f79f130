"""DecisionService.Respond / GetActivation / UpdateAction / PlanDispatch over a real socket."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import numpy as np
import pytest

from conftest import run, running_server
from quakewatch.clients.client import AsyncClient
from quakewatch.server.decision.activation_store import escalate_open
from quakewatch.server.storage.audit import list_entries, verify_chain
from quakewatch.server.storage.tokens import create_token
from quakewatch.v1 import decision_pb2
from test_plans import PLAN

pytestmark = pytest.mark.e2e


def _estimate(deaths: float, origin: datetime) -> str:
    return json.dumps({"totals": {"casualties": {"fatalities": deaths, "homeless": 1200.0}, "losses": {"structural": 1e9}},
                       "situation": {"deaths": deaths, "origin_time": origin.isoformat()}})


def _stage(tmp_path: Path) -> Path:
    d = tmp_path / "data" / "decision" / "plans"
    d.mkdir(parents=True)
    (d / "province.yaml").write_text(PLAN, encoding="utf-8")
    return tmp_path / "data"


def test_activate_acknowledge_escalate_revise(tmp_path: Path) -> None:
    data = _stage(tmp_path)
    origin = datetime.now(UTC) - timedelta(minutes=45)  # convene (30 min at level I) is already overdue

    async def scenario() -> None:
        async with running_server(data) as srv:
            hq, hq_p = create_token(srv.engine, "hq", None)
            async with AsyncClient(srv.address, hq) as c:
                act = await c.decision.Respond(decision_pb2.RespondRequest(
                    plan="plans/province.yaml", estimate_json=_estimate(300.0, origin)))
                assert act.level == "I" and act.plan_id == "test-province" and act.plan_version == "3"
                by_id = {a.action_id: a for a in act.actions}
                assert set(by_id) == {"convene", "search_rescue", "shelter"}
                assert by_id["convene"].overdue and by_id["convene"].escalations[0].to_role == "commander"
                assert by_id["convene"].deadline.ToDatetime(tzinfo=UTC) == origin.replace(microsecond=origin.microsecond) + timedelta(minutes=30)

                # done needs the dependency first; acknowledgement does not
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.decision.UpdateAction(decision_pb2.UpdateActionRequest(
                        activation_id=act.activation_id, action_id="shelter", status="done"))
                assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "waits for convene" in err.value.details()
                for action, status in (("shelter", "acknowledged"), ("convene", "done"), ("shelter", "done")):
                    act = await c.decision.UpdateAction(decision_pb2.UpdateActionRequest(
                        activation_id=act.activation_id, action_id=action, status=status, note="on it"))
                states = {a.action_id: a.status for a in act.actions}
                assert states == {"convene": "done", "search_rescue": "pending", "shelter": "done"}

                # a better estimate lowers the level: search_rescue (I, II only) is cancelled, done stays done
                act2 = await c.decision.Respond(decision_pb2.RespondRequest(
                    activation_id=act.activation_id, estimate_json=_estimate(12.0, origin)))
                assert act2.level == "III" and act2.revision > act.revision
                states = {a.action_id: a.status for a in act2.actions}
                assert states == {"convene": "done", "search_rescue": "cancelled", "shelter": "done"}

                got = await c.decision.GetActivation(decision_pb2.GetActivationRequest(activation_id=act.activation_id))
                assert got.revision == act2.revision and got.level == "III"

                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.decision.UpdateAction(decision_pb2.UpdateActionRequest(
                        activation_id=act.activation_id, action_id="convene", status="finished"))
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "status" in err.value.details()

            # another tenant's owner cannot see it
            owner, _ = create_token(srv.engine, "owner", "bridgeco")
            async with AsyncClient(srv.address, owner) as c:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.decision.GetActivation(decision_pb2.GetActivationRequest(activation_id=act.activation_id))
                assert err.value.code() == grpc.StatusCode.NOT_FOUND

            entries = [e for e in list_entries(srv.engine) if e.action.startswith("plan.")]
            actions = [e.action for e in entries]
            assert actions[0] == "plan.activate" and "plan.escalate" in actions and "plan.revise" in actions
            assert actions.count("plan.action") == 3
            for e in entries:
                details = json.loads(e.details_json)
                assert details["plan_id"] == "test-province" and details["plan_version"] == "3" and len(details["plan_sha256"]) == 64
            assert entries[0].actor == hq_p.token_id
            assert verify_chain(srv.engine).ok

    run(scenario())


def test_periodic_escalation_job_records_overdue_actions(tmp_path: Path) -> None:
    data = _stage(tmp_path)
    origin = datetime.now(UTC)

    async def scenario() -> None:
        async with running_server(data) as srv:
            hq, _ = create_token(srv.engine, "hq", None)
            async with AsyncClient(srv.address, hq) as c:
                act = await c.decision.Respond(decision_pb2.RespondRequest(
                    plan="plans/province.yaml", estimate_json=_estimate(60.0, origin)))
            assert act.level == "II" and not any(a.escalations for a in act.actions)
            assert escalate_open(srv.engine, now=origin + timedelta(minutes=59)) == []
            events = escalate_open(srv.engine, now=origin + timedelta(hours=1, seconds=1))
            assert [(e.action_id, e.to_role) for e in events] == [("convene", "commander")]
            assert escalate_open(srv.engine, now=origin + timedelta(hours=1, seconds=2)) == []

    run(scenario())


def test_bad_plan_requests(tmp_path: Path) -> None:
    data = _stage(tmp_path)
    (data / "decision" / "plans" / "broken.yaml").write_text(PLAN.replace("role: rescue", "role: nobody"), encoding="utf-8")
    origin = datetime.now(UTC)

    async def scenario() -> None:
        async with running_server(data) as srv:
            hq, _ = create_token(srv.engine, "hq", None)
            gw, _ = create_token(srv.engine, "gateway", "t")
            async with AsyncClient(srv.address, hq) as c:
                for plan, code, needle in (("../../../etc/passwd", grpc.StatusCode.INVALID_ARGUMENT, "outside"),
                                           ("plans/none.yaml", grpc.StatusCode.NOT_FOUND, "not a shipped plan"),
                                           ("plans/broken.yaml", grpc.StatusCode.INVALID_ARGUMENT, "unknown role 'nobody'")):
                    with pytest.raises(grpc.aio.AioRpcError) as err:
                        await c.decision.Respond(decision_pb2.RespondRequest(plan=plan, estimate_json=_estimate(1, origin)))
                    assert err.value.code() == code and needle in err.value.details()
            async with AsyncClient(srv.address, gw) as c:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.decision.Respond(decision_pb2.RespondRequest(plan="plans/province.yaml"))
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED

    run(scenario())


@pytest.mark.reference
def test_plan_dispatch_matches_the_lp_and_is_audited(tmp_path: Path) -> None:
    from scipy.optimize import linprog

    from quakewatch.ext.road_network import great_circle_m

    rng = np.random.default_rng(4)
    dep = rng.uniform([110, 35], [111, 36], (4, 2))
    dem = rng.uniform([110, 35], [111, 36], (25, 2))
    stock = rng.integers(50, 200, (4, 2))
    need = rng.integers(0, 15, (25, 2))
    depots = "id,lon,lat,water,tents\n" + "".join(f"D{i},{x:.5f},{y:.5f},{a},{b}\n" for i, ((x, y), (a, b)) in enumerate(zip(dep, stock)))
    demands = "id,lon,lat,water,tents\n" + "".join(f"P{i},{x:.5f},{y:.5f},{a},{b}\n" for i, ((x, y), (a, b)) in enumerate(zip(dem, need)))
    # oracle: the full LP, written out here, on great-circle km at the CSV's rounded coordinates
    dxy = np.array([[float(v) for v in line.split(",")[1:3]] for line in depots.splitlines()[1:]])
    pxy = np.array([[float(v) for v in line.split(",")[1:3]] for line in demands.splitlines()[1:]])
    km = great_circle_m(dxy[:, 0], dxy[:, 1], pxy[:, 0], pxy[:, 1]) / 1000
    expected = 0.0
    for k in range(2):
        n_arc = km.size
        a_ub = np.zeros((4, n_arc + 25))
        a_eq = np.zeros((25, n_arc + 25))
        for i in range(4):
            a_ub[i, i * 25:(i + 1) * 25] = 1
        for j in range(25):
            a_eq[j, j:n_arc:25] = 1
            a_eq[j, n_arc + j] = 1
        res = linprog(np.r_[km.ravel(), np.full(25, 1e4)], A_ub=a_ub, b_ub=stock[:, k], A_eq=a_eq, b_eq=need[:, k], method="highs")
        expected += res.fun

    async def scenario() -> None:
        async with running_server(tmp_path / "data") as srv:
            hq, _ = create_token(srv.engine, "hq", None)
            async with AsyncClient(srv.address, hq) as c:
                got = await c.decision.PlanDispatch(decision_pb2.PlanDispatchRequest(
                    depots_csv=depots, demands_csv=demands, shortage_penalty={"water": 1e4, "tents": 1e4}))
                assert got.objective == pytest.approx(expected, rel=1e-6)
                assert sum(s.quantity for s in got.shipments) + sum(u.quantity for u in got.unmet) == pytest.approx(need.sum())
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.decision.PlanDispatch(decision_pb2.PlanDispatchRequest(
                        depots_csv=depots, demands_csv=demands.replace("P3,", "P3,abc")))
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "row 5" in err.value.details()
            owner, _ = create_token(srv.engine, "owner", "t")
            async with AsyncClient(srv.address, owner) as c:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.decision.PlanDispatch(decision_pb2.PlanDispatchRequest(depots_csv=depots, demands_csv=demands))
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert [e.action for e in list_entries(srv.engine)].count("dispatch.plan") == 1

    run(scenario())


def test_plan_dispatch_teams_and_shelters(tmp_path: Path) -> None:
    # one shelter is forced open and has room for everyone; the other is closer but costs a lot to open.
    demands = "id,lon,lat,displaced\nP1,110.0,35.0,300\nP2,110.0,35.05,200\n"
    shelters = "id,lon,lat,capacity,open_cost,open\nH1,110.0,35.1,1000,0,yes\nH2,110.0,35.02,1000,100000,\n"
    teams = "id,type,size,lon,lat,readiness_h\nR1,usar,40,110.0,35.0,0\n"
    sites = "id,lon,lat,usar\nS1,110.0,35.05,1\n"

    async def scenario() -> None:
        async with running_server(tmp_path / "data") as srv:
            hq, _ = create_token(srv.engine, "hq", None)
            async with AsyncClient(srv.address, hq) as c:
                got = await c.decision.PlanDispatch(decision_pb2.PlanDispatchRequest(
                    demands_csv=demands, shelters_csv=shelters, teams_csv=teams, sites_csv=sites))
                doc = json.loads(got.document_json)
                assert doc["shelters"]["open"] == ["H1"] and doc["shelters"]["unmet"] == []
                assert sorted((a["from"], a["people"]) for a in doc["shelters"]["allocations"]) == [("P1", 300.0), ("P2", 200.0)]
                # 0.05 deg of latitude x 1.3 detour at 40 km/h
                km = 6371.0088 * 3.141592653589793 / 180 * 0.05
                assert doc["teams"]["assignments"] == [
                    {"team": "R1", "type": "usar", "site": "S1", "arrival_h": pytest.approx(km * 1.3 / 40, rel=1e-9)}]
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.decision.PlanDispatch(decision_pb2.PlanDispatchRequest(shelters_csv=shelters))
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "demands_csv" in err.value.details()

    run(scenario())


def test_activation_cli_shows_and_acknowledges_the_checklist(tmp_path: Path) -> None:
    """``quakewatch activation show|ack|done`` against the server (real CLI processes)."""
    import asyncio
    import subprocess
    import sys

    data = _stage(tmp_path)
    origin = datetime.now(UTC) - timedelta(minutes=5)
    qw = [sys.executable, "-m", "quakewatch.clients.cli", "activation"]

    async def scenario() -> None:
        async with running_server(data) as srv:
            hq, _ = create_token(srv.engine, "hq", None)
            async with AsyncClient(srv.address, hq) as c:
                act = await c.decision.Respond(decision_pb2.RespondRequest(
                    plan="plans/province.yaml", estimate_json=_estimate(300.0, origin)))

            def cli(*args: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run([*qw, *args, "--server", srv.address, "--token", hq], capture_output=True, text=True, timeout=60)

            shown = await asyncio.to_thread(cli, "show", act.activation_id)
            assert shown.returncode == 0, shown.stderr
            assert act.activation_id in shown.stdout and all(a.action_id in shown.stdout for a in act.actions)
            acked = await asyncio.to_thread(cli, "ack", act.activation_id, "convene", "--json", "--note", "convened in room 3")
            assert acked.returncode == 0, acked.stderr
            doc = json.loads(acked.stdout)
            state = {a["action_id"]: a for a in doc["actions"]}
            assert state["convene"]["status"] == "acknowledged" and state["convene"]["note"] == "convened in room 3"
            bad = await asyncio.to_thread(cli, "done", act.activation_id, "no-such-action")
            assert bad.returncode == 1 and "no-such-action" in bad.stderr
            async with AsyncClient(srv.address, hq) as c:
                now = await c.decision.GetActivation(decision_pb2.GetActivationRequest(activation_id=act.activation_id))
            assert {a.action_id: a.status for a in now.actions}["convene"] == "acknowledged"

    run(scenario())
