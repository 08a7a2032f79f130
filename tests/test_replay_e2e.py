"""``quakewatch replay`` streams a real-format miniSEED file (written here by ObsPy, an
independent writer) through the ingest path; the archive read back by ObsPy equals
the input sample for sample."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_cli_ingest_e2e import QW, free_port, read_archive, start_server, token

pytestmark = pytest.mark.e2e


def test_replay_round_trip(tmp_path: Path) -> None:
    import obspy

    rng = np.random.default_rng(3)
    t0 = obspy.UTCDateTime("2013-04-20T00:02:46.000000Z")  # Lushan M7.0 origin time
    st = obspy.Stream()
    for cha in ("HNE", "HNN", "HNZ"):
        tr = obspy.Trace((rng.normal(0, 500, 3000)).astype(np.int32))
        tr = obspy.Trace(tr.data, header={"network": "SC", "station": "LSH", "location": "00", "channel": cha, "sampling_rate": 100.0, "starttime": t0})
        st += tr
    src = tmp_path / "in.mseed"
    st.write(str(src), format="MSEED", encoding="STEIM2", reclen=512)
    data = tmp_path / "data"
    tok = token(data, None, "owner", "t")
    port = free_port()
    server = start_server(data, port, None)
    try:
        r = subprocess.run([*QW, "replay", "--server", f"127.0.0.1:{port}", "--token", tok, "--structure-id", "lushan", "--register", "--json", str(src)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
    finally:
        server.terminate()
        server.wait(30)
    assert out["samples_acked"] == out["samples_expected"] == 9000
    back = read_archive(data)
    back.merge(method=-1)
    for tr in st:
        (got,) = back.select(channel=tr.stats.channel)
        assert got.stats.starttime == t0 and got.stats.sampling_rate == 100.0
        np.testing.assert_array_equal(got.data, tr.data)


@pytest.mark.reference
@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_sac_reader_matches_obspy(tmp_path: Path, byteorder: str) -> None:
    """ObsPy writes the SAC file; our reader must give the same samples, time and id."""
    import obspy

    from quakewatch.clients.sac import read_sac

    x = np.random.default_rng(5).normal(0, 1, 1234).astype(np.float32)
    tr = obspy.Trace(x, header={"network": "XJ", "station": "KSH", "location": "10", "channel": "HNN", "sampling_rate": 200.0, "starttime": obspy.UTCDateTime("2026-03-04T05:06:07.125000Z")})
    path = tmp_path / "k.sac"
    tr.write(str(path), format="SAC", byteorder=byteorder)
    t = read_sac(path)
    assert t.seed_id == "XJ.KSH.10.HNN"
    assert t.sample_rate_hz == 200.0
    assert t.start_ns == tr.stats.starttime.ns
    np.testing.assert_array_equal(t.samples, x)


def test_replay_sac_file(tmp_path: Path) -> None:
    import obspy

    x = np.random.default_rng(6).normal(0, 1e-2, 2000).astype(np.float32)
    t0 = obspy.UTCDateTime("2021-05-21T13:48:34.000000Z")  # Yangbi M6.4
    tr = obspy.Trace(x, header={"network": "YN", "station": "YBI", "location": "00", "channel": "HNZ", "sampling_rate": 100.0, "starttime": t0})
    src = tmp_path / "ybi.sac"
    tr.write(str(src), format="SAC")
    data = tmp_path / "data"
    tok = token(data, None, "owner", "t")
    port = free_port()
    server = start_server(data, port, None)
    try:
        r = subprocess.run([*QW, "replay", "--server", f"127.0.0.1:{port}", "--token", tok, "--structure-id", "yangbi", "--register", "--json", str(src)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["samples_acked"] == 2000
    finally:
        server.terminate()
        server.wait(30)
    (got,) = read_archive(data).merge(method=-1)
    assert got.id == "YN.YBI.00.HNZ" and got.stats.starttime == t0
    np.testing.assert_array_equal(got.data, x)
