"""Dispatch plans: relief supplies, rescue teams and shelters (``quakewatch dispatch``).

Issue "[5] ... resource dispatch".  Builds the cost matrices from what the
user has and calls the exact kernels in ``quakewatch.ext``:

Arc costs
    ``costs.csv`` when given (it replaces distances; unlisted pairs are not
    arcs; the deadline still applies, on the travel times below); else travel on a road graph (seconds, Dijkstra, with the edges of
    closed bridges removed; :mod:`quakewatch.ext.road_network`); else
    great-circle distance (km), and time as that distance times a detour
    factor (1.3) at a road speed (40 km/h).
    ``objective="distance"`` minimises unit-kilometres, ``"time"``
    unit-hours.  Arcs whose travel time exceeds the relief deadline are
    forbidden (the plan's ``relief.deadline``, 10 h by default).
Supplies
    :func:`quakewatch.ext.transport.solve_transport` (multi-commodity
    transportation LP, HiGHS, shortages penalised).
Teams
    :func:`quakewatch.ext.team_assignment.assign_teams` (exact assignment).
Shelters
    :func:`quakewatch.ext.shelter_location.locate_shelters` (heuristic with a
    bound, or the exact MILP on small cases).

The result is one JSON-ready document with ``objective``, ``shipments`` and
``unmet`` (plus ``teams`` and ``shelters`` when asked for) and its provenance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from quakewatch.ext.road_network import build_road_graph, great_circle_m, travel_time_matrix_s
from quakewatch.ext.shelter_location import locate_shelters
from quakewatch.ext.team_assignment import assign_teams
from quakewatch.ext.transport import solve_transport

from ..errors import InvalidInput
from .resources import Points, RoadTable, Shelters, Teams

__all__ = ["Network", "TravelOptions", "plan_shelters", "plan_supplies", "plan_teams", "travel_matrices"]


@dataclass(frozen=True)
class TravelOptions:
    """How travel is costed when no ``costs.csv`` is given."""

    objective: Literal["distance", "time"] = "distance"
    speed_kmh: float = 40.0
    detour_factor: float = 1.3
    deadline_h: float | None = 10.0
    access_speed_kmh: float = 20.0
    closed_bridges: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.objective not in ("distance", "time"):
            raise InvalidInput(f"objective: distance or time, got {self.objective!r}", field="objective")
        for name in ("speed_kmh", "detour_factor", "access_speed_kmh"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise InvalidInput(f"{name}: must be > 0, got {v!r}", field=name)
        if self.detour_factor < 1.0:
            raise InvalidInput(f"detour_factor: must be >= 1 (a road is never shorter than the great circle), got {self.detour_factor}",
                               field="detour_factor")
        if self.deadline_h is not None and not (np.isfinite(self.deadline_h) and self.deadline_h > 0):
            raise InvalidInput(f"deadline_h: must be > 0, got {self.deadline_h!r}", field="deadline_h")


@dataclass(frozen=True)
class Network:
    """A road graph built once and reused for every matrix of a request."""

    table: RoadTable

    def graph(self) -> Any:
        t = self.table
        return build_road_graph(t.lon, t.lat, t.edge_from, t.edge_to, t.travel_time_s, oneway=t.oneway, bridge_id=t.bridge_id)


def travel_matrices(src: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
                    dst: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
                    opts: TravelOptions, network: Network | None = None, graph: Any = None) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], str]:
    """(cost per unit, travel time in hours, basis) from sources to destinations."""
    if network is not None or graph is not None:
        g = graph if graph is not None else network.graph()  # type: ignore[union-attr]
        tt = travel_time_matrix_s(g, src[0], src[1], dst[0], dst[1], closed_bridges=tuple(opts.closed_bridges),
                                  access_speed_kmh=opts.access_speed_kmh)
        hours = tt.seconds / 3600.0
        if opts.objective == "distance":
            # a road graph carries times; kilometres at the stated speed keep the units of the objective
            return hours * opts.speed_kmh, hours, "road_km_at_speed"
        return hours, hours, "road_hours"
    km = great_circle_m(src[0], src[1], dst[0], dst[1]) / 1000.0
    hours = km * opts.detour_factor / opts.speed_kmh
    # the distance objective is the great-circle distance itself (reproducible by anyone); the
    # detour factor only enters the time estimate (deadline, time objective)
    return (km, hours, "great_circle_km") if opts.objective == "distance" else (hours, hours, "great_circle_hours")


def _forbid_late(cost: npt.NDArray[np.float64], hours: npt.NDArray[np.float64] | None, deadline_h: float | None) -> tuple[npt.NDArray[np.float64], int]:
    if hours is None or deadline_h is None:
        return cost, 0
    late = hours > deadline_h
    return np.where(late, np.inf, cost), int((late & np.isfinite(cost)).sum())


def plan_supplies(depots: Points, demands: Points, *, costs: npt.NDArray[np.float64] | None = None,
                  opts: TravelOptions = TravelOptions(), network: Network | None = None, graph: Any = None,
                  shortage_penalty: dict[str, float] | None = None, weights: dict[str, float] | None = None,
                  fleet_t: npt.NDArray[np.float64] | None = None, unit_tonnes: dict[str, float] | None = None,
                  horizon_h: float | None = None) -> dict[str, Any]:
    """Optimal shipments of every commodity (module docstring); the ``dispatch`` document.

    ``fleet_t`` (tonnes per trip of each depot's vehicles, :func:`read_vehicles`)
    with ``unit_tonnes`` (every commodity) limits what a depot moves within
    ``horizon_h`` (default the relief deadline): round trips at the travel
    times, ``sum tonnes x 2 t_ij <= fleet_t x horizon``.
    """
    t0 = time.perf_counter()
    commodities = sorted(set(depots.quantities) | set(demands.quantities))
    if not commodities:
        raise InvalidInput("depots and demands name no commodity column (columns besides id, lon, lat, name)", field="demands")
    n_dep, n_dem = len(depots.ids), len(demands.ids)
    supply = np.column_stack([depots.quantities.get(c, np.zeros(n_dep)) for c in commodities]) if n_dep else np.zeros((0, len(commodities)))
    need = np.column_stack([demands.quantities.get(c, np.zeros(n_dem)) for c in commodities]) if n_dem else np.zeros((0, len(commodities)))
    cost, hours, basis = travel_matrices((depots.lon, depots.lat), (demands.lon, demands.lat), opts, network, graph)
    if costs is not None:
        if costs.shape != cost.shape:
            raise InvalidInput(f"costs: shape {costs.shape}, expected {cost.shape}", field="costs")
        # the deadline still applies, on the travel times of the road graph or great circle
        cost, basis = np.where(np.isfinite(cost), costs, np.inf), "costs_csv"
    cost, late = _forbid_late(cost, hours, opts.deadline_h)
    for name, mapping in (("shortage_penalty", shortage_penalty), ("weights", weights)):
        unknown = sorted(set(mapping or {}) - set(commodities))
        if unknown:
            raise InvalidInput(f"{name}: unknown commodity {', '.join(unknown)} (have {', '.join(commodities)})", field=name)
    penalty = None if not shortage_penalty else np.array([shortage_penalty.get(c, np.nan) for c in commodities])
    if penalty is not None and np.isnan(penalty).any():
        missing = [c for c, p in zip(commodities, penalty) if np.isnan(p)]
        raise InvalidInput(f"shortage_penalty: give every commodity or none (missing {', '.join(missing)})", field="shortage_penalty")
    w = None if not weights else np.array([weights.get(c, 1.0) for c in commodities])
    vehicle: dict[str, Any] = {}
    if fleet_t is not None:
        missing = [c for c in commodities if c not in (unit_tonnes or {})]
        if missing:
            raise InvalidInput(f"unit_tonnes: vehicles need the mass of one unit of every commodity (missing {', '.join(missing)})",
                               field="unit_tonnes")
        horizon = horizon_h if horizon_h is not None else opts.deadline_h
        if horizon is None or not horizon > 0:
            raise InvalidInput("horizon_h: vehicles need a horizon (or a relief deadline)", field="horizon_h")
        vehicle = {"fleet": fleet_t * horizon, "load": 2.0 * hours,
                   "unit_tonnes": np.array([unit_tonnes[c] for c in commodities])}  # type: ignore[index]
    try:
        plan = solve_transport(cost, supply, need, weight=w, shortage_penalty=penalty, **vehicle)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="dispatch") from None
    shipments = []
    for i, j, k, q in zip(plan.depot, plan.demand_point, plan.commodity, plan.quantity):
        row = {"from": depots.ids[i], "to": demands.ids[j], "commodity": commodities[k], "quantity": float(q),
               "unit_cost": float(cost[i, j] * (w[k] if w is not None else 1.0))}
        if hours is not None:
            row["travel_time_h"] = float(hours[i, j])
        shipments.append(row)
    unmet = [{"demand": demands.ids[j], "commodity": commodities[k], "quantity": float(plan.unmet[j, k])}
             for j, k in zip(*np.nonzero(plan.unmet > 0))]
    shipped = plan.shipped(n_dep, len(commodities))
    summary = {c: {"supply": float(supply[:, k].sum()), "demand": float(need[:, k].sum()),
                   "shipped": float(shipped[:, k].sum()), "unmet": float(plan.unmet[:, k].sum()),
                   "shortage_penalty": float(plan.shortage_penalty[k])} for k, c in enumerate(commodities)}
    return {
        "objective": plan.objective, "transport_cost": plan.transport_cost, "cost_basis": basis,
        "shipments": shipments, "unmet": unmet, "commodities": summary,
        "arcs": {"finite": int(np.isfinite(cost).sum()), "forbidden_by_deadline": late,
                 "priced": plan.arcs_priced, "lp_rounds": plan.lp_rounds},
        "options": {"objective": opts.objective, "speed_kmh": opts.speed_kmh, "detour_factor": opts.detour_factor,
                    "deadline_h": opts.deadline_h, "closed_bridges": sorted(opts.closed_bridges),
                    "vehicles": None if fleet_t is None else {"tonnes_per_trip": dict(zip(depots.ids, map(float, fleet_t))),
                                                              "unit_tonnes": unit_tonnes, "horizon_h": horizon_h or opts.deadline_h}},
        "solver": "HiGHS dual simplex (scipy.optimize.linprog), exact column generation",
        "seconds": time.perf_counter() - t0,
    }


def plan_teams(teams: Teams, sites: Points, *, opts: TravelOptions = TravelOptions(), network: Network | None = None,
               graph: Any = None) -> dict[str, Any]:
    """Rescue teams to sites (exact assignment; module docstring); the ``teams`` document."""
    t0 = time.perf_counter()
    types = set(teams.type)
    unknown = sorted(set(sites.quantities) - types)
    _, hours, basis = travel_matrices((teams.lon, teams.lat), (sites.lon, sites.lat),
                                      TravelOptions(objective="time", speed_kmh=opts.speed_kmh, detour_factor=opts.detour_factor,
                                                    deadline_h=opts.deadline_h, access_speed_kmh=opts.access_speed_kmh,
                                                    closed_bridges=opts.closed_bridges), network, graph)
    need = {k: v for k, v in sites.quantities.items() if k in types}
    priority = sites.extra.get("priority")
    if priority is not None:
        priority = np.where(np.isnan(priority), 1.0, priority)
    deadline_s = None if opts.deadline_h is None else opts.deadline_h * 3600.0
    try:
        res = assign_teams(hours * 3600.0, team_type=list(teams.type), readiness_s=teams.readiness_s, site_need=need,
                           site_priority=priority, deadline_s=deadline_s)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="teams") from None
    rows = [{"team": teams.ids[i], "type": teams.type[i], "site": sites.ids[j], "arrival_h": float(res.arrival_s[i] / 3600.0)}
            for i, j in enumerate(res.site) if j >= 0]
    unfilled = [{"site": sites.ids[j], "type": k, "teams": int(v[j])} for k, v in res.unfilled.items() for j in np.flatnonzero(v)]
    for k in unknown:  # a need no team can meet
        unfilled += [{"site": sites.ids[j], "type": k, "teams": int(v)} for j, v in enumerate(sites.quantities[k]) if v > 0]
    return {
        "assignments": rows, "idle": [teams.ids[i] for i, j in enumerate(res.site) if j < 0], "unfilled": unfilled,
        "total_arrival_h": float(sum(r["arrival_h"] for r in rows)), "travel_basis": basis,
        "solver": "linear_sum_assignment (exact), typed slots", "seconds": time.perf_counter() - t0,
    }


def plan_shelters(shelters: Shelters, demands: Points, *, opts: TravelOptions = TravelOptions(), network: Network | None = None,
                  graph: Any = None, max_open: int | None = None, method: str = "auto") -> dict[str, Any]:
    """Which shelters open and who goes where (the ``shelters`` document).

    Displaced people are the demand points' ``displaced`` column; a person
    costs the travel (km or hours, the objective of ``opts``) to the shelter;
    ``open_cost`` of ``shelters.csv`` is in the same person-km (or person-hour)
    units; shelters flagged ``open`` stay open; trips longer than the deadline
    are not allowed.
    """
    people = demands.extra.get("displaced")
    if people is None:
        raise InvalidInput("demands: shelter location needs a 'displaced' column (people needing shelter)", field="demands")
    people = np.nan_to_num(people, nan=0.0)
    cost, hours, basis = travel_matrices((shelters.lon, shelters.lat), (demands.lon, demands.lat), opts, network, graph)
    cost, late = _forbid_late(cost, hours, opts.deadline_h)
    try:
        res = locate_shelters(cost, people, shelters.capacity, shelters.open_cost, already_open=shelters.already_open,
                              max_open=max_open, method=method)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="shelters") from None
    f = res.flows
    return {
        "open": [shelters.ids[i] for i in np.flatnonzero(res.open)],
        "allocations": [{"from": demands.ids[j], "shelter": shelters.ids[i], "people": float(q)}
                        for i, j, q in zip(f.candidate, f.demand_point, f.people)],
        "occupancy": {shelters.ids[i]: {"people": float(res.assigned[i]), "capacity": float(shelters.capacity[i])}
                      for i in np.flatnonzero(res.open)},
        "unmet": [{"demand": demands.ids[j], "people": float(res.unmet[j])} for j in np.flatnonzero(res.unmet > 0)],
        "objective": res.objective, "open_cost": res.open_cost, "travel_cost": res.allocation_cost,
        "lower_bound": res.lower_bound, "gap": res.gap, "method": str(res.method.value), "cost_basis": basis,
        "forbidden_by_deadline": late, "seconds": res.seconds,
    }
