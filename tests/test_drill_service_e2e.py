"""DrillService end to end (issue "[6] Drills"): a coordinator starts a blind drill on a
live server; participants cannot read the scenario before the injection (acceptance 3),
act on the drill server with the tokens the drill gave them, and the final report times
what they did; the live server never sees any of it (acceptance 2)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
import yaml
from sqlmodel import Session, select

from conftest import run, running_server
from quakewatch.clients.client import AsyncClient
from quakewatch.server.storage.models import DispatchRecord, EventRecord, LossEstimateRecord, PlanActivation
from quakewatch.server.storage.tokens import create_token
from quakewatch.v1 import alerts_pb2, decision_pb2, drills_pb2

pytestmark = pytest.mark.e2e
SHIPPED = Path(__file__).resolve().parents[1] / "plans" / "scenarios"
QW = [sys.executable, "-m", "quakewatch.clients.cli"]


def test_blind_drill_on_a_live_server(tmp_path: Path) -> None:
    scenario_text = (SHIPPED / "taiyuan-basin-m6.yaml").read_text()
    loss_doc = yaml.safe_load((SHIPPED / "taiyuan-basin" / "loss.yaml").read_text())

    async def scenario() -> tuple[dict, list[alerts_pb2.Alert], dict[str, int]]:
        async with running_server(tmp_path / "live", None) as live:
            coord, _ = create_token(live.engine, "drill", None, description="drill coordinator")
            hq, _ = create_token(live.engine, "hq", None)
            stranger, _ = create_token(live.engine, "owner", "someone-else")
            async with AsyncClient(live.address, coord) as c, AsyncClient(live.address, hq) as h, \
                    AsyncClient(live.address, stranger) as o:
                with pytest.raises(grpc.aio.AioRpcError) as err:  # participants do not start drills
                    await h.drills.StartDrill(drills_pb2.StartDrillRequest(scenario="taiyuan-basin-m6"))
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
                d = await c.drills.StartDrill(drills_pb2.StartDrillRequest(scenario="taiyuan-basin-m6", blind=True, start_in_s=4.0))
                assert d.blind and d.status == "ready" and d.drill_server and d.scenario_id == "taiyuan-basin-m6"
                tokens = {(p.role, p.tenant): p.token for p in d.participants}
                assert ("hq", "") in tokens and ("owner", "shanxi-bridges") in tokens and all(tokens.values())

                # before the injection: the scenario is the coordinator's only
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await h.drills.GetDrillScenario(drills_pb2.GetDrillScenarioRequest(drill_id=d.drill_id))
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED and "blind" in err.value.details()
                seen = await h.drills.GetDrill(drills_pb2.GetDrillRequest(drill_id=d.drill_id))
                assert seen.scenario_id == "" and seen.name == "" and seen.report_json == "" and not any(p.token for p in seen.participants)
                assert (await c.drills.GetDrillScenario(drills_pb2.GetDrillScenarioRequest(drill_id=d.drill_id))).scenario_yaml == scenario_text
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await o.drills.GetDrill(drills_pb2.GetDrillRequest(drill_id=d.drill_id))
                assert err.value.code() == grpc.StatusCode.NOT_FOUND

                # the headquarters participant, on the drill server, learns of it by the alerts
                alerts: list[alerts_pb2.Alert] = []
                async with AsyncClient(d.drill_server, tokens[("hq", "")]) as p:
                    async for a in p.alerts.Watch(alerts_pb2.WatchAlertsRequest(kinds=["eew", "report"]), timeout=120):
                        alerts.append(a)
                        if a.kind == "report":
                            break
                    # after the injection the scenario is revealed to participants
                    assert (await h.drills.GetDrillScenario(drills_pb2.GetDrillScenarioRequest(drill_id=d.drill_id))).scenario_yaml
                    r = alerts[-1].report
                    doc = {**loss_doc, "rupture": {"lon": r.longitude_deg, "lat": r.latitude_deg, "depth_km": r.depth_km,
                                                   "mw": r.magnitude}, "ground_motion": {**loss_doc["ground_motion"], "realisations": 50}}
                    est = await p.decision.EstimateLoss(decision_pb2.EstimateLossRequest(scenario=yaml.safe_dump(doc)))
                    act = await p.decision.Respond(decision_pb2.RespondRequest(plan="cn-national-earthquake-2012",
                                                                               estimate_id=est.estimate_id))
                ack = await asyncio.to_thread(subprocess.run, [*QW, "activation", "ack", act.activation_id, "auto_parameters",
                                                               "--server", d.drill_server, "--token", tokens[("hq", "")]],
                                              capture_output=True, text=True, timeout=60)
                assert ack.returncode == 0, ack.stderr
                # or through the live server, with the participant's own token
                ack2 = await asyncio.to_thread(subprocess.run, [*QW, "drill", "ack", d.drill_id, "formal_parameters", "--note",
                                                                "reviewed report sent", "--server", live.address, "--token", hq],
                                               capture_output=True, text=True, timeout=60)
                assert ack2.returncode == 0 and "acknowledged" in ack2.stdout, ack2.stderr + ack2.stdout
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await o.drills.Acknowledge(drills_pb2.AcknowledgeRequest(drill_id=d.drill_id, action_id="formal_parameters"))
                assert err.value.code() == grpc.StatusCode.NOT_FOUND  # not a participant of this drill
                middle = json.loads((await c.drills.GetDrill(drills_pb2.GetDrillRequest(drill_id=d.drill_id))).report_json)
                assert middle["status"] in ("injecting", "running")
                while (await c.drills.GetDrill(drills_pb2.GetDrillRequest(drill_id=d.drill_id))).status == "injecting":
                    await asyncio.sleep(1.0)
                rep = await asyncio.to_thread(subprocess.run, [*QW, "drill", "report", d.drill_id, "--end", "--json",
                                                               "--server", live.address, "--token", coord],
                                              capture_output=True, text=True, timeout=120)
                assert rep.returncode == 0, rep.stderr
                final = json.loads(rep.stdout)
            with Session(live.engine) as db:
                live_rows = {m.__tablename__: len(db.exec(select(m)).all())
                             for m in (EventRecord, LossEstimateRecord, PlanActivation, DispatchRecord)}
        return final, alerts, live_rows

    final, alerts, live_rows = run(scenario())
    assert set(live_rows.values()) == {0}, live_rows  # nothing of the drill on the live server
    assert alerts and all(a.exercise and "<status>Exercise</status>" in a.cap_xml for a in alerts)
    assert final["status"] == "ended" and final["isolation"]["alerts_all_exercise"]
    ms = {m["name"]: m for m in final["milestones"]}
    for name in ("event_opened", "warning", "parameters", "loss_estimate", "response_level"):
        assert ms[name]["at_s"] is not None and ms[name]["met"] is True, ms[name]
    assert ms["dispatch_plan"]["at_s"] is None and "no dispatch plan" in ms["dispatch_plan"]["detail"]
    acked = ms["action:auto_parameters"]
    assert acked["detail"] == "acknowledged" and acked["met"] is True and acked["at_s"] <= acked["clock_s"]
    assert ms["action:formal_parameters"]["detail"] == "acknowledged" and ms["action:formal_parameters"]["met"] is True
    others = [m for n, m in ms.items() if n.startswith("action:") and n not in ("action:auto_parameters", "action:formal_parameters")]
    assert others and all("not acknowledged" in m["detail"] for m in others)
    kept = json.loads((tmp_path / "live" / "drills" / final["drill_id"] / "drill.json").read_text())
    assert kept["report"]["milestones"] == final["milestones"] and "token" not in json.dumps(kept["participants"])


def test_drill_cli_start_scenario_and_end(tmp_path: Path) -> None:
    """``quakewatch drill start|scenario|report --end`` as separate processes; a drill that is
    not blind shows its scenario to participants at once; ending before the injection stops
    its drill server and keeps an (empty) report."""

    def cli(address: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*QW, "drill", *args, "--server", address, "--token", token], capture_output=True, text=True, timeout=120)

    async def scenario() -> None:
        async with running_server(tmp_path / "live", None) as live:
            coord, _ = create_token(live.engine, "admin", None)
            owner, _ = create_token(live.engine, "owner", "fenhe-reservoir")
            started = await asyncio.to_thread(cli, live.address, coord, "start", "taiyuan-basin-m6", "--in", "3600", "--json")
            assert started.returncode == 0, started.stderr
            d = json.loads(started.stdout)
            assert d["status"] == "ready" and not d["blind"] and len(d["participants"]) == 4
            shown = await asyncio.to_thread(cli, live.address, owner, "scenario", d["drill_id"])
            assert shown.returncode == 0 and "taiyuan-basin-m6" in shown.stdout
            bad = await asyncio.to_thread(cli, live.address, coord, "start", "../../etc/passwd")
            assert bad.returncode == 1 and "leaves the decision data directory" in bad.stderr
            ended = await asyncio.to_thread(cli, live.address, coord, "report", d["drill_id"], "--end", "--json")
            assert ended.returncode == 0, ended.stderr
            rep = json.loads(ended.stdout)
            assert rep["status"] == "ended" and rep["milestones"] == []
            with pytest.raises(grpc.aio.AioRpcError):  # its drill server has stopped
                async with AsyncClient(d["drill_server"], d["participants"][0]["token"], timeout_s=3) as p:
                    await p.alerts.Watch(alerts_pb2.WatchAlertsRequest(), timeout=2).read()
            # a second drill, left running when the server stops
            left = json.loads((await asyncio.to_thread(cli, live.address, coord, "start", "coal-mine-rockburst", "--in", "3600",
                                                       "--json")).stdout)
        # after a restart: the ended drill's report, the interrupted one marked so
        async with running_server(tmp_path / "live", None) as again:
            coord2, _ = create_token(again.engine, "drill", None)
            async with AsyncClient(again.address, coord2) as c:
                old = await c.drills.GetDrill(drills_pb2.GetDrillRequest(drill_id=d["drill_id"]))
                assert old.status == "ended" and old.drill_server == "" and json.loads(old.report_json)["status"] == "ended"
                assert (await c.drills.GetDrillScenario(drills_pb2.GetDrillScenarioRequest(drill_id=d["drill_id"]))).scenario_yaml
                cut = await c.drills.GetDrill(drills_pb2.GetDrillRequest(drill_id=left["drill_id"]))
                assert cut.status == "interrupted" and cut.scenario_id == "coal-mine-rockburst"
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.drills.Acknowledge(drills_pb2.AcknowledgeRequest(drill_id=left["drill_id"], action_id="dispatch_alert"))
                assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    run(scenario())


def test_at_most_four_drills_run_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path / "live", None) as live:
            coord, _ = create_token(live.engine, "drill", None)
            async with AsyncClient(live.address, coord) as c:
                ids = [(await c.drills.StartDrill(drills_pb2.StartDrillRequest(scenario="coal-mine-rockburst", start_in_s=3600))).drill_id
                       for _ in range(4)]
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.drills.StartDrill(drills_pb2.StartDrillRequest(scenario="coal-mine-rockburst", start_in_s=3600))
                assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "at most 4" in err.value.details()
                await c.drills.EndDrill(drills_pb2.EndDrillRequest(drill_id=ids[0]))
                assert (await c.drills.StartDrill(drills_pb2.StartDrillRequest(scenario="coal-mine-rockburst", start_in_s=3600))).drill_id

    run(scenario())
