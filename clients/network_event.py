"""``quakewatch simulate --event``: replay one earthquake across the monitored network.

Every registered structure with a location (or those named) streams its registered
acceleration and velocity channels through the real ingest path, one gateway stream
each, all on one time axis: ambient vibration plus the earthquake's motion, with the P
and S onsets at the travel times of the 1-D velocity model (``eew.velocity_model``,
IASP91 by default; :mod:`quakewatch.ext.regional_velocity`) from the hypocentre to the
structure, so that detection, association, location, magnitude, warnings and the
automatic report all run on it as they would on a real event.

Per structure:

* the free-field motion is :func:`quakewatch.ext.stochastic.stochastic_ground_motion`
  for the event's Mw at the structure's epicentral distance and the event depth, its P
  onset at the model P time and its S onset ``t_S - t_P`` later, the radial P motion
  along the true back-azimuth; beyond the stochastic model's 500 km nothing is added;
* channels above the base see it through :func:`quakewatch.ext.synthetic.layout_model`
  (a generic shear cantilever of the structure's height; stated there), channels at the
  base and below record the free-field motion along their axis
  (:func:`quakewatch.ext.stochastic.structure_response`);
* ambient vibration: the same modal model driven by broadband noise
  (:class:`quakewatch.ext.synthetic.AmbientVibration`) or, with no channel above the
  base, sensor noise of 5e-5 m/s^2 RMS;
* velocity channels get the integral of the acceleration (trapezoid), values are
  multiplied by the channel's sensitivity (counts per unit) and clipped at its
  ``clip_level``; channels in other units (strain, temperature, ...) are not streamed
  and are listed in the summary.

The summary gives, for each structure, its distance and the P and S arrival times, so
that a drill or a test can compare every product with the truth.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from quakewatch.v1 import registry_pb2

from .client import AsyncClient
from .gateway import DEFAULT_WINDOW, Gateway

NS = 1_000_000_000
MOTION_UNITS = (registry_pb2.CHANNEL_UNITS_ACCELERATION_MPS2, registry_pb2.CHANNEL_UNITS_VELOCITY_MPS)
SENSOR_NOISE_MPS2 = 5e-5
MAX_DISTANCE_KM = 500.0  # the stochastic model's range


@dataclass(frozen=True)
class NetworkEvent:
    """An earthquake to replay: epicentre (degrees), depth (km), moment magnitude."""

    lon_deg: float
    lat_deg: float
    depth_km: float
    magnitude: float

    def __post_init__(self) -> None:
        for name, v, lo, hi in (("longitude", self.lon_deg, -180.0, 180.0), ("latitude", self.lat_deg, -90.0, 90.0),
                                ("depth_km", self.depth_km, 0.5, 100.0), ("magnitude", self.magnitude, 2.0, 8.5)):
            if not (math.isfinite(v) and lo <= v <= hi):
                raise ValueError(f"--event: {name} must be within [{lo:g}, {hi:g}], got {v}")


@dataclass(frozen=True)
class NetworkOptions:
    event: NetworkEvent
    structure_ids: tuple[str, ...] = ()  # () = every located structure the token can see
    rate_hz: float = 100.0  # used where a structure's channels register no rate
    duration_s: float = 60.0
    block_s: float = 1.0
    speed: str = "max"  # "max" | "realtime"
    seed: int = 0
    stream_id: str = "default"
    origin_at_s: float | None = None  # origin, s from the record start; None = the middle
    velocity_model: str = "iasp91"
    retry_timeout_s: float = 120.0
    window: int = DEFAULT_WINDOW


@dataclass
class _Station:
    structure: registry_pb2.Structure
    channels: list[registry_pb2.Channel]
    skipped: list[str]
    rate_hz: float
    distance_km: float = math.nan
    tp_s: float = math.nan  # travel times from the origin
    ts_s: float = math.nan
    backazimuth_deg: float = 0.0


async def _stations(client: AsyncClient, o: NetworkOptions) -> list[_Station]:
    if o.structure_ids:
        found = []
        for sid in o.structure_ids:
            r = await client.registry.GetStructure(registry_pb2.GetStructureRequest(structure_id=sid))
            found.append((r.structure, list(r.channels)))
    else:
        listed = await client.registry.ListStructures(registry_pb2.ListStructuresRequest())
        found = []
        for st in listed.structures:
            r = await client.registry.ListChannels(registry_pb2.ListChannelsRequest(structure_id=st.structure_id))
            found.append((st, list(r.channels)))
    out = []
    for st, chans in found:
        loc = st.location
        if (loc.longitude_deg, loc.latitude_deg) == (0.0, 0.0):
            if o.structure_ids:
                raise SystemExit(f"--structure-id: {st.structure_id!r} has no registered location")
            continue
        motion = [c for c in chans if c.units in MOTION_UNITS]
        if not motion:
            if o.structure_ids:
                raise SystemExit(f"--structure-id: {st.structure_id!r} has no acceleration or velocity channel")
            continue
        rates = {c.sample_rate_hz for c in motion if c.sample_rate_hz > 0}
        if len(rates) > 1:
            raise SystemExit(f"structure {st.structure_id!r}: its channels register different sample rates "
                             f"{sorted(rates)}; a replay streams one rate per structure")
        out.append(_Station(st, motion, [c.channel_id for c in chans if c.units not in MOTION_UNITS],
                            rates.pop() if rates else o.rate_hz))
    if not out:
        raise SystemExit("--event: no registered structure with a location and motion channels to replay on")
    return out


def _travel_times(o: NetworkOptions, stations: list[_Station]) -> None:
    from quakewatch.ext.layered_traveltime import travel_time
    from quakewatch.ext.regional_location import project
    from quakewatch.ext.regional_velocity import load_velocity_model

    ev = o.event
    model = load_velocity_model(o.velocity_model)
    lon = np.array([s.structure.location.longitude_deg for s in stations])
    lat = np.array([s.structure.location.latitude_deg for s in stations])
    x, y = project(ev.lon_deg, ev.lat_deg, lon, lat)
    rcv = np.column_stack([x, y, [s.structure.location.elevation_m for s in stations]])
    src = np.tile([0.0, 0.0, -ev.depth_km * 1000.0], (len(stations), 1))
    tp, ts = travel_time(model, src, rcv, "P"), travel_time(model, src, rcv, "S")
    for k, s in enumerate(stations):
        s.distance_km = float(np.hypot(x[k], y[k])) / 1000.0
        s.tp_s, s.ts_s = float(tp[k]), float(ts[k])
        # from the structure towards the epicentre, clockwise from north
        s.backazimuth_deg = float(np.degrees(np.arctan2(-x[k], -y[k]))) % 360.0


def _layout(channels: list[registry_pb2.Channel]) -> list[Any]:
    from quakewatch.ext.synthetic import ChannelLayout

    return [ChannelLayout(c.channel_id, c.orientation, c.azimuth_deg, c.dip_deg, c.floor, c.height_m, c.x_m, c.y_m, c.z_m,
                          c.array_id) for c in channels]


class _Record:
    """One structure's record, generated block by block on the common time axis."""

    def __init__(self, o: NetworkOptions, s: _Station, k: int, n_total: int, origin_sample: float) -> None:
        from quakewatch.ext.stochastic import stochastic_ground_motion, structure_response
        from quakewatch.ext.synthetic import AmbientVibration, layout_model

        fs = s.rate_hz
        layout = _layout(s.channels)
        model = layout_model(layout, fs_hz=fs)
        seed = o.seed * 100_003 + k
        self.ambient = AmbientVibration(model, fs, seed=seed) if model is not None else None
        self.noise = np.random.default_rng([seed, 7])
        self.n_channels = len(s.channels)
        self.velocity = np.array([c.units == registry_pb2.CHANNEL_UNITS_VELOCITY_MPS for c in s.channels])
        self.gain = np.array([c.sensitivity if c.sensitivity > 0 else 1.0 for c in s.channels])[:, None]
        self.clip = np.array([c.clip_level if c.clip_level > 0 else np.inf for c in s.channels])[:, None]
        self.fs = fs
        self.vel_state = np.zeros(self.n_channels)  # running integral and last sample of
        self.last_acc = np.zeros(self.n_channels)  # the acceleration (velocity channels)
        self.quake: np.ndarray | None = None
        self.quake_start = 0
        self.pga_mps2 = 0.0
        if s.distance_km <= MAX_DISTANCE_KM:
            start = int(round(origin_sample + s.tp_s * fs))
            motion = stochastic_ground_motion(o.event.magnitude, s.distance_km, fs, depth_km=o.event.depth_km, seed=seed,
                                              pre_event_s=0.0, backazimuth_deg=s.backazimuth_deg,
                                              s_minus_p_s=max(s.ts_s - s.tp_s, 1.0 / fs))
            g = motion.acc_mps2
            resp = structure_response(model, layout, g, fs) if model is not None else _project(layout, g)
            keep = max(0, min(resp.shape[1], n_total - start))
            self.quake, self.quake_start = resp[:, :keep], start
            self.pga_mps2 = float(np.abs(resp[:, :keep]).max()) if keep else 0.0

    def next_block(self, first: int, n: int) -> np.ndarray:
        acc = (self.ambient.next_block(n) if self.ambient is not None
               else self.noise.normal(0.0, SENSOR_NOISE_MPS2, (self.n_channels, n)))
        if self.quake is not None:
            lo, hi = max(first, self.quake_start), min(first + n, self.quake_start + self.quake.shape[1])
            if lo < hi:
                acc[:, lo - first:hi - first] += self.quake[:, lo - self.quake_start:hi - self.quake_start]
        out = acc.copy()
        if self.velocity.any():
            a = np.concatenate([self.last_acc[:, None], acc], axis=1)
            vel = self.vel_state[:, None] + np.cumsum(0.5 * (a[:, 1:] + a[:, :-1]), axis=1) / self.fs
            self.vel_state, self.last_acc = vel[:, -1].copy(), acc[:, -1].copy()
            out[self.velocity] = vel[self.velocity]
        return np.clip(out * self.gain, -self.clip, self.clip)


