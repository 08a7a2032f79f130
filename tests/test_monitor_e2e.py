"""Soft failure end to end: a dead (flat-lined) channel and a clipped channel are
reported FAILED with their reasons while the rest of the structure stays OK and the
stream goes on; the status survives a restart through the snapshot table."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from conftest import run, running_server
from helpers import NS, block, register, stream_all

from quakewatch.clients import AsyncClient
from quakewatch.server.storage.tokens import create_token
from quakewatch.v1 import common_pb2, ingest_pb2, monitor_pb2

pytestmark = pytest.mark.e2e
FULL_SCALE = 19.6


def test_bad_channels_fail_softly_and_status_survives_restart(tmp_path: Path, db_url: str | None) -> None:
    rng = np.random.default_rng(1)
    t0 = time.time_ns() - 16 * NS  # current data: no latency warning
    ids = ["c00", "c01", "c02", "c03"]
    blocks = []
    for k in range(15):  # 15 s at 200 Hz
        x = rng.normal(0, 1e-2, (4, 200)).astype(np.float32)
        x[1] = 0.125  # dead channel: constant
        if k == 7:
            x[2, 50:53] = FULL_SCALE  # clipped at full scale
        blocks.append(block("s1", k + 1, t0 + k * NS, ids, x))

    async def first() -> monitor_pb2.StructureStatus:
        async with running_server(tmp_path, db_url) as srv:
            tok, _ = create_token(srv.engine, "owner", "t")
            async with AsyncClient(srv.address, tok) as c:
                await register(c, "s1", 4, clip_level=FULL_SCALE)
                acks = await stream_all(c, blocks)
                assert all(a.status == ingest_pb2.INGEST_STATUS_ACCEPTED for a in acks)
                st = (await c.monitor.GetStructureStatus(monitor_pb2.GetStructureStatusRequest(structure_id="s1"))).status
            await srv.snapshot_status()
            return st

    async def after_restart() -> monitor_pb2.StructureStatus:
        async with running_server(tmp_path, db_url) as srv:
            tok, _ = create_token(srv.engine, "hq")
            async with AsyncClient(srv.address, tok) as c:
                return (await c.monitor.GetStructureStatus(monitor_pb2.GetStructureStatusRequest(structure_id="s1"))).status

    for st in (run(first()), run(after_restart())):
        by_id = {ch.channel_id: ch for ch in st.channels}
        assert st.state == common_pb2.QUALITY_STATE_FAILED
        assert by_id["c00"].state == by_id["c03"].state == common_pb2.QUALITY_STATE_OK
        assert by_id["c01"].state == common_pb2.QUALITY_STATE_FAILED
        assert any(r.startswith("flatline") for r in by_id["c01"].reasons), by_id["c01"].reasons
        assert by_id["c01"].flatline_s == pytest.approx(15.0)
        assert by_id["c02"].state == common_pb2.QUALITY_STATE_FAILED
        assert by_id["c02"].clipped_samples == 3
        assert any(r.startswith("clipping") for r in by_id["c02"].reasons)
        assert all(ch.samples == 15 * 200 for ch in st.channels)
