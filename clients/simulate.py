"""``quakewatch simulate``: a gateway streaming synthetic ambient vibration.

The structure's response is modal (``quakewatch.ext.synthetic``): each mode a
damped oscillator driven by broadband excitation, plus sensor noise. With
``--speed realtime`` a block leaves when its last sample has been "recorded";
with ``--speed max`` the record is generated as fast as the server acknowledges it,
ending at the present (so it is never in the future).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from quakewatch.v1 import registry_pb2

from .client import AsyncClient
from .gateway import DEFAULT_WINDOW, Gateway

NS = 1_000_000_000
FULL_SCALE_MPS2 = 2 * 9.80665  # +/- 2 g strong-motion accelerometer


@dataclass(frozen=True)
class SimulateOptions:
    structure_id: str
    kind: str = "bridge"
    channels: int = 3
    rate_hz: float = 200.0
    duration_s: float = 60.0
    block_s: float = 1.0
    register: bool = False
    speed: str = "max"  # "max" | "realtime"
    seed: int = 0
    stream_id: str = "default"
    retry_timeout_s: float = 120.0
    tenant: str = ""
    window: int = DEFAULT_WINDOW  # blocks in flight


async def register(client: AsyncClient, o: SimulateOptions) -> list[str]:
    """Create the structure and its channels (idempotent); returns the channel ids."""
    from quakewatch.ext.synthetic import structure_model

    _, layout = structure_model(o.kind, o.channels, seed=o.seed, fs_hz=o.rate_hz)
    kind = registry_pb2.StructureKind.Value(f"STRUCTURE_KIND_{o.kind.upper()}")
    await client.registry.PutStructure(
        registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(structure_id=o.structure_id, name=f"simulated {o.kind} {o.structure_id}", kind=kind, tenant=o.tenant))
    )
    chans = [
        registry_pb2.Channel(
            channel_id=c.channel_id,
            array_id=c.array_id,
            orientation=c.orientation,
            azimuth_deg=c.azimuth_deg,
            dip_deg=c.dip_deg,
            floor=c.floor,
            height_m=c.height_m,
            x_m=c.x_m,
            y_m=c.y_m,
            z_m=c.z_m,
            units=registry_pb2.CHANNEL_UNITS_ACCELERATION_MPS2,
            sensitivity=1.0,
            sample_rate_hz=o.rate_hz,
            clip_level=FULL_SCALE_MPS2,
        )
        for c in layout
    ]
    r = await client.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=o.structure_id, channels=chans))
    return [c.channel_id for c in r.channels]


async def simulate(client: AsyncClient, o: SimulateOptions) -> dict[str, Any]:
    """Run the simulation; returns the JSON summary."""
    from quakewatch.ext.synthetic import AmbientVibration, structure_model

    if o.register:
        channel_ids = await register(client, o)
    else:
        r = await client.registry.ListChannels(registry_pb2.ListChannelsRequest(structure_id=o.structure_id))
        channel_ids = [c.channel_id for c in r.channels][: o.channels]
        if len(channel_ids) < o.channels:
            raise SystemExit(f"--channels: structure {o.structure_id!r} has {len(channel_ids)} registered channels; use --register")
    model, _ = structure_model(o.kind, len(channel_ids), seed=o.seed, fs_hz=o.rate_hz)
    source = AmbientVibration(model, o.rate_hz, seed=o.seed)
    gw = Gateway(client, o.structure_id, o.stream_id, window=o.window, retry_timeout_s=o.retry_timeout_s)
    last_seq, last_end_ns = await gw.resume_point()
    gw.next_sequence = last_seq + 1
    n_total = int(round(o.duration_s * o.rate_hz))
    n_block = max(1, int(round(o.block_s * o.rate_hz)))
    now = time.time_ns()
    start_ns = now if o.speed == "realtime" else now - int(o.duration_s * NS)
    start_ns = max(start_ns, last_end_ns)  # never overlap what the server already holds
    wall0 = time.monotonic()

    async def produce() -> None:
        done = 0
        while done < n_total:
            n = min(n_block, n_total - done)
            if o.speed == "realtime":
                await asyncio.sleep(max(0.0, wall0 + (done + n) / o.rate_hz - time.monotonic()))
            data = source.next_block(n)
            await gw.put(start_ns + round(done * NS / o.rate_hz), o.rate_hz, channel_ids, data)
            done += n
        gw.producer_done()

    producer = asyncio.create_task(produce())
    try:
        stats = await gw.run()
    finally:
        producer.cancel()
    lat = sorted(stats.ack_latency_s)
    return {
        "structure_id": o.structure_id,
        "stream_id": o.stream_id,
        "channels": len(channel_ids),
        "channel_ids": channel_ids,
        "sample_rate_hz": o.rate_hz,
        "start_time_ns": start_ns,
        "end_time_ns": start_ns + round(n_total * NS / o.rate_hz),
        "samples_expected": n_total * len(channel_ids),
        "samples_per_channel": n_total,
        "blocks_sent": stats.blocks_sent,
        "blocks_acked": stats.blocks_acked,
        "blocks_rejected": stats.blocks_rejected,
        "samples_acked": stats.samples_acked,
        "first_sequence": stats.first_sequence,
        "last_acked_sequence": stats.last_acked_sequence,
        "duplicates_acked": stats.duplicates_acked,
        "reconnects": stats.reconnects,
        "resumed_after_sequence": stats.resumed_after_sequence,
        "rejections": stats.rejections,
        "ack_latency_p50_s": lat[len(lat) // 2] if lat else None,
        "ack_latency_p99_s": lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None,
        "wall_time_s": time.monotonic() - wall0,
    }
