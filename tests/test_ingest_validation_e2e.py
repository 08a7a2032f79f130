"""Acceptance 5: every bad input is REJECTED with a reason naming the field, and the
stream goes on (a good block after each bad one is accepted and archived)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from conftest import run, running_server
from helpers import NS, block, register, stream_all

from quakewatch.clients import AsyncClient
from quakewatch.server.settings import IngestLimits
from quakewatch.server.storage.tokens import create_token
from quakewatch.v1 import ingest_pb2

pytestmark = pytest.mark.e2e
RATE = 200.0
ACC, REJ = ingest_pb2.INGEST_STATUS_ACCEPTED, ingest_pb2.INGEST_STATUS_REJECTED


def _good(n_ch: int = 3, n: int = 200, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1e-3, (n_ch, n)).astype(np.float32)


def _set(b: ingest_pb2.SampleBlock, **over: object) -> ingest_pb2.SampleBlock:
    for name, v in over.items():
        if name == "channel_ids":
            del b.channel_ids[:]
            b.channel_ids.extend(v)  # type: ignore[arg-type]
        else:
            setattr(b, name, v)
    return b


async def _run(tmp_path: Path, db_url: str | None, blocks: list[ingest_pb2.SampleBlock], **settings: object) -> tuple[list[ingest_pb2.IngestAck], Path]:
    async with running_server(tmp_path, db_url, **settings) as srv:
        tok, _ = create_token(srv.engine, "gateway", "t")
        async with AsyncClient(srv.address, tok) as c:
            await register(c, "s1", 3, RATE)
            return await stream_all(c, blocks), srv.settings.archive_dir


def test_each_bad_block_is_rejected_with_its_field_and_the_stream_continues(tmp_path: Path, db_url: str | None) -> None:
    limits = IngestLimits(max_block_bytes=200_000, max_block_duration_s=1000.0)
    t0 = time.time_ns() - 600 * NS
    ids = ["c00", "c01", "c02"]
    nan = _good(seed=9)
    nan[1, 17] = np.nan
    inf = _good(seed=8)
    inf[2, 5] = np.inf
    specs: list[tuple[str, dict[str, object]]] = [
        ("data", dict(data=b"\x00" * 100)),  # byte count does not match shape
        ("data", dict(data=np.zeros((3, 20_000), np.float32).tobytes(), n_samples=20_000)),  # over max_block_bytes
        ("n_samples", dict(n_samples=0)),
        ("channel_ids", dict(channel_ids=["c00", "c00", "c01"])),
        ("channel_ids", dict(channel_ids=["c00", "nope", "c02"])),
        ("channel_ids", dict(channel_ids=[])),
        ("encoding", dict(encoding=ingest_pb2.ENCODING_UNSPECIFIED)),
        ("sample_rate_hz", dict(sample_rate_hz=float("nan"))),
        ("sample_rate_hz", dict(sample_rate_hz=100.0, n_samples=100, data=_good(n=100).tobytes())),  # registered at 200 Hz
        ("structure_id", dict(structure_id="not-registered")),
        ("structure_id", dict(structure_id="bad id")),
        ("start_time_ns", dict(start_time_ns=time.time_ns() + 3600 * NS)),  # far future
        ("start_time_ns", dict(start_time_ns=0)),  # beyond max_past_days
        ("sequence", dict(sequence=0)),
        ("data", dict(data=nan.tobytes())),
        ("data", dict(data=inf.tobytes())),
    ]
    blocks: list[tuple[str | None, ingest_pb2.SampleBlock]] = []
    seq = 1
    for k, (field, over) in enumerate(specs):
        blocks.append((field, _set(block("s1", seq, t0 + k * NS, ids, _good(seed=k)), **over)))
        blocks.append((None, block("s1", seq + 1, t0 + k * NS, ids, _good(seed=k))))  # the good one after it
        seq += 2
    k = len(specs)
    blocks.append(("start_time_ns", block("s1", seq, t0 + (k - 1) * NS + NS // 2, ids, _good())))  # overlaps the last block
    blocks.append((None, block("s1", seq + 1, t0 + k * NS, ids, _good())))
    acks, archive = run(_run(tmp_path, db_url, [b for _, b in blocks], limits=limits))
    assert len(acks) == len(blocks)
    for (field, b), ack in zip(blocks, acks, strict=True):
        assert ack.sequence == b.sequence
        if field is None:
            assert ack.status == ACC, ack.reason
        else:
            assert ack.status == REJ, (field, ack)
            assert ack.field == field, (field, ack.reason)
            assert ack.reason.startswith(field), (field, ack.reason)
    import obspy

    st = obspy.Stream()
    for f in archive.rglob("*.D.*"):
        st += obspy.read(str(f))
    st.merge(method=-1)
    good = sum(1 for f, _ in blocks if f is None)
    assert sorted(tr.stats.npts for tr in st) == [200 * good] * 3  # only the good blocks, each once


def test_rate_limit_rejects_and_recovers(tmp_path: Path) -> None:
    limits = IngestLimits(max_samples_per_s=600.0)  # burst = 10 s = 6000 samples = 10 blocks of 3 x 200
    t0 = time.time_ns() - 600 * NS
    blocks = [block("s1", i + 1, t0 + i * NS, ["c00", "c01", "c02"], _good(seed=i)) for i in range(12)]
    acks, _ = run(_run(tmp_path, None, blocks, limits=limits))
    status = [a.status for a in acks]
    assert status[:10] == [ACC] * 10
    assert REJ in status[10:]
    rej = next(a for a in acks if a.status == REJ)
    assert rej.field == "data" and "max_samples_per_s=600" in rej.reason


def test_resent_block_is_acknowledged_as_duplicate_and_stored_once(tmp_path: Path, db_url: str | None) -> None:
    t0 = time.time_ns() - 600 * NS
    ids = ["c00", "c01", "c02"]
    b1, b2 = block("s1", 1, t0, ids, _good(seed=1)), block("s1", 2, t0 + NS, ids, _good(seed=2))
    acks, archive = run(_run(tmp_path, db_url, [b1, b2, b1, b2]))
    assert [a.status for a in acks] == [ACC] * 4
    assert acks[2].reason.startswith("duplicate") and acks[3].reason.startswith("duplicate")
    import obspy

    st = obspy.Stream()
    for f in archive.rglob("*.D.*"):
        st += obspy.read(str(f))
    st.merge(method=-1)
    assert sorted(tr.stats.npts for tr in st) == [400, 400, 400]


def test_rate_limit_is_per_structure_not_per_stream(tmp_path: Path) -> None:
    limits = IngestLimits(max_samples_per_s=600.0)  # burst 6000 samples = 10 blocks of 3 x 200
    t0 = time.time_ns() - 600 * NS
    ids = ["c00", "c01", "c02"]
    # the two streams carry different channels' worth of the same structure: 12 blocks in all
    blocks = [block("s1", i + 1, t0 + i * NS, ids, _good(seed=i), stream_id=f"gw-{i % 2}") for i in range(12)]
    acks, _ = run(_run(tmp_path, None, blocks, limits=limits))
    rejected = [a for a in acks if a.status == REJ]
    assert rejected and rejected[0].field == "data" and rejected[0].retry_after_ms > 0
    assert sum(a.status == ACC for a in acks) == 10
