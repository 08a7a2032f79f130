"""One drill, from preparation to report, on a drill server of its own.

:class:`DrillRun` starts a drill server (``exercise`` set: every alert is marked exercise
and its CAP status is Exercise) with its own database and archive under ``data_dir``,
registers the scenario's structures, creates one token per participant on it, and, when
told to inject, replays the scenario's earthquake across the structures in real time
through the ingest path (:func:`quakewatch.clients.network_event.replay_event`), while it
listens to ``EventService.Watch`` and ``AlertService.Watch`` as a participant's client
would. Nothing of a drill is ever written to a live server: the drill server is another
server.

Headquarters' products (loss estimate, plan activation and its actions, dispatch plan)
are read back from the drill server's database when the report is made, whoever made
them: the participants over gRPC with their tokens (``quakewatch drill start``), or the
built-in headquarters (``quakewatch drill run``, :meth:`DrillRun.headquarters`), which
acts as soon as what it needs exists: once the automatic report is out and the
structures' events have closed, the loss estimate from the report's hypocentre and
magnitude, conditioned on the structures' records; the plan's level and actions; the
relief dispatch of the displaced people's needs (Sphere norms) from the depots to the
townships.

This is a client of the drill server (it uses :mod:`quakewatch.clients`), run by the CLI
in its own process and by ``DrillService`` inside a live server's process.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from google.protobuf.timestamp_pb2 import Timestamp
from sqlmodel import Session, col, select

from quakewatch.v1 import alerts_pb2, common_pb2, decision_pb2, events_pb2, registry_pb2

from .scenario import DrillScenario
from .timeline import Timeline

__all__ = ["DrillRun", "Participant"]

log = logging.getLogger(__name__)
NS = 1_000_000_000
ROOF = {"building": (10, 35.0), "dam": (0, 40.0), "other": (0, 40.0)}  # kind -> floor, height of the upper sensors
CLOSE_WAIT_S = 45.0  # after the origin, the longest the built-in headquarters waits for the events to close
MINE_Q = (150.0, 100.0)  # P and S quality factors of the drill's mine rock (synthesis and location alike)


@dataclass(frozen=True)
class Participant:
    role: str
    tenant: str | None
    name: str
    token: str


def _channels(kind: str, rate_hz: float) -> list[registry_pb2.Channel]:
    """A free-field three-component accelerometer, and an X/Y pair up a building or dam."""
    acc = registry_pb2.CHANNEL_UNITS_ACCELERATION_MPS2
    out = [registry_pb2.Channel(channel_id=f"ff-{c}", array_id="free-field", orientation=c, azimuth_deg=az, dip_deg=dip,
                                units=acc, sample_rate_hz=rate_hz, sensitivity=1.0, clip_level=2 * 9.80665)
           for c, az, dip in (("E", 90.0, 0.0), ("N", 0.0, 0.0), ("Z", 0.0, -90.0))]
    if kind in ROOF:
        floor, height = ROOF[kind]
        out += [registry_pb2.Channel(channel_id=f"top-{c}", array_id="top", orientation=c, azimuth_deg=az, floor=floor,
                                     height_m=height, units=acc, sample_rate_hz=rate_hz, sensitivity=1.0, clip_level=2 * 9.80665)
                for c, az in (("X", 0.0), ("Y", 90.0))]
    return out


def _ts(wall_s: float) -> Timestamp:
    t = Timestamp()
    t.FromNanoseconds(round(wall_s * NS))
    return t


def _iso(wall_s: float) -> str:
    return datetime.fromtimestamp(wall_s, tz=UTC).isoformat(timespec="seconds")


def _wall(t: datetime) -> float:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


class DrillRun:
    def __init__(self, sc: DrillScenario, base: Path, scenario_file: Path, data_dir: Path, *, host: str = "127.0.0.1",
                 drill_id: str | None = None, tls: dict[str, Any] | None = None) -> None:
        self.sc, self.base, self.file, self.data_dir, self.host = sc, base, scenario_file, data_dir, host
        self.tls = dict(tls or {})  # tls_cert, tls_key, tls_client_ca of the live server: participants connect as to it
        self.drill_id = drill_id or uuid.uuid4().hex[:12]
        self.server: Any = None
        self.address = ""  # what participants use (TLS when the live server uses it)
        self._local = ""  # what this runner uses: the drill server's loopback port
        self.participants: list[Participant] = []
        self.status = "preparing"
        self.origin_s: float | None = None
        self.injected_s: float | None = None
        self.timeline: Timeline | None = None
        self._origin: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.report_alert: alerts_pb2.Alert | None = None
        self.grade_alert: alerts_pb2.Alert | None = None
        self._report_seen = asyncio.Event()
        self.opened: set[str] = set()
        self.closed: dict[str, events_pb2.Event] = {}
        self.closed_at: dict[str, float] = {}
        self.alerts: list[alerts_pb2.Alert] = []
        self.results: dict[str, Any] = {}
        self.replay: dict[str, Any] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._admin = ""

    # -- preparation ------------------------------------------------------------------
    async def prepare(self) -> None:
        """Start the drill server, register the structures, create the participants' tokens
        and start listening."""
        from quakewatch.clients.client import AsyncClient
        from quakewatch.server.app import create_server
        from quakewatch.server.settings import DecisionSettings, Settings
        from quakewatch.server.storage.tokens import create_token

        decision_dir = (self.base / self.sc.loss).parent if self.sc.loss else self.base
        health = {"window_s": self.sc.health_window_s, "baseline_windows": self.sc.baseline_windows}
        settings = Settings(listen=f"{self.host}:0", data_dir=self.data_dir, exercise=True, scheduler=False,
                            decision=DecisionSettings(data_dir=decision_dir), mine={"q_p": MINE_Q[0], "q_s": MINE_Q[1]},
                            health=health, loopback_port=True, **self.tls)
        self.server, port = await create_server(settings)
        await self.server.start()
        self.address = f"{self.host}:{port}"
        self._local = f"127.0.0.1:{self.server.loopback_port}"
        engine = self.server.engine
        self._admin = create_token(engine, "admin", None, description=f"drill {self.drill_id} set-up")[0]
        people = list(self.sc.participants) or []
        if not any(p.role == "hq" for p in people):  # the built-in headquarters needs a token too
            from .scenario import Participant as Spec

            people.append(Spec(role="hq", name="headquarters"))
        for p in people:
            tok = create_token(engine, p.role, p.tenant, description=f"drill {self.drill_id} participant {p.name}")[0]
            self.participants.append(Participant(p.role, p.tenant, p.name, tok))
        async with AsyncClient(self._local, self._admin) as c:
            if self.sc.mine is not None:
                await self._register_mine(c)
            if self.sc.structure is not None:
                await self._register_structure(c)
            for s in self.sc.structures:
                kind = registry_pb2.StructureKind.Value(f"STRUCTURE_KIND_{s.kind.upper()}")
                await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                    structure_id=s.id, name=f"{s.kind} {s.id} (drill)", kind=kind, tenant=s.tenant,
                    location=common_pb2.GeoPoint(longitude_deg=s.lon, latitude_deg=s.lat, elevation_m=s.elevation_m))))
                await c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=s.id, channels=_channels(s.kind, s.rate_hz)))
        self._tasks += [asyncio.create_task(self._listen(self._watch_events)), asyncio.create_task(self._listen(self._watch_alerts))]
        self.status = "ready"

    async def _register_mine(self, c: Any) -> None:
        mine = self.sc.mine
        assert mine is not None
        await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
            structure_id=mine.id, name=f"mine {mine.id} (drill)", kind=registry_pb2.STRUCTURE_KIND_MINE, tenant=mine.tenant,
            location=common_pb2.GeoPoint(longitude_deg=mine.lon, latitude_deg=mine.lat))))
        chans = [registry_pb2.Channel(channel_id=f"S{k:02d}.{c}", array_id=f"S{k:02d}", orientation=c, azimuth_deg=az, dip_deg=dip,
                                      x_m=x, y_m=y, z_m=z, units=registry_pb2.CHANNEL_UNITS_VELOCITY_MPS, sample_rate_hz=mine.rate_hz)
                 for k, (x, y, z) in enumerate(mine.sensors) for c, az, dip in (("E", 90.0, 0.0), ("N", 0.0, 0.0), ("Z", 0.0, -90.0))]
        await c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=mine.id, channels=chans))

    async def _register_structure(self, c: Any) -> None:
        """The failing structure with the layout of its kind's synthetic model."""
        from quakewatch.ext.synthetic import structure_model

        st = self.sc.structure
        assert st is not None
        _, layout = structure_model(st.kind, st.channels, st.seed, fs_hz=st.rate_hz)
        kind = registry_pb2.StructureKind.Value(f"STRUCTURE_KIND_{st.kind.upper()}")
        await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
            structure_id=st.id, name=f"{st.kind} {st.id} (drill)", kind=kind, tenant=st.tenant,
            location=common_pb2.GeoPoint(longitude_deg=st.lon, latitude_deg=st.lat))))
        chans = [registry_pb2.Channel(channel_id=x.channel_id, array_id=x.array_id, orientation=x.orientation,
                                      azimuth_deg=x.azimuth_deg, dip_deg=x.dip_deg, floor=x.floor, height_m=x.height_m, x_m=x.x_m,
                                      y_m=x.y_m, z_m=x.z_m, units=registry_pb2.CHANNEL_UNITS_ACCELERATION_MPS2,
                                      sample_rate_hz=st.rate_hz, sensitivity=1.0) for x in layout]
        await c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=st.id, channels=chans))

    async def _listen(self, fn: Any) -> None:
        from quakewatch.clients.client import AsyncClient

        async with AsyncClient(self._local, self._admin) as c:
            await fn(c)

    async def _watch_events(self, c: Any) -> None:
        async for r in c.events.Watch(events_pb2.WatchRequest()):
            now = time.time()
            if r.change == events_pb2.EVENT_CHANGE_OPENED:
                self.opened.add(r.event.structure_id)
                await self._mark("event_opened", now, f"at {r.event.structure_id}")
            elif r.change == events_pb2.EVENT_CHANGE_CLOSED and r.event.max_intensity > 0:
                self.closed[r.event.structure_id] = r.event
                self.closed_at[r.event.structure_id] = now
                await self._mark("intensity_rapid", now, f"{r.event.structure_id}: intensity {r.event.max_intensity:.1f}")

    async def _watch_alerts(self, c: Any) -> None:
        async for a in c.alerts.Watch(alerts_pb2.WatchAlertsRequest(kinds=["eew", "report", "mine.grade"])):
            now = time.time()
            self.alerts.append(a)
            if a.kind == "mine.grade" and self.grade_alert is None:
                self.grade_alert = a
                e = a.mine_grade.event
                await self._mark("mine_grade", now, f"{a.mine_grade.previous} -> {a.mine_grade.grade}: {e.type} "
                                                    f"{e.magnitude_type} {e.magnitude:.1f}")
                self._report_seen.set()
            elif a.kind == "eew":
                await self._mark("warning", now, f"{a.structure_id}: {a.eew.magnitude_type} {a.eew.magnitude:.1f}, "
                                                 f"intensity {a.eew.predicted_intensity:.1f}, {a.eew.warning_time_s:.0f} s before S")
            elif a.kind == "report" and self.report_alert is None:
                self.report_alert = a
                await self._mark("parameters", now, f"{a.report.magnitude_type} {a.report.magnitude:.1f}, "
                                                    f"{a.report.n_stations} structures")
                self._report_seen.set()

    async def _mark(self, name: str, wall_s: float, detail: str) -> None:
        await self._origin
        assert self.timeline is not None
        self.timeline.mark(name, wall_s, detail)

    # -- injection --------------------------------------------------------------------
    async def inject(self) -> None:
        """Replay the earthquake across the structures in real time (returns when the
        records have been streamed)."""
        from quakewatch.clients.client import AsyncClient
        from quakewatch.clients.network_event import NetworkEvent, NetworkOptions, replay_event

        def on_origin(origin_ns: int) -> None:
            self.origin_s = origin_ns / NS
            self.timeline = Timeline(self.sc.clocks, self.origin_s, self.sc.kind)
            self._origin.set_result(self.origin_s)

        if self.sc.kind != "earthquake":
            self.status, self.injected_s = "injecting", time.time()
            try:
                await (self._inject_mine(on_origin) if self.sc.kind == "mine_tremor" else self._inject_failure(on_origin))
            except BaseException:
                self.status = "failed"
                raise
            self.status = "running"
            return
        eq = self.sc.earthquake
        assert eq is not None
        opts = NetworkOptions(NetworkEvent(eq.lon, eq.lat, eq.depth_km, eq.mw), tuple(s.id for s in self.sc.structures),
                              duration_s=self.sc.record_s, speed="realtime", origin_at_s=self.sc.origin_after_s,
                              stream_id="drill", seed=int.from_bytes(self.sc.id.encode()[:4], "little"))
        self.status, self.injected_s = "injecting", time.time()
        try:
            async with AsyncClient(self._local, self._admin) as c:
                self.replay = await replay_event(c, opts, on_origin=on_origin)
        except BaseException:
            self.status = "failed"
            raise
        self.status = "running"

    async def _inject_mine(self, on_origin: Any) -> None:
        """The mine array's record (noise, the tremor at the origin) streamed in real time
        in 0.1-s blocks by one gateway, like the mine's acquisition system."""
        from quakewatch.clients.client import AsyncClient
        from quakewatch.clients.gateway import Gateway
        from quakewatch.ext.mine_synthetic import MineTremor, tremor_array_records

        mine, tr = self.sc.mine, self.sc.tremor
        assert mine is not None and tr is not None
        fs = mine.rate_hz
        ids = [f"S{k:02d}.{c}" for k in range(len(mine.sensors)) for c in "ENZ"]
        async with AsyncClient(self._local, self._admin) as c:
            gw = Gateway(c, mine.id, "drill")
            seq, last_end = await gw.resume_point()
            gw.next_sequence = seq + 1
            start_ns = max(time.time_ns(), last_end)
            on_origin(start_ns + round(self.sc.origin_after_s * NS))
            assert self.origin_s is not None
            tremor = MineTremor(tr.x_m, tr.y_m, tr.z_m, tr.mw, origin_s=self.sc.origin_after_s, strike_deg=tr.strike_deg,
                                dip_deg=tr.dip_deg, rake_deg=tr.rake_deg)
            data = await asyncio.to_thread(tremor_array_records, np.array(mine.sensors), tremor, fs, 0.0, self.sc.record_s,
                                           q_p=MINE_Q[0], q_s=MINE_Q[1], seed=int.from_bytes(self.sc.id.encode()[:4], "little"))
            self.replay = {"mine": mine.id, "samples_expected": int(data.size)}
            n_blk = round(0.1 * fs)
            wall0 = time.monotonic()

            async def produce() -> None:
                for b in range(0, data.shape[1], n_blk):
                    n = min(n_blk, data.shape[1] - b)
                    await asyncio.sleep(max(0.0, wall0 + (b + n) / fs - time.monotonic()))
                    await gw.put(start_ns + round(b * NS / fs), fs, ids, data[:, b:b + n])
                gw.producer_done()

            stats = await gw.stream(produce())
            self.replay["samples_acked"] = stats.samples_acked

    async def _inject_failure(self, on_origin: Any) -> None:
        """Ambient vibration of the structure before and after the damage, streamed at full
        speed and ending now (the structure's monitoring history up to the present, as a
        gateway backfilling); then the health analysis of every window is awaited."""
        from quakewatch.clients.client import AsyncClient
        from quakewatch.clients.gateway import Gateway
        from quakewatch.ext.synthetic import AmbientVibration, ModalModel, structure_model

        st, fail = self.sc.structure, self.sc.failure
        assert st is not None and fail is not None
        model, layout = structure_model(st.kind, st.channels, st.seed, fs_hz=st.rate_hz)
        damaged = ModalModel(model.frequencies_hz * math.sqrt(1.0 - fail.stiffness_loss), model.damping_ratios, model.mode_shapes)
        self.results["failure_truth"] = {"frequencies_before_hz": model.frequencies_hz.round(4).tolist(),
                                         "frequencies_after_hz": damaged.frequencies_hz.round(4).tolist(),
                                         "frequency_drop": 1.0 - math.sqrt(1.0 - fail.stiffness_loss)}
        fs = st.rate_hz
        n_total, n_fail, n_blk = round(self.sc.record_s * fs), round(fail.after_s * fs), round(fs)
        ids = [x.channel_id for x in layout]
        seed = int.from_bytes(self.sc.id.encode()[:4], "little")
        before, after = AmbientVibration(model, fs, seed=seed), AmbientVibration(damaged, fs, seed=seed + 1)
        async with AsyncClient(self._local, self._admin) as c:
            gw = Gateway(c, st.id, "drill")
            seq, last_end = await gw.resume_point()
            gw.next_sequence = seq + 1
            start_ns = max(time.time_ns() - round(self.sc.record_s * NS), last_end)
            on_origin(start_ns + round(fail.after_s * NS))

            async def produce() -> None:
                done = 0
                while done < n_total:
                    n = min(n_blk, n_total - done, n_fail - done if done < n_fail else n_blk)
                    src = before if done < n_fail else after
                    await gw.put(start_ns + round(done * NS / fs), fs, ids, src.next_block(n))
                    done += n
                gw.producer_done()

            stats = await gw.stream(produce())
        self.replay = {"structure": st.id, "samples_expected": n_total * len(ids), "samples_acked": stats.samples_acked}
        await asyncio.to_thread(self.server.shm.drain)  # every window analysed

    async def origin(self) -> float:
        return await self._origin

    # -- the built-in headquarters (unattended drills) --------------------------------
    async def headquarters(self) -> None:
        """Estimate, activate and dispatch as soon as what each step needs exists."""
        from quakewatch.clients.client import AsyncClient

        origin_s = await self._origin
        tl = self.timeline
        assert tl is not None
        if self.sc.kind == "mine_tremor":
            await self._mine_owner(origin_s)
            return
        if self.sc.kind == "structural_failure":
            await self._structure_owner()
            return
        try:
            await asyncio.wait_for(self._report_seen.wait(), max(1.0, origin_s + self.sc.clocks.parameters_s * 2 - time.time()))
        except TimeoutError:
            for name in ("loss_estimate", "response_level", "dispatch_plan"):
                tl.note(name, "no automatic report: nothing to estimate from")
            return
        while not (self.opened and set(self.closed) >= self.opened) and time.time() < origin_s + CLOSE_WAIT_S:
            await asyncio.sleep(0.5)
        if self.sc.loss is None:
            return
        hq = next(p for p in self.participants if p.role == "hq")
        async with AsyncClient(self._local, hq.token) as c:
            est = await self._estimate(c, origin_s)
            if self.sc.plan is not None:
                await c.decision.Respond(decision_pb2.RespondRequest(plan=str(self.sc.plan), estimate_id=est.estimate_id,
                                                                     origin_time=_ts(origin_s)))
            if self.sc.dispatch is not None:
                await self._dispatch(c, est)

    async def _mine_owner(self, origin_s: float) -> None:
        """The mine's dispatcher: activates the mine plan at the grade of the alert."""
        from quakewatch.clients.client import AsyncClient

        mine = self.sc.mine
        assert mine is not None
        try:
            await asyncio.wait_for(self._report_seen.wait(), max(1.0, origin_s + 30.0 - time.time()))
        except TimeoutError:
            return
        if self.sc.plan is None or self.grade_alert is None:
            return
        who = next((p for p in self.participants if p.role == "owner" and p.tenant == mine.tenant),
                   next(p for p in self.participants if p.role == "hq"))
        async with AsyncClient(self._local, who.token) as c:
            await c.decision.Respond(decision_pb2.RespondRequest(plan=str(self.sc.plan), origin_time=_ts(origin_s),
                                                                 mine_risk_grade=self.grade_alert.mine_grade.grade))

    def _health_flag(self) -> tuple[Any, int]:
        """The first periodic assessment that is not GREEN after the damage, and how many
        were not GREEN before it (false alarms)."""
        from quakewatch.server.storage.models import AssessmentRecord, ModalResultRecord

        assert self.origin_s is not None and self.sc.structure is not None
        with Session(self.server.engine) as s:
            rows = list(s.exec(select(AssessmentRecord).where(AssessmentRecord.structure_id == self.sc.structure.id,
                                                              AssessmentRecord.kind == "periodic")
                               .order_by(col(AssessmentRecord.time_ns))))
        origin_ns = round(self.origin_s * NS)
        with Session(self.server.engine) as s:
            results = list(s.exec(select(ModalResultRecord).where(ModalResultRecord.structure_id == self.sc.structure.id)))
        lowest: dict[bool, list[float]] = {False: [], True: []}  # after the damage? -> lowest identified frequency per window
        for r in results:
            modes = json.loads(r.result_json).get("modes", [])
            if modes:
                lowest[r.window_end_ns > origin_ns + round(self.sc.health_window_s * NS)].append(min(m["frequencyHz"] for m in modes))
        self.results["identified_lowest_hz"] = {k: float(np.median(v)) if v else None
                                                for k, v in (("before_damage", lowest[False]), ("after_damage", lowest[True]))}
        false_alarms = sum(1 for r in rows if r.time_ns <= origin_ns and r.status != "green")
        flag = next((r for r in rows if r.time_ns > origin_ns and r.status != "green"), None)
        self.results["health"] = {"periodic_assessments": len(rows), "before_damage": sum(1 for r in rows if r.time_ns <= origin_ns),
                                  "false_alarms_before_damage": false_alarms,
                                  "flag": None if flag is None else {"status": flag.status.upper(), "time_ns": flag.time_ns,
                                                                     "reasons": json.loads(flag.assessment_json).get("reasons", [])}}
        return flag, false_alarms

    async def _structure_owner(self) -> None:
        """The owner: once the health analysis has flagged the structure, activates the plan
        with that status."""
        from quakewatch.clients.client import AsyncClient

        st = self.sc.structure
        assert st is not None
        while self.status == "injecting" or self.replay is None:  # the flag comes from the analysed record
            if self.status == "failed":
                return
            await asyncio.sleep(0.5)
        flag, _ = await asyncio.to_thread(self._health_flag)
        if flag is None or self.sc.plan is None:
            return
        who = next((p for p in self.participants if p.role == "owner" and p.tenant == st.tenant),
                   next(p for p in self.participants if p.role == "hq"))
        async with AsyncClient(self._local, who.token) as c:
            await c.decision.Respond(decision_pb2.RespondRequest(plan=str(self.sc.plan), origin_time=_ts(flag.time_ns / NS),
                                                                 structure_health=flag.status.upper()))

    async def _estimate(self, c: Any, origin_s: float) -> decision_pb2.LossEstimate:
        assert self.report_alert is not None
        r = self.report_alert.report
        doc = yaml.safe_load((self.base / str(self.sc.loss)).read_text(encoding="utf-8"))
        doc["rupture"] = {"lon": r.longitude_deg, "lat": r.latitude_deg, "depth_km": max(r.depth_km, 1.0),
                          "mw": min(max(r.magnitude, 3.0), 9.5)}  # what the network measured, not the scenario's truth
        doc["time_of_day"] = self.sc.time_of_day
        doc["origin_time"] = _iso(r.origin_time.ToNanoseconds() / NS)
        req = decision_pb2.EstimateLossRequest(scenario=yaml.safe_dump(doc), include_assets=True,
                                               observed_start_time=_ts(origin_s - 30.0), observed_end_time=_ts(time.time()))
        est = await c.decision.EstimateLoss(req)
        self.results["rupture_used"] = doc["rupture"]
        return est

    async def _dispatch(self, c: Any, est: decision_pb2.LossEstimate) -> None:
        from quakewatch.server.decision.relief import relief_needs

        assert self.sc.dispatch is not None
        depots = (self.base / self.sc.dispatch.depots).read_text(encoding="utf-8")
        towns = list(csv.DictReader(io.StringIO((self.base / self.sc.dispatch.townships).read_text(encoding="utf-8"))))
        commodities = next(csv.reader(io.StringIO(depots)))[3:]
        assets = json.loads(est.document_json).get("assets", [])
        t_lon = np.array([float(t["lon"]) for t in towns])
        t_lat = np.array([float(t["lat"]) for t in towns])
        displaced = np.zeros(len(towns))
        for a in assets:  # the displaced of every asset go to the nearest township
            k = int(np.argmin(np.hypot((t_lon - a["lon"]) * np.cos(np.radians(a["lat"])), t_lat - a["lat"])))
            displaced[k] += float(a["casualties"].get("homeless", 0.0))
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["id", "lon", "lat", *commodities])
        for t, people in zip(towns, displaced, strict=True):
            if people >= 1.0:
                needs = relief_needs(float(people), 3.0).by_commodity
                w.writerow([t["id"], t["lon"], t["lat"], *(f"{needs[cm].quantity:.0f}" if cm in needs else "0" for cm in commodities)])
        await c.decision.PlanDispatch(decision_pb2.PlanDispatchRequest(depots_csv=depots, demands_csv=out.getvalue()))
        self.results["displaced_by_township"] = {t["id"]: round(float(p), 1) for t, p in zip(towns, displaced, strict=True)}

    # -- the report -------------------------------------------------------------------
    def _products(self, tl: Timeline, end_s: float) -> None:
        """Headquarters' and owners' products, read from the drill server's database (whoever
        made them): the first loss estimate, plan activation and dispatch plan."""
        from quakewatch.server.storage.models import DispatchRecord, LossEstimateRecord, PlanActivation

        with Session(self.server.engine) as s:
            est = s.exec(select(LossEstimateRecord).order_by(col(LossEstimateRecord.created_at))).first()
            act = s.exec(select(PlanActivation).order_by(col(PlanActivation.created_at))).first()
            disp = s.exec(select(DispatchRecord).order_by(col(DispatchRecord.created_at))).first()
        if "health_flagged" in tl.milestones:
            flag, _ = self._health_flag()
            if flag is None:
                tl.note("health_flagged", "the structure stayed GREEN after the damage")
            else:
                tl.mark("health_flagged", flag.time_ns / NS, f"{flag.status.upper()}: " + "; ".join(self.results["health"]["flag"]["reasons"][:2]))
        if "loss_estimate" in tl.milestones:
            self._loss(tl, est)
        if "response_level" in tl.milestones:
            self._activation(tl, act, end_s)
        if "dispatch_plan" in tl.milestones:
            self._dispatch_plan(tl, disp)

    def _loss(self, tl: Timeline, est: Any) -> None:
        if est is None:
            tl.note("loss_estimate", "no loss estimate was made")
            return
        tl.mark("loss_estimate", _wall(est.created_at), f"{est.fatalities:.0f} deaths, {est.displaced:.0f} displaced, "
                                                         f"{est.economic_loss:.3g} loss; PAGER {est.pager_alert or '-'}; "
                                                         f"{est.observations} observations")
        summary = json.loads(est.summary_json)
        self.results["loss"] = {
            "estimate_id": est.estimate_id, "fatalities": est.fatalities, "displaced": est.displaced,
            "economic_loss": est.economic_loss, "pager_alert": est.pager_alert, "response_level": est.response_level,
            "observations": est.observations,
            "monitored": [{"structure_id": m["structure_id"], "recorded_pga_g": (m["recorded"] or {}).get("PGA_g"),
                           "p_extensive_or_complete": sum(v for k, v in m["damage"].get("structural", {}).items()
                                                          if k in ("extensive", "complete"))}
                          for m in summary.get("monitored", [])]}

    def _activation(self, tl: Timeline, act: Any, end_s: float) -> None:
        from ..decision.activation_store import action_items

        if act is None:
            tl.note("response_level", "no plan was activated")
            return
        items = action_items(act)
        tl.mark("response_level", _wall(act.created_at), f"level {act.level or 'none'} of {act.plan_id} v{act.plan_version}, "
                                                         f"{len(items)} actions")
        self.results["activation"] = {"activation_id": act.activation_id, "plan": f"{act.plan_id} v{act.plan_version}",
                                      "level": act.level or None, "actions": len(items)}
        for a in items:
            done = a.updated_at if a.status.value in ("acknowledged", "done") else None
            tl.action(a.action_id, a.task or a.action_id, _wall(a.deadline), a.status.value,
                      _wall(done) if done is not None else None, end_s)

    def _dispatch_plan(self, tl: Timeline, disp: Any) -> None:
        if disp is None:
            tl.note("dispatch_plan", "no dispatch plan was made")
            return
        doc = json.loads(disp.document_json)
        tl.mark("dispatch_plan", _wall(disp.created_at), f"{disp.n_shipments} shipments, unmet {disp.unmet_total:.3g}")
        self.results["dispatch"] = {"dispatch_id": disp.dispatch_id, "shipments": disp.n_shipments,
                                    "unmet_total": disp.unmet_total, "objective": doc.get("objective")}

    def report(self) -> dict[str, Any]:
        """The drill so far: every milestone with its time and whether it met its clock."""
        end_s = time.time()
        sc = self.sc
        out: dict[str, Any] = {
            "drill_id": self.drill_id, "status": self.status,
            "scenario": {"id": sc.id, "name": sc.name, "file": str(self.file), "kind": sc.kind, "clock_time": sc.clock_time},
            "earthquake": sc.earthquake.model_dump() if sc.earthquake is not None else None, "drill_server": self.address,
        }
        if sc.mine is not None and sc.tremor is not None:
            out |= {"mine": sc.mine.id, "tremor": sc.tremor.model_dump()}
        if sc.structure is not None and sc.failure is not None:
            out |= {"structure": sc.structure.id, "failure": sc.failure.model_dump()}
        if self.timeline is None or self.origin_s is None:
            return out | {"milestones": [], "summary": {"milestones": 0, "met": 0, "missed": 0, "open": 0}}
        tl = Timeline(sc.clocks, self.origin_s, sc.kind)  # rebuilt from what was seen: a report can be made any time
        for name, m in self.timeline.milestones.items():
            if m.at_s is not None:
                tl.mark(name, self.origin_s + m.at_s, m.detail)
        if "intensity_full" in tl.milestones:
            missing = sorted(self.opened - set(self.closed))
            if self.opened and not missing:
                tl.mark("intensity_full", max(self.closed_at.values()), f"{len(self.closed)} structures")
            else:
                tl.note("intensity_full", f"no intensity yet from {', '.join(missing)}" if missing else "no event detected")
        self._products(tl, end_s)
        for name, m in tl.milestones.items():
            if not name.startswith("action:") and not m.detail:
                tl.note(name, "not issued")
        eq = sc.earthquake
        if self.grade_alert is not None and sc.tremor is not None:
            e, tr = self.grade_alert.mine_grade.event, sc.tremor
            self.results["mine_event"] = {"grade": self.grade_alert.mine_grade.grade, "type": e.type, "magnitude": e.magnitude,
                                          "magnitude_type": e.magnitude_type, "magnitude_error": e.magnitude - tr.mw,
                                          "location_error_m": float(np.linalg.norm([e.x_m - tr.x_m, e.y_m - tr.y_m, e.z_m - tr.z_m])),
                                          "sigma_m": e.sigma_m}
        if self.report_alert is not None and eq is not None:
            from quakewatch.ext.regional_location import project

            rep = self.report_alert.report
            x, y = project(eq.lon, eq.lat, np.array([rep.longitude_deg]), np.array([rep.latitude_deg]))
            self.results["report"] = {"magnitude": rep.magnitude, "magnitude_type": rep.magnitude_type,
                                      "magnitude_error": rep.magnitude - eq.mw, "epicentre_error_km": float(np.hypot(x, y)[0]) / 1000.0,
                                      "depth_km": rep.depth_km, "origin_time_error_s": rep.origin_time.ToNanoseconds() / NS - self.origin_s}
        structures = []
        if (sc.mine is not None or sc.structure is not None) and self.replay is not None:
            sid = sc.mine.id if sc.mine is not None else sc.structure.id  # type: ignore[union-attr]
            structures.append({"structure_id": sid, "samples_acked": self.replay.get("samples_acked", 0),
                               "samples_expected": self.replay["samples_expected"]})
        for r in (self.replay or {}).get("structures", []):
            sid = r["structure_id"]
            structures.append({"structure_id": sid, "distance_km": round(r["distance_km"], 1),
                               "p_after_origin_s": round(r["p_arrival_time_ns"] / NS - self.origin_s, 2),
                               "s_after_origin_s": round(r["s_arrival_time_ns"] / NS - self.origin_s, 2),
                               "pga_mps2": round(r["pga_mps2"], 3),
                               "intensity": round(self.closed[sid].max_intensity, 1) if sid in self.closed else None,
                               "samples_acked": r["samples_acked"], "samples_expected": r["samples_expected"]})
        return out | {
            "origin_time": _iso(self.origin_s),
            "milestones": tl.as_list(),
            "summary": tl.summary(),
            "results": dict(self.results),
            "structures": structures,
            "isolation": {"data_dir": str(self.data_dir), "exercise_server": True, "alerts": len(self.alerts),
                          "alerts_all_exercise": all(a.exercise and a.headline.startswith("EXERCISE:")
                                                     and "<status>Exercise</status>" in a.cap_xml for a in self.alerts)},
        }

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        if self.server is not None:
            await self.server.stop(grace=1.0)
            self.server = None
        if self.status not in ("failed",):
            self.status = "ended"
