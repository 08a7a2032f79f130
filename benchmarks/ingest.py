"""End-to-end ingest throughput of one QuakeWatch server process, next to a bare
gRPC loopback baseline measured in the same run with the same client.

* baseline: a server process whose IngestService.Stream acknowledges every block
  at once (no validation, no quality, no disk);
* quakewatch: ``quakewatch serve`` (validation, data quality, miniSEED archive, each
  ACK only once its commit is flushed to disk).

Both are driven by the same client: ``--streams`` concurrent gateways, each sending
``--blocks`` blocks of ``--channels`` x ``--samples`` float32 with a window of
``--window`` unacknowledged blocks (default: the gateway's, ``DEFAULT_WINDOW``). The figure is samples acknowledged per second
of wall time; the ratio is the median over repeats of quakewatch / baseline, each
repeat running both back to back. Acceptance: >= 50 %.

    python benchmarks/ingest.py [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import numpy as np

from quakewatch.clients.gateway import DEFAULT_WINDOW
from quakewatch.v1 import ingest_pb2, ingest_pb2_grpc

NS = 1_000_000_000


class _Bare(ingest_pb2_grpc.IngestServiceServicer):
    async def Stream(self, request_iterator: Any, context: Any) -> Any:
        async for b in request_iterator:
            yield ingest_pb2.IngestAck(sequence=b.sequence, status=ingest_pb2.INGEST_STATUS_ACCEPTED)


async def _serve_bare(port: int) -> None:
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 << 20)])
    ingest_pb2_grpc.add_IngestServiceServicer_to_server(_Bare(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("server exited") from None
            time.sleep(0.1)
    raise RuntimeError("server did not start")


async def _drive(port: int, token: str, structure_ids: list[str], blocks: int, channels: int, samples: int, window: int, rate: float) -> float:
    """Stream from all gateways concurrently; returns acknowledged samples per second."""
    channel_ids = [f"ch{i:02d}" for i in range(channels)]
    payload = np.random.default_rng(0).normal(0, 1e-3, (channels, samples)).astype("<f4").tobytes()
    t_start = time.time_ns() - int(blocks * samples / rate * NS) - 10 * NS
    md = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 << 20)]) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)

        async def one(sid: str) -> int:
            sem = asyncio.Semaphore(window)

            async def gen() -> Any:
                for k in range(blocks):
                    await sem.acquire()
                    yield ingest_pb2.SampleBlock(
                        structure_id=sid, sequence=k + 1, start_time_ns=t_start + int(k * samples / rate * NS), sample_rate_hz=rate,
                        channel_ids=channel_ids, encoding=ingest_pb2.ENCODING_FLOAT32_LE, n_samples=samples, data=payload,
                    )

            n = 0
            async for ack in stub.Stream(gen(), metadata=md):
                sem.release()
                if ack.status != ingest_pb2.INGEST_STATUS_ACCEPTED:
                    raise RuntimeError(f"{sid}: rejected {ack.reason}")
                n += channels * samples
            return n

        t0 = time.perf_counter()
        total = sum(await asyncio.gather(*(one(s) for s in structure_ids)))
        return total / (time.perf_counter() - t0)


def _register(data_dir: Path, port: int, token: str, structure_ids: list[str], channels: int, rate: float) -> None:
    from quakewatch.clients import Client
    from quakewatch.v1 import registry_pb2

    with Client(f"127.0.0.1:{port}", token) as c:
        for sid in structure_ids:
            c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(structure_id=sid, kind=registry_pb2.STRUCTURE_KIND_BUILDING)))
            c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=sid, channels=[registry_pb2.Channel(channel_id=f"ch{i:02d}", sample_rate_hz=rate, orientation="ENZ"[i % 3]) for i in range(channels)]))


def measure(blocks: int, streams: int, channels: int, samples: int, window: int, rate: float, repeats: int, no_events: bool = False, no_health: bool = False) -> dict[str, Any]:
    sids = [f"bench-{i}" for i in range(streams)]
    results: dict[str, list[float]] = {"baseline": [], "quakewatch": []}
    for r in range(repeats):
        # bare gRPC loopback baseline
        port = _free_port()
        proc = subprocess.Popen([sys.executable, __file__, "--serve-bare", str(port)])
        try:
            _wait_port(port, proc)
            results["baseline"].append(asyncio.run(_drive(port, "", sids, blocks, channels, samples, window, rate)))
        finally:
            proc.terminate()
            proc.wait()
        # quakewatch serve, fresh data directory
        with tempfile.TemporaryDirectory(prefix="qw-bench-") as tmp:
            data = Path(tmp)
            token = subprocess.run([sys.executable, "-m", "quakewatch.clients.cli", "token", "create", "--data-dir", str(data), "--role", "admin"], check=True, capture_output=True, text=True).stdout.strip()
            port = _free_port()
            extra = (["--no-events"] if no_events else []) + (["--no-health"] if no_health else [])
            proc = subprocess.Popen([sys.executable, "-m", "quakewatch.clients.cli", "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data), *extra], stderr=subprocess.DEVNULL)
            try:
                _wait_port(port, proc)
                _register(data, port, token, sids, channels, rate)
                results["quakewatch"].append(asyncio.run(_drive(port, token, sids, blocks, channels, samples, window, rate)))
            finally:
                proc.terminate()
                proc.wait()
            archived = sum(p.stat().st_size for p in (data / "archive").rglob("*.D.*"))
    # Each repeat runs the two servers back to back; the machine's speed drifts between
    # repeats (shared host), so the figure is the median of the per-repeat ratios.
    ratios = [q / b for b, q in zip(results["baseline"], results["quakewatch"])]
    return {
        "config": {"blocks_per_stream": blocks, "streams": streams, "channels": channels, "samples_per_block": samples, "window": window, "repeats": repeats, "cpus": os.cpu_count(), "event_detection": not no_events, "structural_health": not no_health},
        "baseline_samples_per_s": statistics.median(results["baseline"]),
        "quakewatch_samples_per_s": statistics.median(results["quakewatch"]),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "runs": results,
        "archive_bytes_last_run": archived,
        "target_ratio": 0.5,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--blocks", type=int, default=1500)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--channels", type=int, default=32)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--window", type=int, default=DEFAULT_WINDOW, help="blocks in flight per stream (default: the gateway's)")
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-events", action="store_true", help="run the server without event detection")
    ap.add_argument("--no-health", action="store_true", help="run the server without structural health (per-window modal analysis)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.serve_bare:
        asyncio.run(_serve_bare(a.serve_bare))
        return 0
    out = measure(a.blocks, a.streams, a.channels, a.samples, a.window, a.rate, a.repeats, a.no_events, a.no_health)
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        stages = ["validation", "quality", "durable archive"] + (["event detection"] if not a.no_events else []) + (["structural health"] if not a.no_health else [])
        print(f"server stages: {', '.join(stages)} (issue [1] acceptance 6 names validation, quality and archive: --no-events --no-health)")
        print(f"bare gRPC loopback: {out['baseline_samples_per_s'] / 1e6:8.2f} M samples/s (median of {a.repeats})")
        print(f"quakewatch ingest:  {out['quakewatch_samples_per_s'] / 1e6:8.2f} M samples/s (median of {a.repeats})")
        print(f"ratio per repeat: {', '.join(f'{r:.0%}' for r in out['ratios'])}; median {out['ratio']:.0%} (target >= 50 %)")
    return 0 if out["ratio"] >= out["target_ratio"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