def _project(layout: list[Any], ground: np.ndarray) -> np.ndarray:
    from quakewatch.ext.stochastic import channel_directions

    return np.ascontiguousarray(channel_directions(layout) @ ground)


async def replay_event(client: AsyncClient, o: NetworkOptions,
                       on_origin: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Stream the event to every structure; returns the JSON summary (times in ns).
    ``on_origin`` is told the origin time (ns) once it is fixed, before streaming starts."""
    stations = await _stations(client, o)
    _travel_times(o, stations)
    gateways = [Gateway(client, s.structure.structure_id, o.stream_id, window=o.window, retry_timeout_s=o.retry_timeout_s)
                for s in stations]
    held_until = [await gw.resume() for gw in gateways]
    now = time.time_ns()
    start_ns = now if o.speed == "realtime" else now - int(o.duration_s * NS)
    start_ns = max([start_ns, *held_until])  # one time axis, after everything already held
    at_s = o.duration_s / 2 if o.origin_at_s is None else o.origin_at_s
    if not 0 <= at_s < o.duration_s:
        raise SystemExit(f"--quake-at: the origin must be within [0, {o.duration_s:g}) s of the record, got {at_s:g}")
    origin_ns = start_ns + round(at_s * NS)
    if on_origin is not None:
        on_origin(origin_ns)
    records = []
    for k, s in enumerate(stations):
        n_total = int(round(o.duration_s * s.rate_hz))
        records.append((_Record(o, s, k, n_total, at_s * s.rate_hz), n_total))
    wall0 = time.monotonic()

    async def produce(gw: Gateway, s: _Station, rec: _Record, n_total: int) -> None:
        ids = [c.channel_id for c in s.channels]
        n_block = max(1, int(round(o.block_s * s.rate_hz)))
        done = 0
        while done < n_total:
            n = min(n_block, n_total - done)
            if o.speed == "realtime":
                await asyncio.sleep(max(0.0, wall0 + (done + n) / s.rate_hz - time.monotonic()))
            await gw.put(start_ns + round(done * NS / s.rate_hz), s.rate_hz, ids, rec.next_block(done, n))
            done += n
        gw.producer_done()

    stats = await asyncio.gather(*(gw.stream(produce(gw, s, rec, n))
                                   for gw, s, (rec, n) in zip(gateways, stations, records, strict=True)))
    out = []
    for s, (rec, n_total), st in zip(stations, records, stats, strict=True):
        out.append({
            "structure_id": s.structure.structure_id,
            "distance_km": s.distance_km,
            "backazimuth_deg": s.backazimuth_deg,
            "p_arrival_time_ns": origin_ns + round(s.tp_s * NS),
            "s_arrival_time_ns": origin_ns + round(s.ts_s * NS),
            "pga_mps2": rec.pga_mps2,
            "sample_rate_hz": s.rate_hz,
            "channel_ids": [c.channel_id for c in s.channels],
            "skipped_channel_ids": s.skipped,
            "samples_expected": n_total * len(s.channels),
            "samples_acked": st.samples_acked,
            "blocks_rejected": st.blocks_rejected,
            "rejections": st.rejections,
            "reconnects": st.reconnects,
        })
    ev = o.event
    return {
        "event": {"longitude_deg": ev.lon_deg, "latitude_deg": ev.lat_deg, "depth_km": ev.depth_km, "magnitude": ev.magnitude,
                  "magnitude_type": "Mw", "origin_time_ns": origin_ns, "velocity_model": o.velocity_model},
        "stream_id": o.stream_id,
        "start_time_ns": start_ns,
        "end_time_ns": start_ns + round(o.duration_s * NS),
        "structures": sorted(out, key=lambda r: r["p_arrival_time_ns"]),
        "wall_time_s": time.monotonic() - wall0,
    }
