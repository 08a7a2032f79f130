"""``quakewatch plan validate`` and ``quakewatch respond``: emergency plans, offline.

``plan validate PATH...`` checks plan files and prints every error as
``file:line: field: message`` (exit status 1 when any file has one).
``respond --plan FILE --estimate FILE`` evaluates a plan on a loss estimate
(the JSON of ``quakewatch loss --json``): the level, why, and the checklist of
actions with absolute deadlines; ``--now`` shows which are overdue and the
escalations due by then.  Both run in this process; a running server keeps
activations, statuses and escalations (``DecisionService.Respond``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .output import print_json


def add_parsers(sub: Any) -> None:
    pl = sub.add_parser("plan", help="emergency plans: validate plan files")
    psub = pl.add_subparsers(dest="plan_command", required=True)
    pv = psub.add_parser("validate", help="check plan files; every error with file, line and field (exit 1 on errors)")
    pv.add_argument("paths", nargs="+", metavar="PATH", help="plan YAML files or directories of them")
    pv.add_argument("--json", action="store_true", help="print the errors as JSON")

    r = sub.add_parser("respond", help="plan level and checklist of actions for a loss estimate")
    r.add_argument("--plan", required=True, metavar="FILE", help="an emergency plan (YAML)")
    r.add_argument("--estimate", metavar="FILE", help="a loss estimate (JSON of quakewatch loss --json)")
    r.add_argument("--origin-time", metavar="ISO", help="event origin time with zone (default: the estimate's, else now)")
    r.add_argument("--now", metavar="ISO", help="evaluate deadlines and escalations as of this time ('now' = the clock)")
    r.add_argument("--magnitude", type=float, help="event magnitude (initial judgement)")
    r.add_argument("--population-class", choices=["populated", "densely_populated"])
    r.add_argument("--gdp", type=float, metavar="AMOUNT", help="previous-year GDP of the province (currency of the loss)")
    r.add_argument("--intensity", type=float, help="largest observed or estimated seismic intensity")
    r.add_argument("--pga", type=float, metavar="M/S2", help="largest PGA recorded at the plan's structures, m/s2")
    r.add_argument("--health", choices=["GREEN", "YELLOW", "RED"], help="worst health status or post-event tag")
    r.add_argument("--mine-grade", choices=["none", "weak", "medium", "strong"], help="mine seismic risk grade")
    r.add_argument("--json", action="store_true", help="print level and actions as JSON")


def _plan_files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out += sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml")) if p.is_dir() else [p]
    return out


def plan_command(a: argparse.Namespace) -> int:
    from quakewatch.server.decision.plan_loader import check_plan

    files = _plan_files(a.paths)
    report = {str(f): check_plan(f) for f in files}
    bad = sum(bool(e) for e in report.values())
    if a.json:
        print_json({"files": [{"file": f, "valid": not errs, "errors": [e.__dict__ for e in errs]} for f, errs in report.items()]})
    else:
        for f, errs in report.items():
            if errs:
                for e in errs:
                    print(e, file=sys.stderr)
            else:
                print(f"{f}: valid")
        if not files:
            print("no plan files given", file=sys.stderr)
    return 1 if bad or not files else 0


def _print_human(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    plan = doc["plan"]
    level = doc["level"] or "none"
    console.print(f"[bold]{doc['plan_title']}[/bold] ({plan['id']} v{plan['version']}): level [bold]{level}[/bold]"
                  + (f" - {doc['level_name']}" if doc.get("level_name") else ""))
    if doc["situation"].get("origin_time_assumed"):
        console.print("[yellow]origin time unknown: deadlines count from now (give --origin-time)[/yellow]")
    for r in doc["reasons"]:
        value = f"{r['value']:,.4g}" if isinstance(r["value"], (int, float)) else r["value"]
        console.print(f"  {r['criterion']} {value}: {r['threshold']} -> {r['level'] or 'no level'}")
    if doc["actions"]:
        t = Table(title=f"{len(doc['actions'])} actions")
        for col in ("action", "role", "deadline (UTC)", "status"):
            t.add_column(col, no_wrap=True)
        t.add_column("waits for")
        t.add_column("task")
        for x in doc["actions"]:
            status = x["status"] + (" [red]OVERDUE[/red]" if x.get("overdue") else "")
            t.add_row(x["id"], x["role"], x["deadline"][:16].replace("T", " "), status, ", ".join(x["depends_on"]), x["task"])
        console.print(t)
    for e in doc["escalations"]:
        console.print(f"[red]escalation[/red] {e['action']} -> {e['to']} (due {e['due']}, #{e['count']})")


def respond_command(a: argparse.Namespace) -> int:
    from quakewatch.server.decision.plan_loader import PlanInvalid, load_plan
    from quakewatch.server.decision.respond import respond, response_document, situation_from_estimate
    from quakewatch.server.errors import QuakeWatchError

    try:
        loaded = load_plan(a.plan)
    except PlanInvalid as exc:
        for e in exc.errors:
            print(e, file=sys.stderr)
        return 1
    except QuakeWatchError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    doc = None
    try:
        if a.estimate:
            try:
                doc = json.loads(Path(a.estimate).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                print(f"error: --estimate {a.estimate}: {exc}", file=sys.stderr)
                return 2
        situation = situation_from_estimate(
            doc, origin_time=a.origin_time, default_origin_time=datetime.now(UTC), magnitude=a.magnitude, population_class=a.population_class,
            gdp_previous_year=a.gdp, intensity=a.intensity, pga_mps2=a.pga, structure_health=a.health,
            mine_risk_grade=a.mine_grade)
        now = None
        if a.now:
            now = datetime.now(UTC) if a.now == "now" else datetime.fromisoformat(a.now)
            if now.tzinfo is None:
                print("error: --now needs a time zone (e.g. Z or +08:00)", file=sys.stderr)
                return 2
        decision, items, escalations = respond(loaded, situation, now=now)
        displaced = None
        if doc is not None:
            displaced = float(doc["totals"].get("casualties", {}).get("homeless", 0.0)) or None
        out = response_document(loaded, situation, decision, items, escalations, now=now, displaced=displaced)
    except (QuakeWatchError, ValueError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    if a.json:
        print_json(out)
    else:
        _print_human(out)
    return 0
