"""``quakewatch drill run SCENARIO``: a whole drill in this process, timed against the clocks.

A drill server starts here with its own database and archive (a temporary directory, or
``--data-dir``) and ``exercise`` set: every alert it raises is marked exercise and its
CAP status is Exercise, and nothing of the drill reaches a live server's database,
alerts or dispatch. Then, as in reality:

1. the scenario's structures are registered with their locations and sensors, and the
   earthquake is replayed across them in real time through the ingest path
   (:mod:`.network_event`: P and S at the 1-D model's times at every structure);
2. detection, association, location, early warning and the automatic report run in the
   server as they would live; the drill listens on ``EventService.Watch`` and
   ``AlertService.Watch`` as an owner's or headquarters' client would;
3. headquarters' steps run as soon as what they need is there: once the automatic report
   is out and the structures' events have closed, the loss estimate
   (``DecisionService.EstimateLoss``) from the report's hypocentre and magnitude,
   conditioned on the structures' records; then the plan's response level and actions
   (``Respond``); then the relief dispatch (``PlanDispatch``) of the displaced people's
   needs (Sphere norms) from the depots to the townships;
4. every product is time-stamped in seconds after the origin and judged against its
   clock (:mod:`quakewatch.server.drills.timeline`); plan actions nobody acknowledged
   are reported as such.

The JSON report: ``drill_id``, ``scenario``, ``earthquake``, ``origin_time``,
``milestones`` (name, product, clock_s, at_s, met, detail), ``summary``, ``results``,
``structures`` and ``isolation``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from google.protobuf.timestamp_pb2 import Timestamp

from quakewatch.v1 import alerts_pb2, common_pb2, decision_pb2, events_pb2, registry_pb2

from .client import AsyncClient

NS = 1_000_000_000
ROOF = {"building": (10, 35.0), "dam": (0, 40.0), "other": (0, 40.0)}  # kind -> floor, height of the upper sensors
CLOSE_WAIT_S = 45.0  # after the origin, the longest headquarters wait for the structures' events to close


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


class _Drill:
    def __init__(self, sc: Any, base: Path, scenario_file: Path, addr: str, tokens: dict[str, str]) -> None:
        from quakewatch.server.drills.timeline import Timeline

        self.sc, self.base, self.file, self.addr, self.tokens = sc, base, scenario_file, addr, tokens
        self.origin = asyncio.get_running_loop().create_future()
        self.timeline: Timeline | None = None
        self.report: alerts_pb2.Alert | None = None
        self.report_seen = asyncio.Event()
        self.opened: set[str] = set()
        self.closed: dict[str, events_pb2.Event] = {}
        self.closed_at: dict[str, float] = {}
        self.alerts: list[alerts_pb2.Alert] = []
        self.results: dict[str, Any] = {}
        self.activation: decision_pb2.Activation | None = None

    # -- listening, as the participants' clients do ------------------------------
    async def watch_events(self, c: AsyncClient) -> None:
        async for r in c.events.Watch(events_pb2.WatchRequest()):
            now = time.time()
            if r.change == events_pb2.EVENT_CHANGE_OPENED:
                self.opened.add(r.event.structure_id)
                await self._mark("event_opened", now, f"at {r.event.structure_id}")
            elif r.change == events_pb2.EVENT_CHANGE_CLOSED and r.event.max_intensity > 0:
                self.closed[r.event.structure_id] = r.event
                self.closed_at[r.event.structure_id] = now
                await self._mark("intensity_rapid", now, f"{r.event.structure_id}: intensity {r.event.max_intensity:.1f}")

    def intensity_full(self) -> None:
        """Intensity at every structure that recorded the event: when the last of them closed
        (judged at the end, once no more structures can open one)."""
        assert self.timeline is not None
        missing = sorted(self.opened - set(self.closed))
        if self.opened and not missing:
            self.timeline.mark("intensity_full", max(self.closed_at.values()), f"{len(self.closed)} structures")
        else:
            self.timeline.note("intensity_full", f"no intensity from {', '.join(missing)}" if missing else "no event detected")

    async def watch_alerts(self, c: AsyncClient) -> None:
        async for a in c.alerts.Watch(alerts_pb2.WatchAlertsRequest(kinds=["eew", "report"])):
            now = time.time()
            self.alerts.append(a)
            if a.kind == "eew":
                await self._mark("warning", now, f"{a.structure_id}: {a.eew.magnitude_type} {a.eew.magnitude:.1f}, "
                                                 f"intensity {a.eew.predicted_intensity:.1f}, {a.eew.warning_time_s:.0f} s before S")
            elif a.kind == "report" and self.report is None:
                self.report = a
                await self._mark("parameters", now, f"{a.report.magnitude_type} {a.report.magnitude:.1f}, "
                                                    f"{a.report.n_stations} structures")
                self.report_seen.set()

    async def _mark(self, name: str, wall_s: float, detail: str) -> None:
        await self.origin
        assert self.timeline is not None
        self.timeline.mark(name, wall_s, detail)

    # -- headquarters ----------------------------------------------------------------
    async def headquarters(self) -> None:
        origin_s = await self.origin
        tl = self.timeline
        assert tl is not None
        try:
            await asyncio.wait_for(self.report_seen.wait(), max(1.0, origin_s + self.sc.clocks.parameters_s * 2 - time.time()))
        except TimeoutError:
            for name in ("loss_estimate", "response_level", "dispatch_plan"):
                tl.note(name, "no automatic report: nothing to estimate from")
            return
        # the intensities: the structures that opened an event have closed it (or enough waiting)
        while not (self.opened and set(self.closed) >= self.opened) and time.time() < origin_s + CLOSE_WAIT_S:
            await asyncio.sleep(0.5)
        if self.sc.loss is None:
            for name in ("loss_estimate", "response_level", "dispatch_plan"):
                tl.note(name, "the scenario has no loss model")
            return
        async with AsyncClient(self.addr, self.tokens["hq"]) as c:
            est = await self._estimate(c, origin_s)
            if self.sc.plan is not None:
                await self._respond(c, est, origin_s)
            else:
                tl.note("response_level", "the scenario names no plan")
            if self.sc.dispatch is not None:
                await self._dispatch(c, est)
            else:
                tl.note("dispatch_plan", "the scenario has no depots")

    async def _estimate(self, c: AsyncClient, origin_s: float) -> decision_pb2.LossEstimate:
        assert self.report is not None and self.timeline is not None
        r = self.report.report
        loss_file = self.base / str(self.sc.loss)
        doc = yaml.safe_load(loss_file.read_text(encoding="utf-8"))
        doc["rupture"] = {"lon": r.longitude_deg, "lat": r.latitude_deg, "depth_km": max(r.depth_km, 1.0),
                          "mw": min(max(r.magnitude, 3.0), 9.5)}  # what the network measured, not the scenario's truth
        doc["time_of_day"] = self.sc.time_of_day
        doc["origin_time"] = _iso(r.origin_time.ToNanoseconds() / NS)
        req = decision_pb2.EstimateLossRequest(scenario=yaml.safe_dump(doc), include_assets=True,
                                               observed_start_time=_ts(origin_s - 30.0), observed_end_time=_ts(time.time()))
        est = await c.decision.EstimateLoss(req)
        self.timeline.mark("loss_estimate", time.time(), f"{est.fatalities:.0f} deaths, {est.displaced:.0f} displaced, "
                                                         f"{est.economic_loss:.3g} loss; PAGER {est.pager_alert or '-'}; "
                                                         f"{est.observations} observations")
        self.results["loss"] = {"estimate_id": est.estimate_id, "fatalities": est.fatalities, "displaced": est.displaced,
                                "economic_loss": est.economic_loss, "pager_alert": est.pager_alert,
                                "response_level": est.response_level, "observations": est.observations,
                                "rupture_used": doc["rupture"],
                                "monitored": [{"structure_id": m["structure_id"], "recorded_pga_g": (m["recorded"] or {}).get("PGA_g"),
                                               "p_extensive_or_complete": sum(v for k, v in m["damage"].get("structural", {}).items()
                                                                              if k in ("extensive", "complete"))}
                                              for m in json.loads(est.document_json).get("monitored", [])]}
        return est

    async def _respond(self, c: AsyncClient, est: decision_pb2.LossEstimate, origin_s: float) -> None:
        assert self.timeline is not None
        act = await c.decision.Respond(decision_pb2.RespondRequest(plan=str(self.sc.plan), estimate_id=est.estimate_id,
                                                                   origin_time=_ts(origin_s)))
        self.activation = act
        self.timeline.mark("response_level", time.time(), f"level {act.level or 'none'} of {act.plan_id} v{act.plan_version}, "
                                                          f"{len(act.actions)} actions")
        self.results["activation"] = {"activation_id": act.activation_id, "plan": f"{act.plan_id} v{act.plan_version}",
                                      "level": act.level or None, "actions": len(act.actions)}

    async def _dispatch(self, c: AsyncClient, est: decision_pb2.LossEstimate) -> None:
        from quakewatch.server.decision.relief import relief_needs

        assert self.sc.dispatch is not None and self.timeline is not None
        depots = (self.base / self.sc.dispatch.depots).read_text(encoding="utf-8")
        towns = list(csv.DictReader(io.StringIO((self.base / self.sc.dispatch.townships).read_text(encoding="utf-8"))))
        commodities = next(csv.reader(io.StringIO(depots)))[3:]
        assets = json.loads(est.document_json).get("assets", [])
        t_lon = np.array([float(t["lon"]) for t in towns])
        t_lat = np.array([float(t["lat"]) for t in towns])
        displaced = np.zeros(len(towns))
        for a in assets:
            k = int(np.argmin(np.hypot((t_lon - a["lon"]) * np.cos(np.radians(a["lat"])), t_lat - a["lat"])))
            displaced[k] += float(a["casualties"].get("homeless", 0.0))
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["id", "lon", "lat", *commodities])
        for t, people in zip(towns, displaced, strict=True):
            if people >= 1.0:
                needs = relief_needs(float(people), 3.0).by_commodity
                w.writerow([t["id"], t["lon"], t["lat"], *(f"{needs[cm].quantity:.0f}" if cm in needs else "0" for cm in commodities)])
        plan = await c.decision.PlanDispatch(decision_pb2.PlanDispatchRequest(depots_csv=depots, demands_csv=out.getvalue()))
        self.timeline.mark("dispatch_plan", time.time(), f"{len(plan.shipments)} shipments to {int((displaced >= 1).sum())} "
                                                         f"townships, {len(plan.unmet)} shortfalls")
        self.results["dispatch"] = {"dispatch_id": plan.dispatch_id, "shipments": len(plan.shipments), "unmet": len(plan.unmet),
                                    "displaced_by_township": {t["id"]: round(float(p), 1) for t, p in zip(towns, displaced, strict=True)}}


async def _run(scenario: str, data_dir: Path) -> dict[str, Any]:
    from quakewatch.server.app import create_server
    from quakewatch.server.drills.scenario import load_drill_scenario, resolve_scenario
    from quakewatch.server.drills.timeline import Timeline
    from quakewatch.server.settings import DecisionSettings, Settings
    from quakewatch.server.storage.tokens import create_token

    from .network_event import NetworkEvent, NetworkOptions, replay_event

    path = resolve_scenario(scenario)
    sc, base = load_drill_scenario(path)
    decision_dir = (base / sc.loss).parent if sc.loss else base
    settings = Settings(listen="127.0.0.1:0", data_dir=data_dir, exercise=True, decision=DecisionSettings(data_dir=decision_dir))
    server, port = await create_server(settings)
    await server.start()
    addr = f"127.0.0.1:{port}"
    drill_id = uuid.uuid4().hex[:12]
    try:
        tokens = {"hq": create_token(server.engine, "hq", None, description=f"drill {drill_id} headquarters")[0],
                  "admin": create_token(server.engine, "admin", None, description=f"drill {drill_id} set-up")[0]}
        drill = _Drill(sc, base, path, addr, tokens)
        async with AsyncClient(addr, tokens["admin"]) as c:
            for s in sc.structures:
                kind = registry_pb2.StructureKind.Value(f"STRUCTURE_KIND_{s.kind.upper()}")
                await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
                    structure_id=s.id, name=f"{s.kind} {s.id} (drill)", kind=kind, tenant=s.tenant,
                    location=common_pb2.GeoPoint(longitude_deg=s.lon, latitude_deg=s.lat, elevation_m=s.elevation_m))))
                await c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=s.id, channels=_channels(s.kind, s.rate_hz)))
            watchers = [asyncio.create_task(drill.watch_events(c)), asyncio.create_task(drill.watch_alerts(c))]
            await asyncio.sleep(0.2)

            def on_origin(origin_ns: int) -> None:
                drill.timeline = Timeline(sc.clocks, origin_ns / NS)
                drill.origin.set_result(origin_ns / NS)

            eq = sc.earthquake
            opts = NetworkOptions(NetworkEvent(eq.lon, eq.lat, eq.depth_km, eq.mw), tuple(s.id for s in sc.structures),
                                  duration_s=sc.record_s, speed="realtime", origin_at_s=sc.origin_after_s, stream_id="drill",
                                  seed=int.from_bytes(sc.id.encode()[:4], "little"))
            hq = asyncio.create_task(drill.headquarters())
            summary = await replay_event(c, opts, on_origin=on_origin)
            try:
                await asyncio.wait_for(hq, timeout=max(60.0, CLOSE_WAIT_S + 60.0))
            except TimeoutError:
                pass
            await asyncio.sleep(0.5)
            for w in watchers:
                w.cancel()
        end_s = time.time()
        tl = drill.timeline
        assert tl is not None
        if drill.activation is not None:
            for a in drill.activation.actions:
                tl.action(a.action_id, a.task or a.action_id, a.deadline.ToNanoseconds() / NS, a.status, None, end_s)
        drill.intensity_full()
        for name in ("warning", "parameters"):
            if tl.milestones[name].at_s is None:
                tl.note(name, "never issued")
        origin_s = await drill.origin
        rep = drill.report.report if drill.report is not None else None
        if rep is not None:
            from quakewatch.ext.regional_location import project

            x, y = project(eq.lon, eq.lat, np.array([rep.longitude_deg]), np.array([rep.latitude_deg]))
            drill.results["report"] = {"magnitude": rep.magnitude, "magnitude_type": rep.magnitude_type,
                                       "magnitude_error": rep.magnitude - eq.mw, "epicentre_error_km": float(np.hypot(x, y)[0]) / 1000.0,
                                       "depth_km": rep.depth_km, "origin_time_error_s": rep.origin_time.ToNanoseconds() / NS - origin_s}
        report: dict[str, Any] = {
            "drill_id": drill_id,
            "scenario": {"id": sc.id, "name": sc.name, "file": str(path), "kind": sc.kind, "clock_time": sc.clock_time},
            "earthquake": sc.earthquake.model_dump(),
            "origin_time": _iso(origin_s),
            "milestones": tl.as_list(),
            "summary": tl.summary(),
            "results": drill.results,
            "structures": [{"structure_id": r["structure_id"], "distance_km": round(r["distance_km"], 1),
                            "p_after_origin_s": round((r["p_arrival_time_ns"] / NS) - origin_s, 2),
                            "s_after_origin_s": round((r["s_arrival_time_ns"] / NS) - origin_s, 2),
                            "pga_mps2": round(r["pga_mps2"], 3),
                            "intensity": round(drill.closed[r["structure_id"]].max_intensity, 1) if r["structure_id"] in drill.closed else None,
                            "samples_acked": r["samples_acked"], "samples_expected": r["samples_expected"]}
                           for r in summary["structures"]],
            "isolation": {"data_dir": str(data_dir), "exercise_server": True, "alerts": len(drill.alerts),
                          "alerts_all_exercise": all(a.exercise and a.headline.startswith("EXERCISE:") and "<status>Exercise</status>" in a.cap_xml
                                                     for a in drill.alerts)},
        }
    finally:
        await server.stop(grace=1.0)
    return report


def run_drill(scenario: str, data_dir: Path | None, as_json: bool, report_file: Path | None, plot_file: Path | None = None) -> int:
    from quakewatch.server.drills.timeline import plot_timeline, render_markdown

    from quakewatch.server.errors import QuakeWatchError

    try:
        if data_dir is None:
            with tempfile.TemporaryDirectory(prefix="quakewatch-drill-") as tmp:
                out = asyncio.run(_run(scenario, Path(tmp)))
            out["isolation"]["data_kept"] = False
        else:
            out = asyncio.run(_run(scenario, data_dir))
            out["isolation"]["data_kept"] = True
    except QuakeWatchError as exc:
        raise SystemExit(f"error: {exc.message}") from None
    if plot_file is not None:
        plot_timeline(out, plot_file)
    if report_file is not None:
        md = render_markdown(out)
        if plot_file is not None:
            md += f"\n![timeline]({plot_file.name})\n"
        report_file.write_text(md, encoding="utf-8")
    if as_json:
        from .output import print_json

        print_json(out)
    else:
        print(render_markdown(out), end="")
    ingested = all(s["samples_acked"] == s["samples_expected"] for s in out["structures"])
    return 0 if ingested and out["isolation"]["alerts_all_exercise"] else 1
