"""The mine live path: picks, location, size and class from waveforms (in-process), then
the whole chain over a real socket: ingest -> detection -> location -> catalogue ->
grade change -> ``AlertService.Watch``.

Truth comes from the synthetic source (``tests/mine_synthetics.py``: straight rays in a
homogeneous medium, causal Brune pulses of a stated moment magnitude), never from our
own output.
"""

from __future__ import annotations

import asyncio
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import grpc
import numpy as np
import pytest

import mine_synthetics as ms
from conftest import run, running_server
from helpers import block
from quakewatch.clients.client import AsyncClient
from quakewatch.server.analysis.detector import ChannelMeta, Window
from quakewatch.server.analysis.mine_live import MineArrayOptions, analyse, sensors
from quakewatch.server.settings import MineSettings
from quakewatch.server.storage.audit import list_entries
from quakewatch.server.storage.tokens import create_token
from quakewatch.v1 import alerts_pb2, common_pb2, events_pb2, ingest_pb2, mine_pb2, registry_pb2

NS = 1_000_000_000
OPTS = MineArrayOptions(q_p=ms.Q_P, q_s=ms.Q_S, vp_mps=ms.VP, vs_mps=ms.VS)


def _windows(records: tuple, rng: np.random.Generator, trigger_delay_s: float = 0.02) -> tuple[list[Window], dict[str, int]]:
    wins, trig = [], {}
    for r in records:
        key = f"S{int(np.argmin(np.linalg.norm(ms.stations() - r.station_xyz_m, axis=1))):02d}"
        metas = tuple(ChannelMeta(f"{key}.{c}", array_id=key, orientation=c, azimuth_deg=az, dip_deg=dip, units="velocity_mps",
                                  x_m=float(r.station_xyz_m[0]), y_m=float(r.station_xyz_m[1]), z_m=float(r.station_xyz_m[2]))
                      for c, az, dip in ms.COMPONENTS)
        wins.append(Window(metas, ms.FS, round(r.start_time_s * NS), np.asarray(r.data, dtype=float)))
        for m in metas:  # an STA/LTA trigger fires a little after the onset
            trig[m.channel_id] = round((r.p_time_s + rng.uniform(0.0, trigger_delay_s)) * NS)
    return wins, trig


@pytest.mark.reference
def test_tremors_located_within_stated_uncertainty_and_sized() -> None:
    rng = np.random.default_rng(2026)
    n, err, sigma, dmw, kinds = 24, [], [], [], []
    for k in range(n):
        xyz = np.array([rng.uniform(100, 900), rng.uniform(100, 900), -rng.uniform(50, 450)])
        mw = rng.uniform(0.5, 2.0)
        recs = ms.tremor_records(rng, mw, xyz, 1.7e9 + 100.0 * k)
        res = analyse(sensors(*_windows(recs, rng)), OPTS)
        assert res.located, res.reasons
        assert res.location is not None
        err.append(float(np.linalg.norm(res.location.xyz_m - xyz)))
        sigma.append(res.location.sigma_radius_m)
        dmw.append(res.magnitude - mw)
        kinds.append(res.event_type)
        assert abs(res.location.origin_time_s - (1.7e9 + 100.0 * k)) < 0.01
    err_a, sig_a, dmw_a = np.array(err), np.array(sigma), np.array(dmw)
    # issue [7] acceptance 2 on the live path: error <= 2x the stated uncertainty in 95 %
    assert np.mean(err_a <= 2.0 * sig_a) >= 0.9, (err_a.round(1), sig_a.round(1))
    assert np.median(err_a) < 20.0
    # moment magnitude from the spectra (Q corrected): unbiased to about a tenth
    assert abs(dmw_a.mean()) < 0.15 and dmw_a.std() < 0.2, dmw_a.round(2)
    assert kinds.count("tremor") >= 0.9 * n, kinds


@pytest.mark.reference
def test_scheduled_blast_at_its_face_is_a_blast() -> None:
    rng = np.random.default_rng(7)
    sched = ms.schedule()
    hits = 0
    for w in sched[:6]:
        t0 = 0.5 * (w.start_s + w.end_s)
        recs = ms.waveforms(rng, np.array(w.face_xyz_m), t0, blast=True, fc=80.0, amp=30.0, noise=0.05, causal=True)
        res = analyse(sensors(*_windows(recs, rng)), OPTS, sched)
        assert res.located, res.reasons
        hits += res.event_type == "blast"
        assert any("blast" in r for r in res.reasons)
    assert hits >= 5


