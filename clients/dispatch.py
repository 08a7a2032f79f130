"""``quakewatch dispatch``: which depot sends what to whom, which team goes where, which shelters open.

Runs in this process (``DecisionService.PlanDispatch`` does the same on a
server).  ``--json`` prints the dispatch document: ``objective``,
``shipments`` and ``unmet`` (and ``teams`` / ``shelters`` when their files
are given); ``--out DIR`` also writes what was planned as files people and GIS
tools open: ``shipments.csv`` and ``unmet.csv``; ``teams.csv`` and
``teams_unfilled.csv``; ``shelter_allocations.csv``, ``shelters_open.csv`` and
``shelter_unmet.csv``; ``dispatch.geojson`` with one line per movement (property
``kind``: ``shipment``, ``team`` or ``shelter``); and with ``--map`` the map
``dispatch_map.png`` (matplotlib, an optional extra).
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
    d.add_argument("--out", type=Path, metavar="DIR", help="write what was planned here: CSV files (shipments, unmet, teams, "
                   "shelters) and dispatch.geojson")
    d.add_argument("--map", action="store_true", help="with --out: also write dispatch_map.png (needs matplotlib)")
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


#: places named on the map when a kind has at most this many (depots, open shelters, sites)
MAP_LABELS = 60


def _write_csv(path: Path, header: list[str], rows: Any) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _line(kind: str, a: tuple[float, float], b: tuple[float, float], props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [a, b]}, "properties": {"kind": kind, **props}}


def _where(ids: Any, lon: Any, lat: Any) -> dict[str, tuple[float, float]]:
    return {i: (float(x), float(y)) for i, x, y in zip(ids, lon, lat)}


def _write_outputs(doc: dict[str, Any], out: Path, places: dict[str, Any], map_png: bool) -> list[Path]:
    """What was planned, as files in ``out``: supplies (``shipments.csv``, ``unmet.csv``),
    teams (``teams.csv``, ``teams_unfilled.csv``), shelters (``shelter_allocations.csv``,
    ``shelters_open.csv``, ``shelter_unmet.csv``), every movement as a line of
    ``dispatch.geojson`` (property ``kind``: shipment, team or shelter), and with
    ``map_png`` the map ``dispatch_map.png``."""
    out.mkdir(parents=True, exist_ok=True)
    written, features = [], []
    if "shipments" in doc:
        _write_csv(out / "shipments.csv", ["from", "to", "commodity", "quantity", "unit_cost", "travel_time_h"],
                   ([s["from"], s["to"], s["commodity"], f"{s['quantity']:.6g}", f"{s['unit_cost']:.6g}", f"{s.get('travel_time_h', '')}"]
                    for s in doc["shipments"]))
        _write_csv(out / "unmet.csv", ["demand", "commodity", "quantity"],
                   ([u["demand"], u["commodity"], f"{u['quantity']:.6g}"] for u in doc["unmet"]))
        written += [out / "shipments.csv", out / "unmet.csv"]
        at, to = places["depots"], places["demands"]
        features += [_line("shipment", at[s["from"]], to[s["to"]], s) for s in doc["shipments"]]
    teams = doc.get("teams")
    if teams is not None:
        _write_csv(out / "teams.csv", ["team", "type", "site", "arrival_h"],
                   ([r["team"], r["type"], r["site"], f"{r['arrival_h']:.6g}"] for r in teams["assignments"]))
        _write_csv(out / "teams_unfilled.csv", ["site", "type", "teams"], ([u["site"], u["type"], u["teams"]] for u in teams["unfilled"]))
        written += [out / "teams.csv", out / "teams_unfilled.csv"]
        features += [_line("team", places["teams"][r["team"]], places["sites"][r["site"]], r) for r in teams["assignments"]]
    sh = doc.get("shelters")
    if sh is not None:
        _write_csv(out / "shelter_allocations.csv", ["from", "shelter", "people"],
                   ([r["from"], r["shelter"], f"{r['people']:.6g}"] for r in sh["allocations"]))
        _write_csv(out / "shelters_open.csv", ["shelter", "people", "capacity"],
                   ([k, f"{v['people']:.6g}", f"{v['capacity']:.6g}"] for k, v in sh["occupancy"].items()))
        _write_csv(out / "shelter_unmet.csv", ["demand", "people"], ([u["demand"], f"{u['people']:.6g}"] for u in sh["unmet"]))
        written += [out / "shelter_allocations.csv", out / "shelters_open.csv", out / "shelter_unmet.csv"]
        features += [_line("shelter", places["demands"][r["from"]], places["shelters"][r["shelter"]], r) for r in sh["allocations"]]
    (out / "dispatch.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    written.append(out / "dispatch.geojson")
    if map_png:
        written.append(write_map(doc, places, out / "dispatch_map.png"))
    return written


def write_map(doc: dict[str, Any], places: dict[str, Any], path: Path) -> Path:
    """A map people can read: depots, demand points (red where something is unmet),
    shipments as lines as wide as their share of the largest, teams' journeys dashed,
    shelters (filled when open) and who goes there; lon/lat at true scale for the
    mean latitude (no base map: the GeoJSON goes into a GIS for that)."""
    import math

    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(9, 8), layout="constrained")
    ax = fig.add_subplot()
    lats: list[float] = []

    def line(a: tuple[float, float], b: tuple[float, float], **kw: Any) -> None:
        ax.plot([a[0], b[0]], [a[1], b[1]], **kw)
        lats.extend((a[1], b[1]))

    def points(where: dict[str, tuple[float, float]], ids: Any, named: bool = False, **kw: Any) -> None:
        ids = list(ids)
        xy = [where[i] for i in ids]
        if xy:
            ax.scatter([p[0] for p in xy], [p[1] for p in xy], **kw)
            lats.extend(p[1] for p in xy)
        if named and len(ids) <= MAP_LABELS:  # ids of the few places a reader looks for
            for i, p in zip(ids, xy):
                ax.annotate(i, p, xytext=(4, 4), textcoords="offset points", fontsize="x-small")

    if "shipments" in doc:
        top = max((s["quantity"] for s in doc["shipments"]), default=1.0) or 1.0
        for k, s in enumerate(doc["shipments"]):
            line(places["depots"][s["from"]], places["demands"][s["to"]], color="tab:blue", alpha=0.6,
                 lw=0.5 + 4.0 * s["quantity"] / top, label="shipment" if k == 0 else None)
        short = {u["demand"] for u in doc["unmet"]}
        points(places["depots"], places["depots"], named=True, marker="^", s=70, c="black", zorder=4, label="depot")
        points(places["demands"], [i for i in places["demands"] if i not in short], s=25, c="tab:green", zorder=5,
               label="demand met")
        points(places["demands"], sorted(short), s=35, c="tab:red", zorder=5, label="demand not fully met")
    teams = doc.get("teams")
    if teams is not None:
        for k, r in enumerate(teams["assignments"]):
            line(places["teams"][r["team"]], places["sites"][r["site"]], color="tab:purple", ls="--", lw=1.0,
                 label="team journey" if k == 0 else None)
        points(places["sites"], places["sites"], named=True, marker="X", s=45, c="tab:purple", zorder=4, label="rescue site")
    sh = doc.get("shelters")
    if sh is not None:
        for k, r in enumerate(sh["allocations"]):
            line(places["demands"][r["from"]], places["shelters"][r["shelter"]], color="tab:orange", lw=0.8, alpha=0.7,
                 label="to shelter" if k == 0 else None)
        opened = set(sh["open"])
        points(places["shelters"], sorted(opened), named=True, marker="s", s=90, c="tab:orange", edgecolors="black",
               zorder=3, label="shelter, open")
        points(places["shelters"], [i for i in places["shelters"] if i not in opened], marker="s", s=40,
               facecolors="none", edgecolors="tab:orange", zorder=3, label="shelter, closed")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    if lats:
        ax.set_aspect(1.0 / max(math.cos(math.radians(sum(lats) / len(lats))), 0.05))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title("dispatch plan" + (f": objective {doc['objective']:,.6g} ({doc['cost_basis']})" if "objective" in doc else ""))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    fig.savefig(path, dpi=120)
    return path


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
    if a.map and not a.out:
        print("error: --map goes with --out (the directory the map is written to)", file=sys.stderr)
        return 2
    if a.map:
        try:
            import matplotlib.figure  # noqa: F401  (optional extra: fail before planning)
        except ImportError:
            print("error: --map needs matplotlib, an optional extra (pip install 'quakewatch[plot]')", file=sys.stderr)
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
        places: dict[str, dict[str, tuple[float, float]]] = {}  # where every point of the plan is, for --out
        demands = read_points(a.demands, str(a.demands), extra=("displaced",)) if a.demands else None
        if demands is not None:
            places["demands"] = _where(demands.ids, demands.lon, demands.lat)
        if a.depots and demands is not None:
            depots = read_points(a.depots, str(a.depots))
            places["depots"] = _where(depots.ids, depots.lon, depots.lat)
            costs = read_costs(a.costs, depots.ids, demands.ids, str(a.costs)) if a.costs else None
            fleet = read_vehicles(a.vehicles, depots.ids, str(a.vehicles)) if a.vehicles else None
            doc = plan_supplies(depots, demands, costs=costs, opts=opts, network=network, graph=graph,
                                shortage_penalty=_pairs(a.penalty, "--penalty"), weights=_pairs(a.weights, "--weights"),
                                fleet_t=fleet, unit_tonnes=_pairs(a.unit_tonnes, "--unit-tonnes"),
                                horizon_h=_deadline_h(a.horizon) if a.horizon else None)
        if a.shelters and demands is not None:
            shelters = read_shelters(a.shelters, str(a.shelters))
            places["shelters"] = _where(shelters.ids, shelters.lon, shelters.lat)
            doc["shelters"] = plan_shelters(shelters, demands, opts=opts, network=network,
                                            graph=graph, max_open=a.max_open, method=a.shelter_method)
        if a.teams:
            teams, sites = read_teams(a.teams, str(a.teams)), read_sites(a.sites, str(a.sites))
            places["teams"] = _where(teams.ids, teams.lon, teams.lat)
            places["sites"] = _where(sites.ids, sites.lon, sites.lat)
            doc["teams"] = plan_teams(teams, sites,
                                      opts=opts, network=network, graph=graph)
    except (InputFileError, QuakeWatchError, ValueError, OSError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    if a.out:
        try:
            _write_outputs(doc, a.out, places, a.map)
        except OSError as exc:
            print(f"error: --out: cannot write {exc.filename or a.out}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    if a.json:
        print_json(doc)
    else:
        _print_human(doc)
    return 0
