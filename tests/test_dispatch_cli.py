"""``quakewatch dispatch`` and ``quakewatch respond`` as a user runs them (subprocess, files).

Expected numbers are hand arithmetic on the inputs (a road graph whose shortest
paths are obvious, a two-depot instance solved on paper) or an LP written here.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from test_plans import PLAN

CLI = [sys.executable, "-m", "quakewatch.clients.cli"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.reference
def test_dispatch_on_a_road_graph_with_a_closed_bridge(tmp_path: Path) -> None:
    # A road line D - a - b - P with a bridge a-b (600 s), and a long way round a - c - b (3600 + 3600 s);
    # the depot and the demand point sit on the end nodes (no access leg).
    nodes = _write(tmp_path / "nodes.csv", "id,lon,lat\nD,110.0,35.0\na,110.1,35.0\nb,110.2,35.0\nP,110.3,35.0\nc,110.15,35.2\n")
    edges = _write(tmp_path / "edges.csv", "from,to,travel_time_s,bridge_id\nD,a,300,\na,b,600,BR1\nb,P,300,\na,c,3600,\nc,b,3600,\n")
    depots = _write(tmp_path / "depots.csv", "id,lon,lat,water\nD,110.0,35.0,100\n")
    demands = _write(tmp_path / "demands.csv", "id,lon,lat,water\nP,110.3,35.0,40\n")
    base = ["dispatch", "--depots", str(depots), "--demands", str(demands), "--road-nodes", str(nodes),
            "--road-edges", str(edges), "--objective", "time", "--json"]
    open_ = _run(*base)
    assert open_.returncode == 0, open_.stderr
    doc = json.loads(open_.stdout)
    assert doc["shipments"][0]["travel_time_h"] == pytest.approx(1200 / 3600)
    assert doc["objective"] == pytest.approx(40 * 1200 / 3600)
    closed = json.loads(_run(*base, "--closed-bridges", "BR1").stdout)
    assert closed["shipments"][0]["travel_time_h"] == pytest.approx((300 + 7200 + 300) / 3600)
    # a 2 h relief deadline forbids the long way round: everything unmet
    late = json.loads(_run(*base, "--closed-bridges", "BR1", "--deadline", "2h").stdout)
    assert late["shipments"] == [] and late["unmet"] == [{"demand": "P", "commodity": "water", "quantity": 40.0}]


@pytest.mark.reference
def test_dispatch_with_costs_csv_and_outputs(tmp_path: Path) -> None:
    # costs replace distances: A->X 1, A->Y 4, B->X 2, B->Y 1; optimum 8*1 + 1*4 + 5*1 = 17
    depots = _write(tmp_path / "depots.csv", "id,lon,lat,food\nA,110.0,35.0,10\nB,110.1,35.0,5\n")
    demands = _write(tmp_path / "demands.csv", "id,lon,lat,food\nX,110.0,35.1,8\nY,110.1,35.1,6\n")
    costs = _write(tmp_path / "costs.csv", "from_id,to_id,cost\nA,X,1\nA,Y,4\nB,X,2\nB,Y,1\n")
    r = _run("dispatch", "--depots", str(depots), "--demands", str(demands), "--costs", str(costs), "--json",
             "--out", str(tmp_path / "out"), "--penalty", "food=100")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["objective"] == pytest.approx(17.0) and doc["unmet"] == []
    with open(tmp_path / "out" / "shipments.csv", newline="") as f:
        rows = {(x["from"], x["to"]): float(x["quantity"]) for x in csv.DictReader(f)}
    assert rows == pytest.approx({("A", "X"): 8.0, ("A", "Y"): 1.0, ("B", "Y"): 5.0})
    geo = json.loads((tmp_path / "out" / "dispatch.geojson").read_text())
    assert len(geo["features"]) == 3


def test_dispatch_bad_input_names_file_row_and_column(tmp_path: Path) -> None:
    depots = _write(tmp_path / "depots.csv", "id,lon,lat,water\nA,110.0,35.0,10\nB,190.0,35.0,5\n")
    demands = _write(tmp_path / "demands.csv", "id,lon,lat,water\nX,110.0,35.1,8\n")
    r = _run("dispatch", "--depots", str(depots), "--demands", str(demands))
    assert r.returncode == 2 and f"{depots}: row 3: lon '190.0' is outside [-180, 180]" in r.stderr
    bad = _write(tmp_path / "bad.csv", "id,lon,lat,water\nX,110.0,35.1,-8\n")
    r = _run("dispatch", "--depots", str(demands), "--demands", str(bad))
    assert r.returncode == 2 and "row 2: water '-8' is outside [0.0, inf]" in r.stderr


@pytest.mark.reference
def test_teams_go_where_they_arrive_first(tmp_path: Path) -> None:
    # great circle x 1.3 at 40 km/h; R1 is 0.1 deg of latitude (11.1195 km) from S1 and 0.3 deg from S2,
    # R2 sits on S2: the optimum sends R1 to S1 and R2 to S2.
    teams = _write(tmp_path / "teams.csv", "id,type,size,lon,lat,readiness_h\nR1,usar,40,110.0,35.0,1\nR2,usar,30,110.0,35.3,0.5\n")
    sites = _write(tmp_path / "sites.csv", "id,lon,lat,usar\nS1,110.0,35.1,1\nS2,110.0,35.3,1\n")
    r = _run("dispatch", "--teams", str(teams), "--sites", str(sites), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)["teams"]
    got = {x["team"]: (x["site"], x["arrival_h"]) for x in doc["assignments"]}
    km = 6371.0088 * 3.141592653589793 / 180 * 0.1
    assert got["R1"][0] == "S1" and got["R1"][1] == pytest.approx(1 + km * 1.3 / 40, rel=1e-9)
    assert got["R2"] == ("S2", pytest.approx(0.5))


def test_respond_cli_level_and_deadlines(tmp_path: Path) -> None:
    plan = _write(tmp_path / "plan.yaml", PLAN)
    est = _write(tmp_path / "est.json", json.dumps({"totals": {"casualties": {"fatalities": 300.0, "homeless": 500.0}, "losses": {}},
                                                    "situation": {"deaths": 300.0, "origin_time": "2026-05-12T14:28:00+08:00"}}))
    r = _run("respond", "--plan", str(plan), "--estimate", str(est), "--json", "--now", "2026-05-12T07:00:00Z")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["level"] == "I" and doc["plan"]["id"] == "test-province"
    actions = {a["id"]: a for a in doc["actions"]}
    assert actions["convene"]["deadline"] == "2026-05-12T06:58:00+00:00" and actions["convene"]["overdue"]
    assert [e["action"] for e in doc["escalations"]] == ["convene"]
    assert doc["relief"]["items"]["water"]["quantity"] == pytest.approx(500 * 15 * 3)
    est2 = _write(tmp_path / "est2.json", json.dumps({"totals": {"casualties": {"fatalities": 299.0}, "losses": {}},
                                                     "situation": {"deaths": 299.0, "origin_time": "2026-05-12T14:28:00+08:00"}}))
    assert json.loads(_run("respond", "--plan", str(plan), "--estimate", str(est2), "--json").stdout)["level"] == "II"
    # an estimate without an origin time (an OpenQuake job): deadlines count from now, and it says so
    r = _run("respond", "--plan", str(plan), "--estimate", str(_write(tmp_path / "x.json", '{"totals": {"casualties": {"fatalities": 12}}}')), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["level"] == "III" and doc["situation"]["origin_time_assumed"] is True
    assert _run("respond", "--plan", str(plan), "--estimate", str(_write(tmp_path / "y.json", "[1]"))).returncode == 2


@pytest.mark.reference
def test_vehicles_limit_what_a_depot_moves_in_time(tmp_path: Path) -> None:
    # D -> P is 1,200 s by road: a round trip is 2/3 h. One 5 t truck over a 2 h horizon moves
    # 5 t x 2 h / (2/3 h) = 15 t = 15,000 units of water at 1 kg each; the rest is unmet.
    nodes = _write(tmp_path / "nodes.csv", "id,lon,lat\nD,110.0,35.0\na,110.1,35.0\nP,110.2,35.0\n")
    edges = _write(tmp_path / "edges.csv", "from,to,travel_time_s\nD,a,600\na,P,600\n")
    depots = _write(tmp_path / "depots.csv", "id,lon,lat,water\nD,110.0,35.0,100000\n")
    demands = _write(tmp_path / "demands.csv", "id,lon,lat,water\nP,110.2,35.0,20000\n")
    vehicles = _write(tmp_path / "vehicles.csv", "id,depot_id,count,capacity_t\nT1,D,1,5\n")
    r = _run("dispatch", "--depots", str(depots), "--demands", str(demands), "--road-nodes", str(nodes), "--road-edges", str(edges),
             "--vehicles", str(vehicles), "--unit-tonnes", "water=0.001", "--horizon", "2h", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["shipments"][0]["quantity"] == pytest.approx(15000.0, rel=1e-9)
    assert doc["unmet"][0]["quantity"] == pytest.approx(5000.0, rel=1e-9)
    r = _run("dispatch", "--depots", str(depots), "--demands", str(demands), "--vehicles", str(vehicles))
    assert r.returncode == 2 and "unit_tonnes" in r.stderr


@pytest.mark.reference
def test_shelters_with_one_to_open(tmp_path: Path) -> None:
    # 300 people at P1 (35.00 N) and 100 at P2 (35.10 N), on one meridian; H1 sits on P1, H2 on P2.
    # Opening one: H1 costs 100 x 11.12 km, H2 costs 300 x 11.12 km -> open H1, all 400 go there.
    demands = _write(tmp_path / "demands.csv", "id,lon,lat,displaced\nP1,110.0,35.0,300\nP2,110.0,35.1,100\n")
    shelters = _write(tmp_path / "shelters.csv", "id,lon,lat,capacity\nH1,110.0,35.0,1000\nH2,110.0,35.1,1000\n")
    r = _run("dispatch", "--demands", str(demands), "--shelters", str(shelters), "--max-open", "1", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)["shelters"]
    km = 6371.0088 * 3.141592653589793 / 180 * 0.1
    assert doc["open"] == ["H1"] and doc["objective"] == pytest.approx(100 * km, rel=1e-9)
    assert sorted((x["from"], x["shelter"], x["people"]) for x in doc["allocations"]) == [("P1", "H1", 300.0), ("P2", "H1", 100.0)]
    r = _run("dispatch", "--shelters", str(shelters))
    assert r.returncode == 2 and "--demands" in r.stderr


def test_out_writes_teams_and_shelters_and_a_map(tmp_path: Path) -> None:
    """Every part of a plan reaches --out, not only supplies: the CSV rows are the JSON
    document's, and every GeoJSON line joins the coordinates of the input files."""
    teams = _write(tmp_path / "teams.csv", "id,type,size,lon,lat,readiness_h\nR1,usar,40,110.0,35.0,1\nR2,usar,30,110.0,35.3,0.5\n")
    sites = _write(tmp_path / "sites.csv", "id,lon,lat,usar\nS1,110.0,35.1,1\nS2,110.0,35.3,1\nS3,110.2,35.3,1\n")
    demands = _write(tmp_path / "demands.csv", "id,lon,lat,water,displaced\nP1,110.0,35.0,10,300\nP2,110.0,35.1,50,100\n")
    depots = _write(tmp_path / "depots.csv", "id,lon,lat,water\nD,110.1,35.0,40\n")
    shelters = _write(tmp_path / "shelters.csv", "id,lon,lat,capacity\nH1,110.0,35.0,1000\nH2,110.0,35.1,1000\n")
    out = tmp_path / "out"
    args = ["dispatch", "--teams", str(teams), "--sites", str(sites), "--demands", str(demands), "--depots", str(depots),
            "--shelters", str(shelters), "--max-open", "1", "--json", "--out", str(out)]
    r = _run(*args, "--map")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)

    def rows(name: str) -> list[dict[str, str]]:
        with open(out / name, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    assert [(x["team"], x["site"]) for x in rows("teams.csv")] == [(x["team"], x["site"]) for x in doc["teams"]["assignments"]]
    assert rows("teams_unfilled.csv") == [{"site": "S3", "type": "usar", "teams": "1"}]  # two teams, three sites
    assert sorted((x["from"], x["shelter"], float(x["people"])) for x in rows("shelter_allocations.csv")) == \
        [("P1", "H1", 300.0), ("P2", "H1", 100.0)]
    assert rows("shelters_open.csv") == [{"shelter": "H1", "people": "400", "capacity": "1000"}]
    assert rows("shelter_unmet.csv") == [] and float(rows("unmet.csv")[0]["quantity"]) == pytest.approx(20.0)
    where = {"R1": [110.0, 35.0], "R2": [110.0, 35.3], "S1": [110.0, 35.1], "S2": [110.0, 35.3], "P1": [110.0, 35.0],
             "P2": [110.0, 35.1], "D": [110.1, 35.0], "H1": [110.0, 35.0]}
    geo = json.loads((out / "dispatch.geojson").read_text())
    kinds = sorted(f["properties"]["kind"] for f in geo["features"])
    assert kinds == ["shelter"] * 2 + ["shipment"] * len(doc["shipments"]) + ["team"] * 2
    for f in geo["features"]:
        p = f["properties"]
        ends = {"team": (p.get("team"), p.get("site")), "shipment": (p.get("from"), p.get("to")),
                "shelter": (p.get("from"), p.get("shelter"))}[p["kind"]]
        assert f["geometry"]["coordinates"] == [where[ends[0]], where[ends[1]]]
    png = (out / "dispatch_map.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    r = _run(*[a for a in args if a not in ("--out", str(out))], "--map")
    assert r.returncode == 2 and "--map goes with --out" in r.stderr
