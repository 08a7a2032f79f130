"""Drill scenarios are validated with errors that name the field; the timeline judges each
product against its clock; a drill server labels every alert as an exercise."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from quakewatch.server.analysis.fanout import AlertHub
from quakewatch.server.drills.scenario import Clocks, load_drill_scenario, resolve_scenario
from quakewatch.server.drills.timeline import MINE_PRODUCTS, PRODUCTS, Timeline, render_markdown
from quakewatch.server.errors import InvalidInput
from quakewatch.v1 import alerts_pb2

SHIPPED = Path(__file__).resolve().parents[1] / "plans" / "scenarios" / "taiyuan-basin-m6.yaml"


def _write(tmp_path: Path, **changes: object) -> Path:
    doc = yaml.safe_load(SHIPPED.read_text())
    doc.pop("loss"), doc.pop("plan"), doc.pop("dispatch")
    for k, v in changes.items():
        if v is None:
            doc.pop(k, None)
        else:
            doc[k] = v
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def test_shipped_scenario_loads_by_path_and_by_id() -> None:
    sc, base = load_drill_scenario(resolve_scenario("taiyuan-basin-m6"))
    assert sc.id == "taiyuan-basin-m6" and len(sc.structures) == 12 and (base / str(sc.loss)).is_file()
    assert sc.time_of_day == "day" and sc.clocks == Clocks()
    with pytest.raises(InvalidInput, match="no shipped scenario of that id"):
        resolve_scenario("no-such-drill")


@pytest.mark.parametrize(("changes", "message"), [
    pytest.param({"earthquake": {"lon": 112.0, "lat": 37.0, "depth_km": 12, "mw": 9.2}}, r"earthquake\.mw", id="magnitude"),
    pytest.param({"origin_after_s": 90, "record_s": 80}, "origin_after_s .* must be less than record_s", id="timing"),
    pytest.param({"clock_time": "25:00"}, "clock_time", id="clock"),
    pytest.param({"structures": []}, "structures", id="no-structures"),
    pytest.param({"surprise": 1}, "surprise", id="unknown-key"),
    pytest.param({"participants": [{"role": "owner", "name": "x"}]}, "needs its tenant", id="owner-tenant"),
    pytest.param({"participants": [{"role": "hq", "name": "x", "webhook": "http://127.0.0.1:9/x"}]},
                 "webhook and plan_roles go together", id="webhook-without-roles"),
    pytest.param({"participants": [{"role": "hq", "name": "x", "webhook": "mailto:duty@hq", "plan_roles": ["hq_office"]}]},
                 "http:// or https:// URL", id="webhook-not-a-url"),
    pytest.param({"dispatch": {"depots": "d.csv", "townships": "t.csv"}}, "dispatch needs a loss model", id="dispatch-without-loss"),
    pytest.param({"loss": "../outside.yaml"}, "leaves the scenario's directory", id="path-escape"),
])
def test_invalid_scenarios_name_the_field(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        load_drill_scenario(_write(tmp_path, **changes))


def test_duplicate_structure_ids_are_rejected(tmp_path: Path) -> None:
    doc = yaml.safe_load(SHIPPED.read_text())
    s = doc["structures"]
    with pytest.raises(InvalidInput, match="structure ids must be unique"):
        load_drill_scenario(_write(tmp_path, structures=[*s, s[0]]))


@pytest.mark.parametrize(("clock", "period"), [("10:00", "day"), ("03:30", "night"), ("22:00", "night"), ("07:45", "transit"),
                                               ("18:00", "transit")])
def test_clock_time_gives_the_hazus_occupancy_period(tmp_path: Path, clock: str, period: str) -> None:
    sc, _ = load_drill_scenario(_write(tmp_path, clock_time=clock))
    assert sc.time_of_day == period


def test_timeline_judges_products_against_the_clocks() -> None:
    tl = Timeline(Clocks(warning_s=10.0), origin_s=1000.0)
    tl.mark("warning", 1009.5, "first")
    tl.mark("warning", 1003.0, "a later, earlier-stamped copy never replaces the first")
    tl.mark("parameters", 1061.0)
    tl.note("loss_estimate", "no report")
    tl.action("a1", "task 1", deadline_s=1300.0, status="pending", done_s=None, end_s=1100.0)
    tl.action("a2", "task 2", deadline_s=1050.0, status="pending", done_s=None, end_s=1100.0)
    tl.action("a3", "task 3", deadline_s=1200.0, status="done", done_s=1150.0, end_s=1160.0)
    m = {x["name"]: x for x in tl.as_list()}
    assert m["warning"]["at_s"] == pytest.approx(9.5) and m["warning"]["met"] is True and m["warning"]["detail"] == "first"
    assert m["parameters"]["met"] is False  # 61 s > the 60 s clock
    assert m["loss_estimate"]["at_s"] is None and m["loss_estimate"]["met"] is None and m["loss_estimate"]["detail"] == "no report"
    assert m["action:a1"]["met"] is None and m["action:a2"]["met"] is False and m["action:a3"]["met"] is True
    assert m["action:a3"]["clock_s"] == pytest.approx(200.0) and m["action:a3"]["at_s"] == pytest.approx(150.0)
    s = tl.summary()
    assert s == {"milestones": len(PRODUCTS) + 3, "met": 2, "missed": 2, "open": len(PRODUCTS) + 3 - 4}


def test_markdown_report_is_labelled_and_lists_every_milestone() -> None:
    tl = Timeline(Clocks(), origin_s=0.0)
    tl.mark("warning", 4.0, "x")
    rep = {"scenario": {"id": "s", "name": "n", "file": "f", "clock_time": "10:00"}, "drill_id": "d",
           "earthquake": {"mw": 6.0, "lat": 37.7, "lon": 112.5, "depth_km": 12}, "origin_time": "t", "structures": [],
           "milestones": tl.as_list(), "summary": tl.summary(), "results": {}}
    md = render_markdown(rep)
    assert md.startswith("# EXERCISE") and all(f"| {n} |" in md for n in PRODUCTS) and "| 4.0 s | yes |" in md


def test_an_exercise_hub_labels_every_alert_once() -> None:
    hub = AlertHub(exercise=True)
    a = alerts_pb2.Alert(alert_id="x", kind="eew", headline="Earthquake early warning")
    hub.publish("t", a)
    hub.publish("t", a)
    assert a.exercise and a.headline == "EXERCISE: Earthquake early warning"
    live = alerts_pb2.Alert(alert_id="y", kind="eew", headline="h")
    AlertHub().publish("t", live)
    assert not live.exercise and live.headline == "h"


MINE = Path(__file__).resolve().parents[1] / "plans" / "scenarios" / "coal-mine-rockburst.yaml"


@pytest.mark.parametrize(("changes", "message"), [
    pytest.param({"tremor": None}, "needs 'mine' .* and 'tremor'", id="no-tremor"),
    pytest.param({"earthquake": {"lon": 112.0, "lat": 37.0, "depth_km": 12, "mw": 5.0}}, "has no earthquake", id="mixed"),
    pytest.param({"tremor": {"x_m": 0, "y_m": 0, "z_m": 100, "mw": 2.0}}, r"tremor\.z_m", id="tremor-in-the-air"),
])
def test_mine_tremor_scenarios_are_checked(tmp_path: Path, changes: dict, message: str) -> None:
    doc = yaml.safe_load(MINE.read_text())
    for k, v in changes.items():
        if v is None:
            doc.pop(k)
        else:
            doc[k] = v
    p = tmp_path / "m.yaml"
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(InvalidInput, match=message):
        load_drill_scenario(p)


def test_mine_timeline_has_the_mine_products() -> None:
    sc, _ = load_drill_scenario(MINE)
    tl = Timeline(sc.clocks, 0.0, sc.kind)
    assert set(tl.milestones) == set(MINE_PRODUCTS) and tl.milestones["mine_grade"].clock_s == 5.0
    assert sc.time_of_day == "night"


def test_structural_failure_needs_the_baseline_first(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[1] / "plans" / "scenarios" / "bridge-stiffness-loss.yaml"
    doc = yaml.safe_load(src.read_text())
    doc["failure"]["after_s"] = 700  # the 60-window baseline and 30 scored windows need 900 s
    p = tmp_path / "f.yaml"
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(InvalidInput, match=r"failure.after_s: at least 900 s"):
        load_drill_scenario(p)
    sc, _ = load_drill_scenario(src)
    assert set(Timeline(sc.clocks, 0.0, sc.kind).milestones) == {"health_flagged", "response_level"}
