"""``quakewatch drill run`` end to end (issue "[6] Drills", acceptance 1 and 2): a shipped
scenario through the real CLI, a real drill server, real gRPC and the real ingest path.

Truths from outside our code: the scenario's own earthquake (the automatic report must
find it), ObsPy TauP in IASP91 for the P times at the structures, the clocks of the
provincial plans, and a live server started beside the drill, which must see nothing.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from sqlmodel import Session, select

import eew_synthetics as es
from conftest import run, running_server
from quakewatch.clients.client import AsyncClient
from quakewatch.ext.regional_location import project
from quakewatch.server.drills.scenario import shipped_scenarios
from quakewatch.server.drills.timeline import PRODUCTS_BY_KIND
from quakewatch.server.storage.tokens import create_token
from quakewatch.server.storage.engine import default_url, make_engine
from quakewatch.server.storage.models import DispatchRecord, EventRecord, LossEstimateRecord, PlanActivation
from quakewatch.v1 import alerts_pb2

pytestmark = pytest.mark.e2e
QW = [sys.executable, "-m", "quakewatch.clients.cli"]
LIVE_TABLES = {"event": EventRecord, "loss_estimate": LossEstimateRecord, "plan_activation": PlanActivation,
               "dispatch_plan": DispatchRecord}
SCENARIOS = Path(__file__).resolve().parents[1] / "plans" / "scenarios"


def test_every_shipped_scenario_is_listed() -> None:
    assert shipped_scenarios() == sorted(p.stem for p in SCENARIOS.glob("*.yaml")) and shipped_scenarios()


@pytest.mark.parametrize("scenario", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_drill_run_reports_every_milestone_and_reaches_no_live_server(scenario: Path, tmp_path: Path) -> None:
    truth = yaml.safe_load(scenario.read_text())
    kind = truth.get("kind", "earthquake")
    PRODUCTS = PRODUCTS_BY_KIND[kind]

    async def scenario_run() -> tuple[dict, list[alerts_pb2.Alert], dict[str, int]]:
        # a live server on its own data directory, watched throughout the drill
        async with running_server(tmp_path / "live", None) as live:
            admin, _ = create_token(live.engine, "admin", None)
            async with AsyncClient(live.address, admin) as c:
                seen: list[alerts_pb2.Alert] = []

                async def watch() -> None:
                    async for a in c.alerts.Watch(alerts_pb2.WatchAlertsRequest()):
                        seen.append(a)

                task = asyncio.create_task(watch())
                proc = await asyncio.create_subprocess_exec(
                    *QW, "drill", "run", str(scenario), "--json", "--report", str(tmp_path / "report.md"), "--plot", str(tmp_path / "timeline.png"),
                    "--data-dir", str(tmp_path / "drill"), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                out, err = await asyncio.wait_for(proc.communicate(), 600)
                assert proc.returncode == 0, err.decode()[-3000:]
                task.cancel()
            with Session(live.engine) as db:
                live_rows = {t: len(db.exec(select(m)).all()) for t, m in LIVE_TABLES.items()}
        return json.loads(out), seen, live_rows

    report, live_alerts, live_rows = run(scenario_run())

    # acceptance 2: no live event, alert, estimate, decision or dispatch; the drill's own
    # products (in its own database) are labelled
    assert live_alerts == [] and set(live_rows.values()) == {0}, live_rows
    iso = report["isolation"]
    assert (iso["alerts"] > 0 or kind == "structural_failure") and iso["alerts_all_exercise"] and iso["data_kept"]
    # the plan's notifications are recorded (whom it would have told), never sent
    act = report["results"].get("activation")
    if act and act["level"]:
        assert act["notifications"] and {n["status"] for n in act["notifications"]} == {"suppressed"}, act
    with Session(make_engine(default_url(tmp_path / "drill"))) as db:
        drill_rows = {t: len(db.exec(select(m)).all()) for t, m in LIVE_TABLES.items()}
    made = {"earthquake": ("event", "loss_estimate", "plan_activation", "dispatch_plan"), "mine_tremor": ("event", "plan_activation"),
            "structural_failure": ("plan_activation",)}[kind]
    assert all(drill_rows[t] > 0 for t in made), drill_rows

    # acceptance 1: every milestone, with its time and whether it met its clock
    ms = {m["name"]: m for m in report["milestones"]}
    assert set(PRODUCTS) <= set(ms)
    for name in PRODUCTS:
        m = ms[name]
        assert m["clock_s"] > 0 and m["at_s"] is not None and m["met"] == (m["at_s"] <= m["clock_s"]), m
    actions = [m for m in ms.values() if m["name"].startswith("action:")]
    assert actions and all(m["clock_s"] is not None and "not acknowledged" in m["detail"] for m in actions)
    s = report["summary"]
    assert s["milestones"] == len(ms) == s["met"] + s["missed"] + s["open"]
    md = (tmp_path / "report.md").read_text()
    assert md.startswith("# EXERCISE") and all(f"| {name} |" in md for name in PRODUCTS) and "![timeline](timeline.png)" in md
    assert (tmp_path / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if kind == "structural_failure":
        # the damage is flagged by continuous monitoring soon after it happened, never before;
        # YELLOW, not RED (a frequency change alone never gives RED); the identified
        # fundamental frequency moves as the stiffness loss says (f ~ sqrt(k))
        fail, health = truth["failure"], report["results"]["health"]
        assert health["false_alarms_before_damage"] == 0 and health["flag"]["status"] == "YELLOW"
        assert ms["health_flagged"]["met"] and 0 < ms["health_flagged"]["at_s"] <= 20 * truth["health_window_s"]
        f = report["results"]["identified_lowest_hz"]
        assert f["after_damage"] / f["before_damage"] == pytest.approx((1 - fail["stiffness_loss"]) ** 0.5, rel=0.02)
        assert ms["response_level"]["met"] and report["results"]["activation"]["level"]
        return
    if kind == "mine_tremor":
        # the grade within 5 s of the tremor, located and sized from the array's records
        assert ms["mine_grade"]["met"] and ms["response_level"]["met"]
        tr, got = truth["tremor"], report["results"]["mine_event"]
        assert got["type"] == "tremor" and abs(got["magnitude"] - tr["mw"]) <= 0.3 and got["magnitude_type"] == "Mw"
        assert got["location_error_m"] <= max(2 * got["sigma_m"], 15.0), got
        assert report["structures"][0]["samples_acked"] == report["structures"][0]["samples_expected"]
        return
    eq = truth["earthquake"]
    # the clocks of the plans (10 s warning, 1 min parameters, 20 min loss) are met here
    assert ms["warning"]["met"] and ms["parameters"]["met"] and ms["loss_estimate"]["met"]

    # the products found the scenario's earthquake
    r = report["results"]["report"]
    assert r["epicentre_error_km"] <= 10.0 and abs(r["magnitude_error"]) <= 0.5 and abs(r["origin_time_error_s"]) < 1.5
    loss = report["results"]["loss"]
    assert loss["observations"] > 0 and loss["fatalities"] >= 0 and report["results"]["activation"]["actions"] > 0
    # monitored buildings listed in the loss model are assets, with what their own sensors recorded
    for m in loss["monitored"]:
        assert m["recorded_pga_g"] is not None and m["recorded_pga_g"] > 0 and 0.0 <= m["p_extensive_or_complete"] <= 1.0
    # P at each structure at the IASP91 time (TauP)
    for st in report["structures"]:
        spec = next(x for x in truth["structures"] if x["id"] == st["structure_id"])
        x, y = project(eq["lon"], eq["lat"], np.array([spec["lon"]]), np.array([spec["lat"]]))
        d_km = float(np.hypot(x, y)[0]) / 1000.0
        assert st["distance_km"] == pytest.approx(d_km, abs=0.06)
        assert st["p_after_origin_s"] == pytest.approx(float(es.taup_time("P", eq["depth_km"], np.array([d_km]))[0]), abs=0.06)
        assert st["samples_acked"] == st["samples_expected"]