def test_layered_model_with_equal_layers_locates_as_the_constant_one() -> None:
    """``mine.layers`` reaches the locator: two layers of the synthetic's speeds give the
    constant-velocity answer (head waves never arrive first in a uniform stack)."""
    rng = np.random.default_rng(21)
    recs = ms.tremor_records(rng, 1.2, np.array([450.0, 380.0, -220.0]), 1.7e9)
    found = sensors(*_windows(recs, rng))
    layered = MineArrayOptions(q_p=ms.Q_P, q_s=ms.Q_S, layers=((0.0, ms.VP, ms.VS), (150.0, ms.VP, ms.VS)))
    a, b = analyse(found, OPTS), analyse(found, layered)
    assert a.location is not None and b.location is not None
    assert np.allclose(a.location.xyz_m, b.location.xyz_m, atol=0.5) and b.parameters["layers"]
    with pytest.raises(ValueError, match="layers"):
        MineSettings(layers=((0.0, 5000.0, 3000.0), (0.0, 6000.0, 3500.0)))


def test_too_few_sensors_is_a_reason_not_an_error() -> None:
    rng = np.random.default_rng(1)
    recs = ms.tremor_records(rng, 1.0, np.array([500.0, 500.0, -200.0]), 1.7e9)[:3]
    res = analyse(sensors(*_windows(recs, rng)), OPTS)
    assert not res.located and "3 triggered sensors" in res.reasons[0]


def _channels() -> list[registry_pb2.Channel]:
    out = []
    for k, xyz in enumerate(ms.stations()):
        for c, az, dip in ms.COMPONENTS:
            out.append(registry_pb2.Channel(channel_id=f"S{k:02d}.{c}", array_id=f"S{k:02d}", orientation=c, azimuth_deg=az, dip_deg=dip,
                                            x_m=float(xyz[0]), y_m=float(xyz[1]), z_m=float(xyz[2]),
                                            units=registry_pb2.CHANNEL_UNITS_VELOCITY_MPS, sample_rate_hz=ms.FS))
    return out


