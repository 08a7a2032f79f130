"""Issue "[8] Regional association, rapid parameters and earthquake early warning",
acceptance 1 on the server path: "On replayed synthetic network events (10-15 km station
spacing), the first alert is issued <= 5 s after the 4th P arrival, epicentre error
<= 10 km median, magnitude error sigma <= 0.4."

A 5 x 5 grid of structures 12 km apart (``tests/eew_synthetics.py``: jittered grid,
TauP IASP91 P times, Boore stochastic 3-component accelerations at 100 Hz) streams in
real time into one server (in-process, SQLite, archive on): one gateway stream per
structure, 1-s blocks sent when their last sample is "recorded", time stamps on the wall
clock.  Each of ``--events`` events (Mw 4-6, depth 5-20 km, epicentre inside the grid)
gets its own run.  Measured: the first ``eew`` alert on ``AlertService.Watch`` minus the
4th true P arrival; the epicentre and magnitude of that first alert and of the last
update.

Also acceptance 2: the automatic basic-parameter report (kind ``report``) <= 30 s after
the origin.

    python benchmarks/eew_latency.py [--events 5] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import eew_synthetics as es  # noqa: E402

from _verdict import verdict  # noqa: E402
from quakewatch.clients import AsyncClient  # noqa: E402
from quakewatch.ext.regional_location import project  # noqa: E402
from quakewatch.server.app import create_server  # noqa: E402
from quakewatch.server.settings import Settings  # noqa: E402
from quakewatch.server.storage.tokens import create_token  # noqa: E402
from quakewatch.v1 import alerts_pb2, common_pb2, ingest_pb2, registry_pb2  # noqa: E402

NS = 1_000_000_000
FS = es.FS_HZ
PRE_S = 15.0  # the detector's 10-s LTA warms up first
AFTER_S = 30.0  # the automatic report is due 20 s after the origin


def _error_km(ev: es.Event, a: alerts_pb2.Alert) -> float:
    """Epicentral distance (km) between the truth and an alert's solution."""
    x, y = project(ev.lon, ev.lat, np.array([a.eew.longitude_deg]), np.array([a.eew.latitude_deg]))
    return float(np.hypot(x, y)[0]) / 1000.0


