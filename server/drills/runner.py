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
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from quakewatch.v1 import alerts_pb2, common_pb2, decision_pb2, events_pb2, registry_pb2

from .failure_drill import inject_failure, register_structure, structure_owner
from .headquarters import dispatch_relief, estimate
from .mine_drill import MINE_Q, inject_mine, mine_owner, register_mine
from .products import read_products
from .relay import RELAY_INTERVAL_S, RelayState, relay_once
from .scenario import DrillScenario
from .timeline import NS, Timeline, iso_time, timestamp

__all__ = ["DrillRun", "Participant"]

log = logging.getLogger(__name__)
ROOF = {"building": (10, 35.0), "dam": (0, 40.0), "other": (0, 40.0)}  # kind -> floor, height of the upper sensors
CLOSE_WAIT_S = 45.0  # after the origin, the longest the built-in headquarters waits for the events to close


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


class DrillRun:
    def __init__(self, sc: DrillScenario, base: Path, scenario_file: Path, data_dir: Path, *, host: str = "127.0.0.1",
                 drill_id: str | None = None, tls: dict[str, Any] | None = None) -> None:
        self.sc, self.base, self.file, self.data_dir, self.host = sc, base, scenario_file, data_dir, host
        self.tls = dict(tls or {})  # tls_cert, tls_key, tls_client_ca of the live server: participants connect as to it
        self.drill_id = drill_id or uuid.uuid4().hex[:12]
        self.server: Any = None
        self.address = ""  # what participants use (TLS when the live server uses it)
        self.local_address = ""  # what this runner uses: the drill server's loopback port
        self.participants: list[Participant] = []
        self.status = "preparing"
        self.origin_s: float | None = None
        self.injected_s: float | None = None
        self.timeline: Timeline | None = None
        self._origin: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.report_alert: alerts_pb2.Alert | None = None
        self.grade_alert: alerts_pb2.Alert | None = None
        self.product_seen = asyncio.Event()
        self.opened: set[str] = set()
        self.closed: dict[str, events_pb2.Event] = {}
        self.closed_at: dict[str, float] = {}
        self.alerts: list[alerts_pb2.Alert] = []
        self.results: dict[str, Any] = {}
        self.replay: dict[str, Any] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.admin_token = ""
        self.relayed = RelayState()

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
        self.local_address = f"127.0.0.1:{self.server.loopback_port}"
        engine = self.server.engine
        self.admin_token = create_token(engine, "admin", None, description=f"drill {self.drill_id} set-up")[0]
        people = list(self.sc.participants) or []
        if not any(p.role == "hq" for p in people):  # the built-in headquarters needs a token too
            from .scenario import Participant as Spec

            people.append(Spec(role="hq", name="headquarters"))
        for p in people:
            tok = create_token(engine, p.role, p.tenant, description=f"drill {self.drill_id} participant {p.name}")[0]
            self.participants.append(Participant(p.role, p.tenant, p.name, tok))
        async with AsyncClient(self.local_address, self.admin_token) as c:
            if self.sc.mine is not None:
                await register_mine(self, c)
            if self.sc.structure is not None:
                await register_structure(self, c)
            for s in self.sc.structures:
                kind = registry_pb2.StructureKind.Value(f"STRUCTURE_KIND_{s.kind.upper()}")
                await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                    structure_id=s.id, name=f"{s.kind} {s.id} (drill)", kind=kind, tenant=s.tenant,
                    location=common_pb2.GeoPoint(longitude_deg=s.lon, latitude_deg=s.lat, elevation_m=s.elevation_m))))
                await c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=s.id, channels=_channels(s.kind, s.rate_hz)))
        self._tasks += [asyncio.create_task(self._listen(self._watch_events)), asyncio.create_task(self._listen(self._watch_alerts))]
        recipients: dict[str, list[tuple[str, str]]] = {}
        for spec in self.sc.participants:
            for role in spec.plan_roles:
                recipients.setdefault(role, []).append((spec.name, str(spec.webhook)))
        if recipients:
            self._tasks.append(asyncio.create_task(self._relay(recipients)))
        self.status = "ready"

    async def _relay(self, recipients: dict[str, list[tuple[str, str]]]) -> None:
        """The plan's notifications to the participants' webhooks (``relay.py``)."""
        while True:
            if self.server is not None:
                try:
                    await asyncio.to_thread(relay_once, self.server.engine, recipients, self.relayed)
                except Exception:  # a drill goes on without its relay; the report shows what reached whom
                    log.exception("drill %s: notification relay pass failed", self.drill_id)
            await asyncio.sleep(RELAY_INTERVAL_S)

    async def _listen(self, fn: Any) -> None:
        from quakewatch.clients.client import AsyncClient

        async with AsyncClient(self.local_address, self.admin_token) as c:
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
                self.product_seen.set()
            elif a.kind == "eew":
                await self._mark("warning", now, f"{a.structure_id}: {a.eew.magnitude_type} {a.eew.magnitude:.1f}, "
                                                 f"intensity {a.eew.predicted_intensity:.1f}, {a.eew.warning_time_s:.0f} s before S")
            elif a.kind == "report" and self.report_alert is None:
                self.report_alert = a
                await self._mark("parameters", now, f"{a.report.magnitude_type} {a.report.magnitude:.1f}, "
                                                    f"{a.report.n_stations} structures")
                self.product_seen.set()

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
                await (inject_mine(self, on_origin) if self.sc.kind == "mine_tremor" else inject_failure(self, on_origin))
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
            async with AsyncClient(self.local_address, self.admin_token) as c:
                self.replay = await replay_event(c, opts, on_origin=on_origin)
        except BaseException:
            self.status = "failed"
            raise
        self.status = "running"

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
            await mine_owner(self, origin_s)
            return
        if self.sc.kind == "structural_failure":
            await structure_owner(self)
            return
        try:
            await asyncio.wait_for(self.product_seen.wait(), max(1.0, origin_s + self.sc.clocks.parameters_s * 2 - time.time()))
        except TimeoutError:
            for name in ("loss_estimate", "response_level", "dispatch_plan"):
                tl.note(name, "no automatic report: nothing to estimate from")
            return
        while not (self.opened and set(self.closed) >= self.opened) and time.time() < origin_s + CLOSE_WAIT_S:
            await asyncio.sleep(0.5)
        if self.sc.loss is None:
            return
        hq = next(p for p in self.participants if p.role == "hq")
        async with AsyncClient(self.local_address, hq.token) as c:
            est = await estimate(self, c, origin_s)
            if self.sc.plan is not None:
                await c.decision.Respond(decision_pb2.RespondRequest(plan=str(self.sc.plan), estimate_id=est.estimate_id,
                                                                     origin_time=timestamp(origin_s)))
            if self.sc.dispatch is not None:
                await dispatch_relief(self, c, est)

    # -- the report -------------------------------------------------------------------
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
        read_products(self, tl, end_s)
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
            "origin_time": iso_time(self.origin_s),
            "milestones": tl.as_list(),
            "summary": tl.summary(),
            "results": dict(self.results) | ({"notifications_relayed": list(self.relayed.log)} if self.relayed.log else {}),
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
