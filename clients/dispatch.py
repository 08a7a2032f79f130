"""``quakewatch dispatch``: which depot sends what to whom, which team goes where, which shelters open.

Runs in this process (``DecisionService.PlanDispatch`` does the same on a
server).  ``--json`` prints the dispatch document: ``objective``,
``shipments`` and ``unmet`` (and ``teams`` / ``shelters`` when their files
are given); ``--out DIR`` also writes ``shipments.csv``, ``unmet.csv`` and
``dispatch.geojson`` (one line per shipment).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from .output import print_json


def add_parser(sub: Any) -> None:
    d = sub.add_parser("dispatch", help="relief supply dispatch (LP), team assignment and shelters")
    d.add_argument("--depots", type=Path, metavar="CSV", help="id,lon,lat,<commodity>... stocks")
    d.add_argument("--demands", type=Path, metavar="CSV", help="id,lon,lat,<commodity>...[,displaced] needs")
    d.add_argument("--costs", type=Path, metavar="CSV", help="from_id,to_id,cost per unit (replaces distances)")
    d.add_argument("--objective", choices=["distance", "time"], default="distance", help="minimise unit-km or unit-hours")
    d.add_argument("--speed-kmh", type=float, default=40.0, help="road speed without a road graph (default 40)")
    d.add_argument("--detour", type=float, default=1.3, help="road / great-circle distance without a road graph (default 1.3)")
    d.add_argument("--deadline", metavar="DURATION",
                   help="relief deadline: arcs with a longer travel time are forbidden (default 10h, or none with --costs; 'none')")
    d.add_argument("--road-nodes", type=Path, metavar="CSV", help="road graph nodes: id,lon,lat")
    d.add_argument("--road-edges", type=Path, metavar="CSV", help="road graph edges: from,to,travel_time_s|length_m,speed_kmh[,oneway][,bridge_id]")
    d.add_argument("--closed-bridges", metavar="IDS", help="comma list of closed bridge ids")
    d.add_argument("--closed-from-estimate", type=Path, metavar="JSON",
                   help="close the bridges (road_edges bridge_id = asset id) likely in extensive or complete damage in this loss estimate")
    d.add_argument("--penalty", metavar="C=V,...", help="cost per unit of unmet demand, per commodity (default: serve first)")
    d.add_argument("--weights", metavar="C=V,...", help="cost multiplier per commodity (e.g. tonnes per unit)")
    d.add_argument("--vehicles", type=Path, metavar="CSV", help="id,depot_id,count,capacity_t: limit what each depot moves in time")
    d.add_argument("--unit-tonnes", metavar="C=T,...", help="with --vehicles: tonnes per unit of every commodity")
    d.add_argument("--horizon", metavar="DURATION", help="with --vehicles: time the fleet has (default: the deadline)")
    d.add_argument("--teams", type=Path, metavar="CSV", help="rescue teams: id,type,size,lon,lat,readiness_h")
    d.add_argument("--sites", type=Path, metavar="CSV", help="with --teams: id,lon,lat,<team type>...[,priority] teams needed")
    d.add_argument("--shelters", type=Path, metavar="CSV", help="with --demands (a displaced column): id,lon,lat,capacity[,open_cost][,open]")
    d.add_argument("--max-open", type=int, metavar="N", help="with --shelters: open at most N shelters")
    d.add_argument("--shelter-method", choices=["auto", "heuristic", "exact"], default="auto",
                   help="with --shelters: exact MILP on small cases (auto), the heuristic, or exact")
    d.add_argument("--out", type=Path, metavar="DIR", help="write shipments.csv, unmet.csv and dispatch.geojson here")
    d.add_argument("--json", action="store_true", help="print the dispatch document as JSON")


def _pairs(text: str | None, flag: str) -> dict[str, float] | None:
    if not text:
        return None
    out = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise SystemExit(f"error: {flag}: {part!r} is not commodity=value") from None
        if not sep:
            raise SystemExit(f"error: {flag}: {part!r} is not commodity=value")
    return out


def _deadline_h(text: str) -> float | None:
    from quakewatch.server.decision.plan_schema import parse_duration

    if text.strip().lower() == "none":
        return None
    try:
        return parse_duration(text).total_seconds() / 3600.0
    except ValueError as exc:
        raise SystemExit(f"error: --deadline: {exc}") from None


def _closed_from_estimate(path: Path) -> set[str]:
    from quakewatch.ext.road_network import closed_bridges_from_damage

    doc = json.loads(path.read_text(encoding="utf-8"))
    states = doc.get("damage_states") or []
    ids, rows = [], []
    for a in doc.get("assets", []):
        dmg = a.get("damage", {}).get("structural")
        if dmg:
            ids.append(a["id"])
            rows.append([dmg.get(s, 0.0) for s in states])
    if not ids or len(states) < 2:
        return set()
    import numpy as np

    # Hazus names ("extensive"); other fragility sets: the second most severe state and worse
    close_from = "extensive" if "extensive" in states else states[-2]
    fr = np.asarray(rows, dtype=float)
    fr = fr / np.where(fr.sum(axis=1, keepdims=True) > 0, fr.sum(axis=1, keepdims=True), 1.0)
    return set(closed_bridges_from_damage(ids, fr, states, close_from=close_from))


def _write_outputs(doc: dict[str, Any], out: Path, depots: Any, demands: Any) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "shipments.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["from", "to", "commodity", "quantity", "unit_cost", "travel_time_h"])
        for s in doc["shipments"]:
            w.writerow([s["from"], s["to"], s["commodity"], f"{s['quantity']:.6g}", f"{s['unit_cost']:.6g}", f"{s.get('travel_time_h', '')}"])
    with open(out / "unmet.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["demand", "commodity", "quantity"])
        for u in doc["unmet"]:
            w.writerow([u["demand"], u["commodity"], f"{u['quantity']:.6g}"])
    at = {i: (float(x), float(y)) for i, x, y in zip(depots.ids, depots.lon, depots.lat)}
    to = {i: (float(x), float(y)) for i, x, y in zip(demands.ids, demands.lon, demands.lat)}
    features = [{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [at[s["from"]], to[s["to"]]]},
                 "properties": s} for s in doc["shipments"]]
    (out / "dispatch.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")


def _print_human(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if "objective" in doc:
        t = Table(title=f"objective {doc['objective']:,.6g} ({doc['cost_basis']}); {len(doc['shipments'])} shipments")
        for col in ("commodity", "supply", "demand", "shipped", "unmet"):
            t.add_column(col, justify="right" if col != "commodity" else "left")
        for c, s in doc["commodities"].items():
            t.add_row(c, f"{s['supply']:,.6g}", f"{s['demand']:,.6g}", f"{s['shipped']:,.6g}", f"{s['unmet']:,.6g}")
        console.print(t)
        for u in doc["unmet"][:20]:
            console.print(f"[red]unmet[/red] {u['demand']}: {u['quantity']:,.6g} {u['commodity']}")
        if len(doc["unmet"]) > 20:
            console.print(f"... and {len(doc['unmet']) - 20} more unmet demands (--json or --out for all)")
    sh = doc.get("shelters")
    if sh:
        unmet = sum(u["people"] for u in sh["unmet"])
        console.print(f"[bold]Shelters[/bold]: open {', '.join(sh['open']) or 'none'}; {len(sh['allocations'])} allocations, "
                      f"{unmet:,.0f} people without a place; objective {sh['objective']:,.6g} ({sh['method']}, gap {sh['gap']:.2%})")
    teams = doc.get("teams")
    if teams:
        console.print(f"[bold]Teams[/bold]: {len(teams['assignments'])} assigned, {len(teams['idle'])} idle, "
                      f"{sum(u['teams'] for u in teams['unfilled'])} team slots unfilled")
        for r in teams["assignments"][:20]:
            console.print(f"  {r['team']} ({r['type']}) -> {r['site']}, arrives after {r['arrival_h']:.2f} h")


def dispatch_command(a: argparse.Namespace) -> int:
    from quakewatch.server.decision.dispatch import Network, TravelOptions, plan_shelters, plan_supplies, plan_teams
    from quakewatch.server.decision.nrml import InputFileError
    from quakewatch.server.decision.resources import read_costs, read_points, read_road, read_shelters, read_sites, read_teams, read_vehicles
    from quakewatch.server.errors import QuakeWatchError

    for x, y in (("depots", "demands"), ("teams", "sites"), ("road_nodes", "road_edges")):
        if bool(getattr(a, x)) != bool(getattr(a, y)) and not (x == "depots" and a.shelters):
            print(f"error: --{x.replace('_', '-')} and --{y.replace('_', '-')} go together", file=sys.stderr)
            return 2
    if not (a.depots or a.teams or a.shelters):
        print("error: give --depots and --demands (supplies), --teams and --sites, and/or --shelters and --demands", file=sys.stderr)
        return 2
    if a.shelters and not a.demands:
        print("error: --shelters needs --demands (with a displaced column)", file=sys.stderr)
        return 2
    try:
        network = Network(read_road(a.road_nodes, a.road_edges)) if a.road_nodes else None
        closed = set(filter(None, (a.closed_bridges or "").split(",")))
        if a.closed_from_estimate:
            closed |= _closed_from_estimate(a.closed_from_estimate)
        opts = TravelOptions(objective=a.objective, speed_kmh=a.speed_kmh, detour_factor=a.detour,
                             deadline_h=_deadline_h(a.deadline or ("none" if a.costs else "10h")), closed_bridges=frozenset(closed))
        graph = network.graph() if network is not None else None
        doc: dict[str, Any] = {}
        depots = None
        demands = read_points(a.demands, str(a.demands), extra=("displaced",)) if a.demands else None
        if a.depots and demands is not None:
            depots = read_points(a.depots, str(a.depots))
            costs = read_costs(a.costs, depots.ids, demands.ids, str(a.costs)) if a.costs else None
            fleet = read_vehicles(a.vehicles, depots.ids, str(a.vehicles)) if a.vehicles else None
            doc = plan_supplies(depots, demands, costs=costs, opts=opts, network=network, graph=graph,
                                shortage_penalty=_pairs(a.penalty, "--penalty"), weights=_pairs(a.weights, "--weights"),
                                fleet_t=fleet, unit_tonnes=_pairs(a.unit_tonnes, "--unit-tonnes"),
                                horizon_h=_deadline_h(a.horizon) if a.horizon else None)
        if a.shelters and demands is not None:
            doc["shelters"] = plan_shelters(read_shelters(a.shelters, str(a.shelters)), demands, opts=opts, network=network,
                                            graph=graph, max_open=a.max_open, method=a.shelter_method)
        if a.teams:
            doc["teams"] = plan_teams(read_teams(a.teams, str(a.teams)), read_sites(a.sites, str(a.sites)),
                                      opts=opts, network=network, graph=graph)
    except (InputFileError, QuakeWatchError, ValueError, OSError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    if a.out and depots is not None:
        _write_outputs(doc, a.out, depots, demands)
    if a.json:
        print_json(doc)
    else:
        _print_human(doc)
    return 0
