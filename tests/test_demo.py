"""``quakewatch demo`` (README's first command) runs end to end and reports success."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_demo_json_with_kept_data_dir(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "quakewatch.clients.cli", "demo", "--json", "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] and out["audit"]["ok"] and out["archive"]["kept"]
    assert {s["kind"] for s in out["structures"]} == {"bridge", "dam", "mine"}
    assert all(s["samples_acked"] == s["samples_expected"] > 0 for s in out["structures"])
    # the M5.5 is detected in every structure's stream, as an earthquake
    assert sorted(e["structure_id"] for e in out["events"]) == ["demo-bridge", "demo-dam", "demo-mine"]
    assert all(e["classification"] == "earthquake" and e["channels_triggered"] > 1 for e in out["events"])
    # stations with three components get a GB/T 17742 intensity (the dam's crest, the mine's stations)
    assert all(e["max_degree"] for e in out["events"] if e["structure_id"] != "demo-bridge")
    # structural health at ingest: every structure's windows were identified and stored
    # (accuracy is checked in test_health_e2e / test_modal; the demo's 20 s windows are
    # short and some hold the earthquake)
    assert all(v["windows"] >= 2 and v["true_frequencies_hz"] for v in out["modal"].values()), out["modal"]
    import obspy

    n = sum(obspy.read(str(f))[0].stats.npts > 0 for f in tmp_path.rglob("*.D.*"))
    assert n == out["archive"]["files"] == 12 + 9 + 6
    # the bridge and dam owners' shipped plans are activated over gRPC with what each structure recorded;
    # the expected level is read off the plan file's PGA and intensity thresholds here
    import yaml

    from quakewatch.server.decision.plan_loader import shipped_plans

    files = {p.stem: p for p in shipped_plans()}
    events = {e["structure_id"]: e for e in out["events"]}
    assert {p["structure_id"] for p in out["plans"]} == {"demo-bridge", "demo-dam"}
    for p in out["plans"]:
        e = events[p["structure_id"]]
        plan = yaml.safe_load(files[p["plan"].split(" ")[0]].read_text(encoding="utf-8"))
        expected = None
        for lv in plan["levels"]:  # most severe first
            crit = lv.get("criteria") or {}
            hits = [(name, value) for name, value in (("pga_mps2", e["max_pga_mps2"]), ("intensity", e["max_intensity"]))
                    if name in crit and value >= crit[name].get("at_least", float("inf"))
                    and value < crit[name].get("less_than", float("inf"))]
            if hits:
                expected = lv["level"]
                break
        assert p["level"] == expected, (p, e)
        assert (len(p["actions"]) > 0) == (expected is not None)
