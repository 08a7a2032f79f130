"""Sensor layouts from files: validation with file/line/field errors, and an import ->
export round trip through the CLI against a real server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from test_cli_ingest_e2e import QW, free_port, start_server, token

from quakewatch.clients.layout import LayoutError, parse_csv, parse_json

CSV = """structure_id,name,kind,longitude_deg,latitude_deg,channel_id,array_id,orientation,azimuth_deg,dip_deg,floor,height_m,units,sensitivity,sample_rate_hz,clip_level,lowest_mode_hz
tower-7,Office tower 7,building,112.55,37.87,gf-e,free-field,E,90,0,0,0,acceleration_mps2,1,200,19.6,0.25
tower-7,Office tower 7,building,112.55,37.87,gf-n,free-field,N,0,0,0,0,acceleration_mps2,1,200,19.6,0.25
tower-7,Office tower 7,building,112.55,37.87,gf-z,free-field,Z,0,-90,0,0,acceleration_mps2,1,200,19.6,0.25
tower-7,Office tower 7,building,112.55,37.87,roof-x,roof,X,90,0,30,98.5,acceleration_mps2,1,200,19.6,0.25
bridge-2,River bridge,bridge,113.1,36.2,deck-mid-z,deck,Z,0,-90,0,0,acceleration_mps2,8388608,100,8388607,0
"""


def test_csv_parses_into_structures_with_their_channels() -> None:
    layouts = parse_csv(CSV)
    assert [(lay.structure.structure_id, len(lay.channels)) for lay in layouts] == [("tower-7", 4), ("bridge-2", 1)]
    roof = layouts[0].channels[3]
    assert (roof.floor, roof.height_m, roof.orientation) == (30, 98.5, "X")
    assert (layouts[0].structure.lowest_mode_hz, layouts[1].structure.lowest_mode_hz) == (0.25, 0.0)


@pytest.mark.parametrize(
    "bad,expected",
    [
        (CSV.replace("acceleration_mps2,1,200,19.6,0.25\ntower-7,Office tower 7,building,112.55,37.87,gf-n", "furlongs,1,200,19.6,0.25\ntower-7,Office tower 7,building,112.55,37.87,gf-n", 1), r"<csv>:2: units:"),
        (CSV.replace(",N,0,0,0", ",N,0,95,0", 1), r"<csv>:3: dip_deg:"),
        (CSV.replace("Office tower 7,building,112.55,37.87,gf-z", "Office tower 7,dam,112.55,37.87,gf-z", 1), r"<csv>:4: kind: 'dam' differs"),
        (CSV.replace("gf-n", "gf-e", 1), r"<csv>:3: channel_id: 'gf-e' appears twice"),
        (CSV.replace("clip_level", "clip_level,colour", 1), r"unknown column\(s\) colour"),
        (CSV.replace(",8388608,100,", ",-1,100,", 1), r"<csv>:6: sensitivity:"),
        (CSV.replace("19.6,0.25\n", "19.6,-0.25\n", 1), r"<csv>:2: lowest_mode_hz:"),
        (CSV.replace("gf-z,free-field,Z,0,-90,0,0,acceleration_mps2,1,200,19.6,0.25", "gf-z,free-field,Z,0,-90,0,0,acceleration_mps2,1,200,19.6,0.3", 1),
         r"<csv>:4: lowest_mode_hz: 0.3 differs"),
    ],
    ids=["units", "dip", "inconsistent-structure", "duplicate-channel", "unknown-column", "sensitivity", "lowest-mode",
         "inconsistent-lowest-mode"],
)
def test_csv_errors_name_line_and_field(bad: str, expected: str) -> None:
    with pytest.raises(LayoutError, match=expected):
        parse_csv(bad)


def test_json_layout_and_its_errors() -> None:
    doc = {"structures": [{"structure_id": "dam-1", "kind": "dam", "channels": [{"channel_id": "crest-z", "orientation": "Z", "dip_deg": -90}]}]}
    (lay,) = parse_json(json.dumps(doc))
    assert lay.structure.kind == "dam" and lay.channels[0].dip_deg == -90
    doc["structures"][0]["channels"][0]["bogus"] = 1
    with pytest.raises(LayoutError, match=r"structures\[0\]: bogus: Extra inputs are not permitted"):
        parse_json(json.dumps(doc))


@pytest.mark.e2e
def test_import_then_export_round_trips_through_a_real_server(tmp_path: Path) -> None:
    src = tmp_path / "layout.csv"
    src.write_text(CSV)
    data = tmp_path / "data"
    tok = token(data, None, "owner", "shanxi-infra")
    port = free_port()
    server = start_server(data, port, None)
    try:
        base = ["--server", f"127.0.0.1:{port}", "--token", tok]
        r = subprocess.run([*QW, "layout", "import", *base, "--json", str(src)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert [s["channels"] for s in out["structures"]] == [4, 1]
        assert all(len(set(s["seed_ids"])) == s["channels"] for s in out["structures"])
        r = subprocess.run([*QW, "layout", "export", *base, "--structure-id", "tower-7", "--structure-id", "bridge-2"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        again = {lay.structure.structure_id: lay for lay in parse_csv(r.stdout)}
        for lay in parse_csv(CSV):
            got = again[lay.structure.structure_id]
            assert got.structure.model_dump(exclude={"tenant", "network_code", "station_code"}) == lay.structure.model_dump(exclude={"tenant", "network_code", "station_code"})
            assert got.structure.tenant == "shanxi-infra"
            want = {c.channel_id: c.model_dump(exclude={"seed_id"}) for c in lay.channels}
            assert {c.channel_id: c.model_dump(exclude={"seed_id"}) for c in got.channels} == want
        # an owner cannot import into another tenant
        other = tmp_path / "other.csv"
        other.write_text("structure_id,tenant,channel_id\nx-1,someone-else,c1\n")
        r = subprocess.run([*QW, "layout", "import", *base, str(other)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "PERMISSION_DENIED" in r.stderr
    finally:
        server.terminate()
        server.wait(30)
