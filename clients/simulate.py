"""``quakewatch simulate``: a gateway streaming synthetic ambient vibration.

The structure's response is modal (``quakewatch.ext.synthetic``): each mode a
damped oscillator driven by broadband excitation, plus sensor noise. With
``--speed realtime`` a block leaves when its last sample has been "recorded";
with ``--speed max`` the record is generated as fast as the server acknowledges it,
ending at the present (so it is never in the future).

With ``SimulateOptions.quake = (M, distance_km)`` an earthquake is added: a stochastic
point-source ground motion (``quakewatch.ext.stochastic``) is passed through the
structure's modal model once, before streaming, and its response is added to the
ambient blocks it overlaps, with the P onset ``quake_at_s`` seconds into the record
(default: the middle of the record). The part of the response that would fall after
the end of the record is dropped; samples are clipped at the sensor's full scale
(+/- 2 g), as a real accelerometer would. Without a quake the record is unchanged.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from quakewatch.v1 import registry_pb2

from .client import AsyncClient
from .gateway import DEFAULT_WINDOW, Gateway

if TYPE_CHECKING:
    from quakewatch.ext.synthetic import ChannelLayout, ModalModel

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
    quake: tuple[float, float] | None = None  # (moment magnitude, epicentral distance km)
    quake_at_s: float | None = None  # P onset, s from the record start; None = middle
    quake_depth_km: float = 10.0


class QuakeInjection:
    """A precomputed structural earthquake response, added to the blocks it overlaps.

    ``response`` (n_channels, n) starts at record sample ``start``; ``add`` is
    independent of how the record is split into blocks.
    """

    def __init__(self, response: np.ndarray, start: int, clip_mps2: float) -> None:
        self.response, self.start, self.clip_mps2 = response, start, clip_mps2

    def add(self, data: np.ndarray, first: int) -> np.ndarray:
        """Add the response to ``data`` (n_channels, n) holding record samples from ``first``."""
        lo, hi = max(first, self.start), min(first + data.shape[1], self.start + self.response.shape[1])
        if lo < hi:
            data[:, lo - first:hi - first] += self.response[:, lo - self.start:hi - self.start]
            np.clip(data[:, lo - first:hi - first], -self.clip_mps2, self.clip_mps2,
                    out=data[:, lo - first:hi - first])
        return data


def prepare_quake(o: SimulateOptions, quake: tuple[float, float], model: ModalModel, layout: list[ChannelLayout],
                  n_total: int) -> tuple[QuakeInjection, dict[str, Any]]:
    """The structure's response to ``quake`` = (M, km) and its summary (times relative to the record, ns)."""
    from quakewatch.ext.stochastic import stochastic_ground_motion, structure_response

    magnitude, distance_km = quake
    at_s = o.duration_s / 2 if o.quake_at_s is None else o.quake_at_s
    if not (0 <= at_s < n_total / o.rate_hz):
        raise SystemExit(f"--quake-at: must be within [0, {o.duration_s:g}) s, got {at_s:g}")
    try:
        motion = stochastic_ground_motion(magnitude, distance_km, o.rate_hz, depth_km=o.quake_depth_km,
                                          seed=o.seed, pre_event_s=0.0)
    except ValueError as exc:
        raise SystemExit(f"--quake: {exc}") from None
    response = structure_response(model, layout, motion.acc_mps2, o.rate_hz)
    start = int(round(at_s * o.rate_hz))
    visible = response[:, : max(0, n_total - start)]
    summary = {
        "magnitude": motion.magnitude,
        "distance_km": motion.distance_km,
        "depth_km": motion.depth_km,
        "p_arrival_offset_ns": round(start * NS / o.rate_hz),
        "s_arrival_offset_ns": round((start + round(motion.s_arrival_s * o.rate_hz)) * NS / o.rate_hz),
        "pga_mps2": float(np.abs(visible).max()) if visible.size else 0.0,
        "ground_pga_mps2": float(np.abs(motion.acc_mps2).max()),
        "clipped": bool(visible.size and np.abs(visible).max() > FULL_SCALE_MPS2),
        "provenance": motion.provenance(),
    }
    return QuakeInjection(visible, start, FULL_SCALE_MPS2), summary


def layout_channels(layout: list[ChannelLayout], rate_hz: float) -> list[registry_pb2.Channel]:
    """The registry channels of a synthetic layout: accelerometers in m/s^2, +/- 2 g."""
    return [registry_pb2.Channel(channel_id=c.channel_id, array_id=c.array_id, orientation=c.orientation,
                                 azimuth_deg=c.azimuth_deg, dip_deg=c.dip_deg, floor=c.floor, height_m=c.height_m,
                                 x_m=c.x_m, y_m=c.y_m, z_m=c.z_m, units=registry_pb2.CHANNEL_UNITS_ACCELERATION_MPS2,
                                 sensitivity=1.0, sample_rate_hz=rate_hz, clip_level=FULL_SCALE_MPS2)
            for c in layout]


async def register(client: AsyncClient, o: SimulateOptions) -> list[str]:
    """Create the structure and its channels (idempotent); returns the channel ids."""
    from quakewatch.ext.synthetic import structure_model

    _, layout = structure_model(o.kind, o.channels, seed=o.seed, fs_hz=o.rate_hz)
    kind = registry_pb2.StructureKind.Value(f"STRUCTURE_KIND_{o.kind.upper()}")
    await client.registry.PutStructure(
        registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(structure_id=o.structure_id, name=f"simulated {o.kind} {o.structure_id}", kind=kind, tenant=o.tenant))
    )
    chans = layout_channels(layout, o.rate_hz)
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
    model, layout = structure_model(o.kind, len(channel_ids), seed=o.seed, fs_hz=o.rate_hz)
    source = AmbientVibration(model, o.rate_hz, seed=o.seed)
    gw = Gateway(client, o.structure_id, o.stream_id, window=o.window, retry_timeout_s=o.retry_timeout_s)
    last_end_ns = await gw.resume()
    n_total = int(round(o.duration_s * o.rate_hz))
    n_block = max(1, int(round(o.block_s * o.rate_hz)))
    quake, quake_summary = (None, None) if o.quake is None else prepare_quake(o, o.quake, model, layout, n_total)
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
            if quake is not None:
                data = quake.add(data, done)
            await gw.put(start_ns + round(done * NS / o.rate_hz), o.rate_hz, channel_ids, data)
            done += n
        gw.producer_done()

    stats = await gw.stream(produce())
    lat = sorted(stats.ack_latency_s)
    summary: dict[str, Any] = {
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
    if quake_summary is not None:
        p_off, s_off = quake_summary.pop("p_arrival_offset_ns"), quake_summary.pop("s_arrival_offset_ns")
        summary["quake"] = {"p_arrival_time_ns": start_ns + p_off, "s_arrival_time_ns": start_ns + s_off, **quake_summary}
    return summary