@pytest.mark.e2e
def test_live_tremor_raises_a_grade_alert(tmp_path: Path, db_url: str | None) -> None:
    """A Mw 2.2 tremor streamed through ingest: located, catalogued (origin "live"), the
    grade goes up (max_magnitude >= 2.0: medium in the shipped example table) and the
    change reaches a watcher as an alert, already stored and audited."""
    rng = np.random.default_rng(42)
    xyz, mw = np.array([420.0, 610.0, -260.0]), 2.2
    t_start = 1_790_000_000.0
    t0 = t_start + 4.0  # after the detector's 2 s LTA warm-up
    recs = ms.tremor_records(rng, mw, xyz, t0)
    data = ms.continuous(recs, t_start, 8.0, rng).astype(np.float32)
    sched = "start,end,x_m,y_m,z_m,radius_m,face_id\n" + "".join(
        f"{w.start_s + t_start},{w.end_s + t_start},{w.face_xyz_m[0]},{w.face_xyz_m[1]},{w.face_xyz_m[2]},{w.radius_m},{w.face_id}\n"
        for w in ms.schedule()[:8])

    async def scenario() -> None:
        async with running_server(tmp_path / "data", db_url, mine={"q_p": ms.Q_P, "q_s": ms.Q_S}) as srv:
            owner, _ = create_token(srv.engine, "owner", "coal-co")
            async with AsyncClient(srv.address, owner) as c:
                await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                    structure_id="mine-7", kind=registry_pb2.STRUCTURE_KIND_MINE,
                    location=common_pb2.GeoPoint(longitude_deg=112.55, latitude_deg=37.87))))
                r = await c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id="mine-7", channels=_channels()))
                ids = [ch.channel_id for ch in r.channels]
                lines = sched.splitlines(keepends=True)
                added = await c.mine.ImportBlastingSchedule(mine_pb2.ImportBlastingScheduleRequest(mine_id="mine-7", schedule_csv="".join(lines[:7])))
                assert added.added == 6
                (tmp_path / "blasts.csv").write_text(lines[0] + "".join(lines[7:]))
                imp = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "quakewatch.clients.cli", "mine", "schedule", "import", "mine-7", str(tmp_path / "blasts.csv"),
                    "--server", srv.address, "--token", owner, stdout=asyncio.subprocess.PIPE)
                out, _ = await imp.communicate()
                assert imp.returncode == 0 and b"2 blasting windows added" in out
                bad = lines[0] + "2026-01-01T10:00:00Z,2026-01-01T09:00:00Z,1,2,3,10,f1\n"
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.mine.ImportBlastingSchedule(mine_pb2.ImportBlastingScheduleRequest(mine_id="mine-7", schedule_csv=bad))
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "schedule_csv: row 2: end must be after start" in err.value.details()
                watch = c.alerts.Watch(alerts_pb2.WatchAlertsRequest(structure_id="mine-7", kinds=["mine.grade"]))
                cli = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "quakewatch.clients.cli", "alerts", "--server", srv.address, "--token", owner,
                    "--structure-id", "mine-7", "--count", "1", "--json", "--timeout", "60", stdout=asyncio.subprocess.PIPE)
                for _ in range(300):  # both watchers subscribed before the data arrives
                    if len(srv.alerts._subs) >= 2:
                        break
                    await asyncio.sleep(0.1)
                step = 200

                async def gen():  # type: ignore[no-untyped-def]
                    for seq, i in enumerate(range(0, data.shape[1], step), start=1):
                        yield block("mine-7", seq, round((t_start + i / ms.FS) * NS), ids, data[:, i:i + step], rate_hz=ms.FS)

                acks = [a async for a in c.ingest.Stream(gen())]
                assert len(acks) == -(-data.shape[1] // step) and all(a.status == ingest_pb2.INGEST_STATUS_ACCEPTED for a in acks), acks[:1]
                alert = await asyncio.wait_for(watch.read(), timeout=30.0)
                watch.cancel()
                g = alert.mine_grade
                assert alert.kind == "mine.grade" and g.previous == "none" and g.grade in ("medium", "strong")
                assert alert.severity in ("moderate", "severe") and any("max_magnitude" in x for x in alert.reasons)
                e = g.event
                cap = ET.fromstring(alert.cap_xml)  # the CAP 1.2 twin of the alert
                ns = "{urn:oasis:names:tc:emergency:cap:1.2}"
                assert cap.findtext(f"{ns}msgType") == "Alert" and cap.find(f"{ns}info").findtext(f"{ns}severity") in ("Moderate", "Severe")
                assert e.type == "tremor" and e.magnitude_type == "Mw" and abs(e.magnitude - mw) < 0.4
                err = float(np.linalg.norm([e.x_m - xyz[0], e.y_m - xyz[1], e.z_m - xyz[2]]))
                assert err <= max(2.0 * e.sigma_m, 10.0), (err, e.sigma_m)
                assert abs(e.origin_time.ToNanoseconds() / NS - t0) < 0.01
                out, _ = await asyncio.wait_for(cli.communicate(), timeout=60.0)
                assert cli.returncode == 0
                line = json.loads(out.decode().strip().splitlines()[0])
                assert line["kind"] == "mine.grade" and line["mine_grade"]["event"]["event_id"] == e.event_id
                # the same event id in EventService, the catalogue and the grade history
                ev = await c.events.GetEvent(events_pb2.GetEventRequest(event_id=e.event_id))
                assert ev.event.structure_id == "mine-7"
                st = await c.mine.GetMineStatus(mine_pb2.GetMineStatusRequest(mine_id="mine-7"))
                assert st.events == 1 and st.changes[0].event_id == e.event_id and st.changes[0].grade == g.grade
                # per volume: a box around the event has its grade, a box elsewhere has none
                for box, grade in (((300, 500, 500, 700, -400, -100), g.grade), ((0, 200, 0, 200, -600, 0), "none")):
                    vol = mine_pb2.Volume(x_min_m=box[0], x_max_m=box[1], y_min_m=box[2], y_max_m=box[3], z_min_m=box[4], z_max_m=box[5])
                    req = mine_pb2.GetMineStatusRequest(mine_id="mine-7", volume=vol)
                    req.time.FromSeconds(int(t0) + 60)  # within the rule table's 24 h window
                    st = await c.mine.GetMineStatus(req)
                    assert st.grade == grade
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.mine.GetMineStatus(mine_pb2.GetMineStatusRequest(mine_id="mine-7", volume=mine_pb2.Volume(x_min_m=1, x_max_m=0)))
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "volume.x_min_m" in err.value.details()
                # the event with how it was located, sized and classified
                evs = (await c.mine.ListEvents(mine_pb2.ListMineEventsRequest(mine_id="mine-7"))).events
                assert [x.event_id for x in evs] == [e.event_id] and evs[0].origin == "live"
                det = json.loads(evs[0].details_json)
                assert det["magnitude_type"] == "Mw" and det["n_p"] >= 10 and det["type"] == "tremor" and len(det["reasons"]) >= 3
                cli_ev = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "quakewatch.clients.cli", "mine", "events", "mine-7", "--server", srv.address, "--token", owner,
                    "--json", stdout=asyncio.subprocess.PIPE)
                out, _ = await cli_ev.communicate()
                assert cli_ev.returncode == 0 and json.loads(out)[0]["details"]["sigma_m"] == pytest.approx(e.sigma_m)
            entries = [x for x in list_entries(srv.engine) if x.action == "mine.grade"]
            assert entries and entries[-1].actor == "mine-monitor" and json.loads(entries[-1].details_json)["event_id"] == e.event_id

    run(scenario())
