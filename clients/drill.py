"""``quakewatch drill``: drills, unattended in this process or attended on a server.

``drill run SCENARIO`` runs a whole drill here (:class:`quakewatch.server.drills.runner.DrillRun`):
a drill server of its own (a temporary directory, or ``--data-dir``; every alert marked
exercise), the scenario's earthquake replayed across its structures in real time through
the ingest path, the built-in headquarters estimating, activating the plan and
dispatching as soon as it can, and the report of every product against its clock.

``drill start SCENARIO [--blind]`` asks a running server's ``DrillService`` to start one
for participants: it answers with the drill's id, its drill server's address and one
token per participant (hq, owners), which the coordinator hands out. Participants watch
alerts, estimate, respond and acknowledge actions on the drill server with those tokens
(``quakewatch alerts``, ``activation ack``...), or acknowledge through the live server with
their own token (``drill ack ID ACTION [--done]``); ``drill report ID [--end]`` gives the
timeline so far (``--end`` closes the drill and keeps its final report).

The JSON report: ``drill_id``, ``status``, ``scenario``, ``earthquake``, ``origin_time``,
``milestones`` (name, product, clock_s, at_s, met, detail), ``summary``, ``results``,
``structures`` and ``isolation``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from .output import print_json


def add_parser(sub: Any, client_args: Any) -> None:
    dr = sub.add_parser("drill", help="drills: run a scenario and time every product against the plan's clocks")
    drsub = dr.add_subparsers(dest="drill_command", required=True)
    run = drsub.add_parser("run", help="run a drill in this process (its own drill server: nothing reaches a live one)")
    run.add_argument("scenario", help="a drill scenario file, or the id of a shipped one (plans/scenarios/)")
    run.add_argument("--json", action="store_true", help="print the report as JSON")
    run.add_argument("--report", type=Path, metavar="FILE.md", help="also write the report as Markdown")
    run.add_argument("--plot", type=Path, metavar="FILE.png", help="also plot the timeline against the clocks (needs the plot extra)")
    run.add_argument("--data-dir", type=Path, help="keep the drill server's database and archive here (default: a temporary directory)")
    start = drsub.add_parser("start", help="start a drill on a server for participants (coordinator: drill or admin token)")
    client_args(start)
    start.add_argument("scenario", help="a shipped scenario id, or a scenario file in the server's decision data directory")
    start.add_argument("--blind", action="store_true", help="participants cannot read the scenario before the injection")
    start.add_argument("--in", dest="start_in", type=float, default=0.0, metavar="SECONDS", help="inject this long from now (default: at once)")
    rep = drsub.add_parser("report", help="a drill's timeline so far, or its final report")
    client_args(rep)
    rep.add_argument("drill_id", metavar="ID")
    rep.add_argument("--end", action="store_true", help="end the drill (its drill server stops) and keep the final report")
    rep.add_argument("--report", type=Path, metavar="FILE.md", help="also write the report as Markdown")
    rep.add_argument("--plot", type=Path, metavar="FILE.png", help="also plot the timeline")
    ack = drsub.add_parser("ack", help="acknowledge (or --done) an action of the drill's plan activation (participants)")
    client_args(ack)
    ack.add_argument("drill_id", metavar="ID")
    ack.add_argument("action_id", metavar="ACTION")
    ack.add_argument("--done", action="store_true", help="mark it done (after what it depends on)")
    ack.add_argument("--note", default="", help="what was done, by whom")
    ack.add_argument("--activation", default="", metavar="ACTIVATION", help="the activation on the drill server (default: the first)")
    sc = drsub.add_parser("scenario", help="read a drill's scenario (the coordinator always; participants of a blind drill after the injection)")
    client_args(sc, json=False)
    sc.add_argument("drill_id", metavar="ID")


async def _run(scenario: str, data_dir: Path) -> dict[str, Any]:
    from quakewatch.server.drills.runner import CLOSE_WAIT_S, DrillRun
    from quakewatch.server.drills.scenario import load_drill_scenario, resolve_scenario

    path = resolve_scenario(scenario)
    sc, base = load_drill_scenario(path)
    run = DrillRun(sc, base, path, data_dir)
    try:
        await run.prepare()
        hq = asyncio.create_task(run.headquarters())
        await run.inject()
        try:
            await asyncio.wait_for(hq, timeout=CLOSE_WAIT_S + 60.0)
        except TimeoutError:
            pass
        await asyncio.sleep(0.5)
        out = run.report()
    finally:
        await run.stop()
    out["status"] = run.status
    return out


def _outputs(out: dict[str, Any], as_json: bool, report_file: Path | None, plot_file: Path | None) -> None:
    from quakewatch.server.drills.timeline import plot_timeline, render_markdown

    if plot_file is not None and out.get("milestones"):
        plot_timeline(out, plot_file)
    if report_file is not None:
        md = render_markdown(out)
        if plot_file is not None:
            md += f"\n![timeline]({plot_file.name})\n"
        report_file.write_text(md, encoding="utf-8")
    if as_json:
        print_json(out)
    else:
        print(render_markdown(out), end="")


def run_drill(scenario: str, data_dir: Path | None, as_json: bool, report_file: Path | None, plot_file: Path | None = None) -> int:
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
    _outputs(out, as_json, report_file, plot_file)
    ingested = all(s["samples_acked"] == s["samples_expected"] for s in out["structures"])
    return 0 if ingested and out["isolation"]["alerts_all_exercise"] else 1


def drill_command(a: argparse.Namespace, options: Any) -> int:
    if a.drill_command == "run":
        return run_drill(a.scenario, a.data_dir, a.json, a.report, a.plot)
    from quakewatch.v1 import drills_pb2

    from .client import Client

    with Client(options) as c:
        if a.drill_command == "start":
            d = c.drills.StartDrill(drills_pb2.StartDrillRequest(scenario=a.scenario, blind=a.blind, start_in_s=a.start_in))
            if a.json:
                out = {"drill_id": d.drill_id, "scenario_id": d.scenario_id, "blind": d.blind, "status": d.status,
                       "drill_server": d.drill_server,
                       "participants": [{"role": p.role, "tenant": p.tenant or None, "name": p.name, "token": p.token}
                                        for p in d.participants]}
                print_json(out)
            else:
                print(f"drill {d.drill_id} ({d.scenario_id}{', blind' if d.blind else ''}): {d.status}; drill server {d.drill_server}")
                for p in d.participants:
                    print(f"  {p.role:<6} {p.tenant or '-':<20} {p.name}: {p.token}")
            return 0
        if a.drill_command == "scenario":
            print(c.drills.GetDrillScenario(drills_pb2.GetDrillScenarioRequest(drill_id=a.drill_id)).scenario_yaml, end="")
            return 0
        if a.drill_command == "ack":
            d = c.drills.Acknowledge(drills_pb2.AcknowledgeRequest(drill_id=a.drill_id, action_id=a.action_id,
                                                                   status="done" if a.done else "acknowledged", note=a.note,
                                                                   activation_id=a.activation))
            m = next((x for x in json.loads(d.report_json or "{}").get("milestones", []) if x["name"] == f"action:{a.action_id}"), None)
            print(f"{a.action_id}: {m['detail'] if m else 'recorded'}" if not a.json else json.dumps(m))
            return 0
        d = (c.drills.EndDrill(drills_pb2.EndDrillRequest(drill_id=a.drill_id)) if a.end
             else c.drills.GetDrill(drills_pb2.GetDrillRequest(drill_id=a.drill_id)))
    out = json.loads(d.report_json) if d.report_json else {"drill_id": d.drill_id, "status": d.status, "milestones": []}
    _outputs(out, a.json, a.report, a.plot)
    return 0
