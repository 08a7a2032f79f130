"""``quakewatch simulate --event``: one earthquake replayed across the network through the
real CLI, a real socket and the real ingest path (issue "[8] Regional association, rapid
parameters and earthquake early warning": "simulate / drills can replay a network event
with P and S arrivals at each structure").

Oracles: ObsPy TauP in IASP91 for the P and S times (an independent implementation of
the model the replay uses as flat layers), ObsPy reading the archive back, and the
early-warning chain of the server, which must find the event where it was put.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import eew_synthetics as es
from conftest import run, running_server
from quakewatch.clients.client import AsyncClient
from quakewatch.ext.regional_location import project
from quakewatch.server.storage.tokens import create_token
from quakewatch.v1 import alerts_pb2, common_pb2, registry_pb2

pytestmark = pytest.mark.e2e
NS = 1_000_000_000
QW = [sys.executable, "-m", "quakewatch.clients.cli"]


def _free_field() -> list[registry_pb2.Channel]:
    return [registry_pb2.Channel(channel_id=f"ff-{c}", array_id="ff", orientation=c, azimuth_deg=az, dip_deg=dip,
                                 units=registry_pb2.CHANNEL_UNITS_ACCELERATION_MPS2, sample_rate_hz=100.0)
            for c, az, dip in (("E", 90.0, 0.0), ("N", 0.0, 0.0), ("Z", 0.0, -90.0))]


def _building() -> list[registry_pb2.Channel]:
    """A 10-storey building: free field, roof X/Y in velocity (counts), a thermometer."""
    roof = [registry_pb2.Channel(channel_id=f"roof-{c}", array_id="roof", orientation=c, azimuth_deg=az, dip_deg=0.0,
                                 floor=10, height_m=35.0, units=registry_pb2.CHANNEL_UNITS_VELOCITY_MPS, sensitivity=1000.0,
                                 sample_rate_hz=100.0) for c, az in (("X", 30.0), ("Y", 120.0))]
    temp = registry_pb2.Channel(channel_id="temp", units=registry_pb2.CHANNEL_UNITS_TEMPERATURE_C, sample_rate_hz=100.0)
    return [*_free_field(), *roof, temp]


def _read_archive(data_dir: Path):  # type: ignore[no-untyped-def]
    import obspy

    st = obspy.Stream()
    for f in sorted((data_dir / "archive").rglob("*.D.*")):
        st += obspy.read(str(f), format="MSEED")
    st.merge()
    return st


def test_simulate_event_replays_p_and_s_at_every_structure(tmp_path: Path) -> None:
    net = es.network(n_side=3, spacing_km=12.0, seed=8)
    epi_lon, epi_lat, depth, mw = float(net.lon[4]) + 0.03, float(net.lat[4]) - 0.02, 12.0, 5.2

    async def scenario() -> tuple[dict, list[alerts_pb2.Alert], dict[str, str]]:
        async with running_server(tmp_path / "data", None) as srv:
            admin, _ = create_token(srv.engine, "admin", None)
            codes: dict[str, str] = {}
            async with AsyncClient(srv.address, admin) as c:
                for k, (sid, lon, lat) in enumerate(zip(net.ids, net.lon, net.lat, strict=True)):
                    r = await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                        structure_id=sid, kind=registry_pb2.STRUCTURE_KIND_BUILDING, tenant="city",
                        location=common_pb2.GeoPoint(longitude_deg=float(lon), latitude_deg=float(lat)))))
                    codes[r.structure.station_code] = sid
                    await c.registry.PutChannels(registry_pb2.PutChannelsRequest(
                        structure_id=sid, channels=_building() if k == 0 else _free_field()))
                # registered without a location: not part of the network, never streamed
                await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                    structure_id="nowhere", kind=registry_pb2.STRUCTURE_KIND_BRIDGE, tenant="city")))
                watch = c.alerts.Watch(alerts_pb2.WatchAlertsRequest(kinds=["eew", "report"]))
                got: list[alerts_pb2.Alert] = []

                async def collect() -> None:
                    async for a in watch:
                        got.append(a)

                task = asyncio.create_task(collect())
                await asyncio.sleep(0.2)
                proc = await asyncio.create_subprocess_exec(
                    *QW, "simulate", "--server", srv.address, "--token", admin, "--json",
                    "--event", f"{epi_lon},{epi_lat},{depth},{mw}", "--duration", "60", "--quake-at", "20", "--seed", "3",
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                out, err = await asyncio.wait_for(proc.communicate(), 240)
                assert proc.returncode == 0, err.decode()
                await asyncio.sleep(5.0)  # the worker finishes the last picks and the report
                task.cancel()
        return json.loads(out), got, codes

    summary, alerts, codes = run(scenario())
    rows = {r["structure_id"]: r for r in summary["structures"]}
    assert set(rows) == set(net.ids)  # every located structure, and only those
    assert rows[net.ids[0]]["skipped_channel_ids"] == ["temp"]
    origin_s = summary["event"]["origin_time_ns"] / NS
    x, y = project(epi_lon, epi_lat, net.lon, net.lat)
    dist_km = np.hypot(x, y) / 1000.0
    tp, ts = es.taup_time("P", depth, dist_km), es.taup_time("S", depth, dist_km)
    for k, sid in enumerate(net.ids):
        r = rows[sid]
        assert r["distance_km"] == pytest.approx(dist_km[k], abs=0.01)
        # flat IASP91 layers vs TauP's spherical IASP91: < 0.05 s within 30 km
        assert r["p_arrival_time_ns"] / NS - origin_s == pytest.approx(tp[k], abs=0.05)
        assert r["s_arrival_time_ns"] / NS - origin_s == pytest.approx(ts[k], abs=0.08)
        assert r["samples_acked"] == r["samples_expected"]

    st = _read_archive(tmp_path / "data")
    for k, sid in enumerate(net.ids):
        code = next(c for c, s in codes.items() if s == sid)
        z = st.select(station=code, channel="*Z")
        assert len(z) == 1, z
        tr = z[0]
        t0 = tr.stats.starttime.timestamp
        p_i = round((rows[sid]["p_arrival_time_ns"] / NS - t0) * tr.stats.sampling_rate)
        d = tr.data.astype(np.float64)
        before = np.sqrt(np.mean(d[p_i - 300:p_i - 5] ** 2))
        after = np.abs(d[p_i:p_i + 100]).max()
        # nothing arrives before the P time, the P wave right after it
        assert after > 20 * before, (sid, after, before)
        assert np.abs(d[p_i - 300:p_i - 5]).max() < 8 * before
    # the roof's velocity channels (counts, 1000 per m/s) swing more than the ground beneath
    bld = st.select(station=next(c for c, s in codes.items() if s == net.ids[0]))
    assert len(bld) == 5  # 3 free-field + 2 roof channels, no thermometer
    roof_pgv = max(np.abs(tr.data).max() for tr in bld.select(channel="HH?")) / 1000.0
    ground_pgv = max(np.abs(np.cumsum(tr.data.astype(np.float64))).max() / tr.stats.sampling_rate
                     for tr in bld.select(channel="HN[EN]"))
    assert roof_pgv > 1.5 * ground_pgv, (roof_pgv, ground_pgv)

    eew = [a for a in alerts if a.kind == "eew"]
    reports = [a for a in alerts if a.kind == "report"]
    assert eew and len(reports) == 1
    r = reports[0].report
    ex, ey = project(epi_lon, epi_lat, np.array([r.longitude_deg]), np.array([r.latitude_deg]))
    assert float(np.hypot(ex, ey)[0]) / 1000.0 <= 10.0
    assert abs(r.origin_time.ToNanoseconds() / NS - origin_s) < 1.5
    assert abs(r.magnitude - mw) <= 0.6


@pytest.mark.parametrize(("args", "message"), [
    pytest.param([], "--structure-id: give exactly one", id="no-structure"),
    pytest.param(["--structure-id", "a", "--structure-id", "b"], "several only with --event", id="two-structures"),
    pytest.param(["--event", "113,37,10"], "expected LON,LAT,DEPTH_KM,MW", id="event-fields"),
    pytest.param(["--event", "113,37,150,5"], r"depth_km must be within \[0.5, 100\], got 150", id="event-depth"),
    pytest.param(["--event", "113,37,10,9.1"], r"magnitude must be within \[2, 8.5\], got 9.1", id="event-magnitude"),
    pytest.param(["--event", "113,37,10,5", "--quake", "5,10"], "does not take --quake or --register", id="event-quake"),
])
def test_simulate_arguments_are_checked_before_connecting(args: list[str], message: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from quakewatch.clients.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--server", "127.0.0.1:1", *args])
    assert re.search(message, str(exc.value.code) + capsys.readouterr().err), exc.value.code


def test_a_failing_producer_stops_the_gateway_stream_with_its_error(tmp_path: Path) -> None:
    """``Gateway.stream``: the producer's error surfaces, the stream does not wait forever."""
    from quakewatch.clients.gateway import Gateway

    async def scenario() -> None:
        async with running_server(tmp_path / "data", None) as srv:
            admin, _ = create_token(srv.engine, "admin", None)
            async with AsyncClient(srv.address, admin) as c:
                await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                    structure_id="s1", kind=registry_pb2.STRUCTURE_KIND_BRIDGE)))
                await c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id="s1", channels=_free_field()))
                gw = Gateway(c, "s1", "default")

                async def produce() -> None:
                    await gw.put(1_790_000_000 * NS, 100.0, ["ff-E", "ff-N", "ff-Z"], np.zeros((3, 100)))
                    raise RuntimeError("sensor bus failed")

                with pytest.raises(RuntimeError, match="sensor bus failed"):
                    await asyncio.wait_for(gw.stream(produce()), 20)

    run(scenario())
