"""Acceptance 2 and 3 of the service foundation, through the public CLI, with real
processes, a real socket, SQLite or PostgreSQL, and ObsPy as the independent reader
of the archive."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.e2e

QW = [sys.executable, "-m", "quakewatch.clients.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, port: int, db_url: str | None) -> subprocess.Popen[bytes]:
    cmd = [*QW, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir)]
    if db_url:
        cmd += ["--db", db_url]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server exited")
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def token(data_dir: Path, db_url: str | None, role: str, tenant: str | None = None) -> str:
    cmd = [*QW, "token", "create", "--data-dir", str(data_dir), "--role", role]
    if db_url:
        cmd += ["--db", db_url]
    if tenant:
        cmd += ["--tenant", tenant]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qw_"), f"token create must print only the token, got {out!r}"
    return lines[0]


def simulate(port: int, tok: str, *extra: str, timeout: float = 300) -> dict[str, Any]:
    cmd = [*QW, "simulate", "--server", f"127.0.0.1:{port}", "--token", tok, "--json", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def read_archive(data_dir: Path) -> Any:
    import obspy

    st = obspy.Stream()
    for f in sorted((data_dir / "archive").rglob("*.D.*")):
        st += obspy.read(str(f), format="MSEED")
    return st


def test_serve_token_simulate_archive_read_by_obspy(tmp_path: Path, db_url: str | None) -> None:
    port = free_port()
    data = tmp_path / "data"
    tok = token(data, db_url, "gateway", "bridge-co")
    server = start_server(data, port, db_url)
    try:
        t0 = time.time_ns()
        s = simulate(port, tok, "--kind", "bridge", "--structure-id", "br-1", "--channels", "32", "--rate", "200", "--duration", "60", "--register")
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
    assert s["blocks_acked"] == 60 and s["blocks_rejected"] == 0
    assert s["samples_acked"] == 60 * 32 * 200
    assert s["last_acked_sequence"] == 60
    st = read_archive(data)
    st.merge(method=-1)
    assert len(st) == 32, [tr.id for tr in st]
    import obspy

    start = obspy.UTCDateTime(ns=s["start_time_ns"])
    assert abs(s["start_time_ns"] - t0) < 120 * 1_000_000_000
    for tr in st:
        assert tr.stats.npts == 12_000, tr.id
        assert tr.stats.sampling_rate == 200.0
        assert abs(tr.stats.starttime - start) <= 1e-4, (tr.id, tr.stats.starttime, start)  # miniSEED 2 keeps 100 us
        assert np.isfinite(tr.data).all() and tr.data.std() > 0


def test_kill9_mid_stream_then_resume_without_loss_or_duplicates(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    tok = token(data, None, "gateway", "t1")
    server = start_server(data, port, None)
    cmd = [*QW, "simulate", "--server", f"127.0.0.1:{port}", "--token", tok, "--json", "--kind", "building", "--structure-id", "bld-1",
           "--channels", "6", "--rate", "100", "--duration", "8", "--block", "0.2", "--register", "--speed", "realtime"]
    sim = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3.5)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
        time.sleep(1.0)
        server = start_server(data, port, None)
        out, err = sim.communicate(timeout=120)
        assert sim.returncode == 0, err
        s = json.loads(out)
    finally:
        sim.kill()
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert s["reconnects"] >= 1
    assert s["samples_acked"] == s["samples_expected"] == 8 * 100 * 6
    assert s["blocks_acked"] == 40 and s["blocks_rejected"] == 0
    st = read_archive(data)
    for tr_id in {tr.id for tr in st}:
        sub = st.select(id=tr_id).sort()
        times = np.concatenate([tr.times("timestamp") for tr in sub])
        # every sample exactly once: no duplicates, no gaps
        assert len(times) == 800, (tr_id, len(times))
        assert np.all(np.diff(np.sort(times)) > 0.5 / 100), tr_id
        sub.merge(method=-1)
        assert len(sub) == 1 and sub[0].stats.npts == 800
    assert len({tr.id for tr in st}) == 6


def test_token_list_and_revoke(tmp_path: Path) -> None:
    data = tmp_path / "data"
    tok = token(data, None, "owner", "t1")
    token_id = tok.split("_")[1]
    rows = json.loads(subprocess.run([*QW, "token", "list", "--data-dir", str(data), "--json"], check=True, capture_output=True, text=True).stdout)
    assert [(r["token_id"], r["role"], r["tenant"], r["revoked_at"]) for r in rows] == [(token_id, "owner", "t1", None)]
    assert tok.split("_", 2)[2] not in json.dumps(rows)
    subprocess.run([*QW, "token", "revoke", "--data-dir", str(data), token_id], check=True, capture_output=True)
    rows = json.loads(subprocess.run([*QW, "token", "list", "--data-dir", str(data), "--json"], check=True, capture_output=True, text=True).stdout)
    assert rows[0]["revoked_at"] is not None
