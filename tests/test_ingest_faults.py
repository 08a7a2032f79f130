"""Faults on the ingest path (from review findings): a failed commit, a cancelled
stream sharing a commit, rate limiting, fd eviction, reader errors, deleted
structures. In each, every acknowledged sample ends up in the archive exactly once
(read back by ObsPy) and the service keeps going."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from conftest import run, running_server
from helpers import NS, block, register

from quakewatch.clients import AsyncClient
from quakewatch.clients.simulate import SimulateOptions, simulate
from quakewatch.server.ingest.archive import ArchiveWriter, PendingBlock, SeedId
from quakewatch.server.settings import IngestLimits
from quakewatch.server.storage.tokens import create_token
from quakewatch.v1 import ingest_pb2, registry_pb2

pytestmark = pytest.mark.e2e


def archive_counts(root: Path) -> dict[str, tuple[int, int]]:
    """Per trace id: (samples in the archive, samples after merging) - equal when nothing is duplicated."""
    import obspy

    st = obspy.Stream()
    for f in sorted(root.rglob("*.D.*")):
        st += obspy.read(str(f))
    out = {}
    for tid in sorted({tr.id for tr in st}):
        sub = st.select(id=tid)
        total = sum(tr.stats.npts for tr in sub)
        times = np.concatenate([tr.times("timestamp") for tr in sub])
        out[tid] = (total, len(np.unique(np.round(times * 1e4))))
    return out


def test_failed_commit_mid_stream_leaves_no_hole_and_no_duplicate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = ArchiveWriter._flush

    def flaky(self: ArchiveWriter, fds: list[int]) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            time.sleep(0.2)  # let blocks queue behind the failing commit
            raise OSError(28, "No space left on device")
        real(self, fds)

    monkeypatch.setattr(ArchiveWriter, "_flush", flaky)

    async def scenario() -> dict[str, Any]:
        async with running_server(tmp_path) as srv:
            tok, _ = create_token(srv.engine, "gateway", "t")
            async with AsyncClient(srv.address, tok) as c:
                return await simulate(c, SimulateOptions("b1", "building", channels=3, rate_hz=100.0, duration_s=40.0, block_s=0.5, register=True, retry_timeout_s=30, window=8))

    s = run(scenario())
    assert calls["n"] > 3
    assert s["samples_acked"] == s["samples_expected"] == 3 * 4000
    assert s["reconnects"] >= 1
    counts = archive_counts(tmp_path / "archive")
    assert len(counts) == 3 and all(v == (4000, 4000) for v in counts.values()), counts


def test_a_cancelled_stream_does_not_stop_commits_for_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = ArchiveWriter._flush

    def slow(self: ArchiveWriter, fds: list[int]) -> None:
        time.sleep(0.05)  # a slow disk: commits overlap with the cancellation
        real(self, fds)

    monkeypatch.setattr(ArchiveWriter, "_flush", slow)
    t0 = time.time_ns() - 300 * NS
    data = np.zeros((1, 100), np.float32) + 1e-3

    async def scenario() -> list[int]:
        async with running_server(tmp_path) as srv:
            tok, _ = create_token(srv.engine, "admin")
            async with AsyncClient(srv.address, tok) as c:
                await register(c, "a", 1, 100.0, tenant="t")
                await register(c, "b", 1, 100.0, tenant="t")

                async def gen(sid: str, n: int) -> Any:
                    for k in range(n):
                        yield block(sid, k + 1, t0 + k * NS, ["c00"], data, rate_hz=100.0)
                        await asyncio.sleep(0.002)

                doomed = c.ingest.Stream(gen("a", 200))
                async def consume_b() -> list[int]:
                    return [ack.status async for ack in c.ingest.Stream(gen("b", 100))]

                task_b = asyncio.create_task(consume_b())
                await asyncio.sleep(0.1)
                doomed.cancel()  # the gateway of "a" goes away mid-commit
                statuses = await asyncio.wait_for(task_b, 30)
                # the commit loop is still alive: a new stream is acknowledged
                later = [ack.status async for ack in c.ingest.Stream(gen("b", 0))]
                acks = [a async for a in c.ingest.Stream(_one(block("b", 101, t0 + 101 * NS, ["c00"], data, rate_hz=100.0)))]
                assert [a.status for a in acks] == [ingest_pb2.INGEST_STATUS_ACCEPTED] and later == []
                return statuses

    statuses = run(scenario())
    assert statuses == [ingest_pb2.INGEST_STATUS_ACCEPTED] * 100


async def _one(b: ingest_pb2.SampleBlock) -> Any:
    yield b


def test_rate_limited_gateway_eventually_stores_everything_once(tmp_path: Path) -> None:
    limits = IngestLimits(max_samples_per_s=3000.0)  # burst 30,000 samples; the record is 48,000

    async def scenario() -> dict[str, Any]:
        async with running_server(tmp_path, limits=limits) as srv:
            tok, _ = create_token(srv.engine, "gateway", "t")
            async with AsyncClient(srv.address, tok) as c:
                return await simulate(c, SimulateOptions("b1", "bridge", channels=3, rate_hz=200.0, duration_s=80.0, block_s=1.0, register=True, retry_timeout_s=30))

    s = run(scenario())
    assert s["samples_acked"] == s["samples_expected"] == 48_000
    assert s["blocks_rejected"] == 0 and s["reconnects"] >= 1
    counts = archive_counts(tmp_path / "archive")
    assert all(v == (16_000, 16_000) for v in counts.values()), counts


def test_fd_eviction_never_closes_files_of_the_running_commit(tmp_path: Path) -> None:
    w = ArchiveWriter(tmp_path / "a", tmp_path / "j", max_open_files=2, sync_mode="fdatasync")
    w.recover()
    seeds = tuple(SeedId("QW", "S1", "00", f"HN{c}") for c in "ENZ")

    async def go() -> None:
        w.start()
        t0 = 1_767_225_600 * NS
        for k in range(3):
            data = np.ones((3, 100), np.float32) * k
            await w.submit(PendingBlock("s/default", k + 1, t0 + k * NS, t0 + (k + 1) * NS, 100.0, seeds, ("s/e", "s/n", "s/z"), data))
        await w.close()

    run(go())
    assert w.commits == 3
    assert all(v == (300, 300) for v in archive_counts(tmp_path / "a").values())


def test_unexpected_reader_error_ends_the_stream_with_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from quakewatch.server.ingest.manager import IngestManager

    def broken(self: IngestManager, principal: object, b: object) -> None:
        raise RuntimeError("bug")

    async def scenario() -> None:
        async with running_server(tmp_path) as srv:
            tok, _ = create_token(srv.engine, "admin")
            async with AsyncClient(srv.address, tok) as c:
                await register(c, "s1", 1, tenant="t")
                monkeypatch.setattr(IngestManager, "submit", broken)
                with pytest.raises(grpc.aio.AioRpcError) as ei:
                    _ = [a async for a in c.ingest.Stream(_one(block("s1", 1, time.time_ns() - 10 * NS, ["c00"], np.zeros((1, 200), np.float32))))]
                assert ei.value.code() == grpc.StatusCode.UNAVAILABLE

    run(scenario())


def test_deleted_structure_forgets_its_streams(tmp_path: Path) -> None:
    t0 = time.time_ns() - 100 * NS

    async def scenario() -> None:
        async with running_server(tmp_path) as srv:
            tok, _ = create_token(srv.engine, "admin")
            async with AsyncClient(srv.address, tok) as c:
                await register(c, "s1", 1, tenant="t")
                acks = [a async for a in c.ingest.Stream(_one(block("s1", 7, t0, ["c00"], np.zeros((1, 200), np.float32))))]
                assert acks[0].status == ingest_pb2.INGEST_STATUS_ACCEPTED
                await c.registry.DeleteStructure(registry_pb2.DeleteStructureRequest(structure_id="s1"))
                await register(c, "s1", 1, tenant="other")
                r = await c.ingest.GetResumePoint(ingest_pb2.GetResumePointRequest(structure_id="s1"))
                assert (r.last_durable_sequence, r.last_end_time_ns) == (0, 0)
                # an earlier time is not an "overlap" with the deleted structure's data
                acks = [a async for a in c.ingest.Stream(_one(block("s1", 1, t0 - 50 * NS, ["c00"], np.zeros((1, 200), np.float32))))]
                assert acks[0].status == ingest_pb2.INGEST_STATUS_ACCEPTED, acks[0].reason
        async with running_server(tmp_path) as srv:  # and after a restart
            tok, _ = create_token(srv.engine, "admin")
            async with AsyncClient(srv.address, tok) as c:
                r = await c.ingest.GetResumePoint(ingest_pb2.GetResumePointRequest(structure_id="s1"))
                assert r.last_durable_sequence == 1

    run(scenario())

