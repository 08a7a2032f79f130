"""``quakewatch demo`` (README's first command) runs end to end and reports success."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_demo_json_with_kept_data_dir(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "quakewatch.clients.cli", "demo", "--json", "--duration", "5", "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] and out["audit"]["ok"] and out["archive"]["kept"]
    assert {s["kind"] for s in out["structures"]} == {"bridge", "dam", "mine"}
    assert all(s["samples_acked"] == s["samples_expected"] > 0 and s["state"] == "OK" for s in out["structures"])
    import obspy

    n = sum(obspy.read(str(f))[0].stats.npts > 0 for f in tmp_path.rglob("*.D.*"))
    assert n == out["archive"]["files"] == 12 + 9 + 6