async def _one(net: es.Network, seed: int, data_dir: Path) -> dict[str, Any]:
    rng = np.random.default_rng([seed, 3])
    server, port = await create_server(Settings(listen="127.0.0.1:0", data_dir=data_dir))
    await server.start()
    try:
        token, _ = create_token(server.engine, "admin", None)
        async with AsyncClient(f"127.0.0.1:{port}", token) as c:
            chans = [registry_pb2.Channel(channel_id=f"ff-{ch}", array_id="ff", orientation=ch, azimuth_deg=az, dip_deg=dip,
                                          units=registry_pb2.CHANNEL_UNITS_ACCELERATION_MPS2, sample_rate_hz=FS)
                     for ch, az, dip in (("E", 90.0, 0.0), ("N", 0.0, 0.0), ("Z", 0.0, -90.0))]
            for sid, lon, lat in zip(net.ids, net.lon, net.lat, strict=True):
                await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                    structure_id=sid, kind=registry_pb2.STRUCTURE_KIND_BUILDING, tenant="bench",
                    location=common_pb2.GeoPoint(longitude_deg=float(lon), latitude_deg=float(lat)))))
                await c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=sid, channels=chans))
            # records on a time axis starting at 0, generated before the clock starts;
            # the wall-clock time of the first sample is added when streaming
            ev = es.event(net, seed, mw=float(rng.uniform(4.0, 6.0)), t0=PRE_S)
            n = int((PRE_S + AFTER_S) * FS)
            streams = []
            for k in range(len(net.ids)):
                acc, t_first = es.waveform(ev, k, duration_s=PRE_S + AFTER_S + 20.0, pre_s=PRE_S + 10.0, noise_mps2=2e-4)
                i0 = round((0.0 - t_first) * FS)  # cut every record to the common grid
                streams.append(acc[:, i0:i0 + n].astype("<f4"))
            t_start = float(np.ceil(time.time())) + 1.0
            alerts: list[tuple[alerts_pb2.Alert, float]] = []
            reports: list[tuple[alerts_pb2.Alert, float]] = []

            async def watch() -> None:
                async for a in c.alerts.Watch(alerts_pb2.WatchAlertsRequest(kinds=["eew", "report"])):
                    (reports if a.kind == "report" else alerts).append((a, time.time()))

            queues: list[asyncio.Queue[ingest_pb2.SampleBlock | None]] = [asyncio.Queue() for _ in net.ids]

            async def gateway(k: int) -> None:
                async def gen() -> Any:
                    while (b := await queues[k].get()) is not None:
                        yield b
                async for _ in c.ingest.Stream(gen()):
                    pass

            w = asyncio.create_task(watch())
            gws = [asyncio.create_task(gateway(k)) for k in range(len(net.ids))]
            ids = [f"ff-{ch}" for ch in "ENZ"]
            for b in range(int(PRE_S + AFTER_S)):
                await asyncio.sleep(max(0.0, t_start + b + 1 - time.time()))
                for k, sid in enumerate(net.ids):
                    d = streams[k][:, int(b * FS):int((b + 1) * FS)]
                    queues[k].put_nowait(ingest_pb2.SampleBlock(
                        structure_id=sid, stream_id="default", sequence=b + 1, start_time_ns=round((t_start + b) * NS),
                        sample_rate_hz=FS, channel_ids=ids, encoding=ingest_pb2.ENCODING_FLOAT32_LE, n_samples=int(FS), data=d.tobytes()))
            for q in queues:
                q.put_nowait(None)
            await asyncio.gather(*gws)
            await asyncio.sleep(1.0)
            w.cancel()
    finally:
        await server.stop(grace=0.5)
    p4 = t_start + float(np.sort(ev.tp)[3])
    row: dict[str, Any] = {"seed": seed, "mw": ev.mw, "depth_km": ev.depth_km, "alerts": len(alerts), "reports": len(reports)}
    if reports:
        rep, t_rep = reports[0]
        row["report"] = {"after_origin_s": t_rep - (t_start + ev.t0), "magnitude_type": rep.report.magnitude_type,
                         "dm": rep.report.magnitude - ev.mw}
    if alerts:
        first, t_first_alert = min(alerts, key=lambda x: x[1])
        last = max(alerts, key=lambda x: (x[0].eew.update, x[1]))[0]
        row |= {"after_4th_p_s": t_first_alert - p4, "after_origin_s": t_first_alert - (t_start + ev.t0),
                "first": {"error_km": _error_km(ev, first), "dm": first.eew.magnitude - ev.mw, "n_stations": first.eew.n_stations},
                "last": {"error_km": _error_km(ev, last), "dm": last.eew.magnitude - ev.mw, "n_stations": last.eew.n_stations,
                         "update": last.eew.update}}
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--strict", action="store_true")
    a = ap.parse_args()
    net = es.network(n_side=5, spacing_km=12.0, seed=0)
    rows = []
    for seed in range(a.events):
        with tempfile.TemporaryDirectory(prefix="qw-bench-eew-") as tmp:
            rows.append(asyncio.run(_one(net, seed, Path(tmp))))
    got = [r for r in rows if r["alerts"]]
    lat = np.array([r["after_4th_p_s"] for r in got])
    err = np.array([r["first"]["error_km"] for r in got])
    dm = np.array([r["first"]["dm"] for r in got])
    summary = {"events": a.events, "alerted": len(got), "rows": rows,
               "after_4th_p_s_max": float(lat.max()) if lat.size else None,
               "error_km_median": float(np.median(err)) if err.size else None,
               "dm_mean": float(dm.mean()) if dm.size else None, "dm_sd": float(dm.std()) if dm.size else None}
    if a.json:
        print(json.dumps(summary, indent=2))
    else:
        for r in rows:
            if r["alerts"]:
                print(f"seed {r['seed']}: Mw {r['mw']:.1f} depth {r['depth_km']:.0f} km: first alert {r['after_4th_p_s']:+.1f} s after the 4th P "
                      f"({r['after_origin_s']:.1f} s after origin), error {r['first']['error_km']:.1f} km, dM {r['first']['dm']:+.2f} "
                      f"({r['first']['n_stations']} stations); last update {r['last']['update']}: error {r['last']['error_km']:.1f} km, "
                      f"dM {r['last']['dm']:+.2f} ({r['last']['n_stations']} stations)"
                      + (f"; report {r['report']['after_origin_s']:.1f} s after origin, {r['report']['magnitude_type']} dM {r['report']['dm']:+.2f}"
                         if "report" in r else "; NO REPORT"))
            else:
                print(f"seed {r['seed']}: Mw {r['mw']:.1f}: NO ALERT")
        if got:
            print(f"{len(got)}/{a.events} alerted; first alert after the 4th P: max {lat.max():.1f} s (target 5 s); "
                  f"epicentre error median {np.median(err):.1f} km (target 10 km); magnitude error {dm.mean():+.2f} +/- {dm.std():.2f} "
                  f"(target sigma 0.4)")
    rep = [r["report"]["after_origin_s"] for r in rows if "report" in r]
    if rep:
        print(f"automatic reports: {len(rep)}/{a.events}, at most {max(rep):.1f} s after the origin (target 30 s)")
    answers = len(got) == a.events and len(rep) == a.events
    met = bool(got) and max(rep, default=math.inf) <= 30.0 and lat.max() <= 5.0 and float(np.median(err)) <= 10.0 and float(np.sqrt(np.mean(dm ** 2))) <= 0.4
    return verdict(answers, met, a.strict)


if __name__ == "__main__":
    raise SystemExit(main())
