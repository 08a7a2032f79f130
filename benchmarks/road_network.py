"""Road-network travel times and rescue-team assignment: timings with peers and answer checks.

Targets (issue "[5] Emergency plans as data, plan activation and resource dispatch"):
500 teams x 5,000 sites assigned in <= 2 s; travel-time matrix for 50 depots on a
100,000-node graph in <= 3 s, on the 2-core machine.  Wall time of the best of
``--repeats`` runs after one untimed warm-up of a small case (imports, first calls).

Rows (seeded, ``--seed``):

* (a) a synthetic planar road graph: a ``--nx`` x ``--ny`` (400 x 250 = 100,000) grid
  of nodes 200 m apart around (103.0 E, 30.5 N), each jittered by up to 60 m; edges
  to the east and north neighbours and one diagonal per cell (about 3 edges per
  node, planar); speeds 30 / 50 / 80 km/h (60 / 30 / 10 %), 10 % one-way, 2 % of
  edges on 1,500 bridges; bridges closed by :func:`closed_bridges_from_damage` on
  random damage-state probabilities.  ``build_road_graph`` time (information), then
  :func:`travel_time_matrix_s` from 50 depots to ``--sites-a`` (2,000) points with
  those closures: snapping, closure and Dijkstra included (target <= 3 s), tracemalloc
  peak from a separate run.  Peer: networkx 3 on the same graph (an ``nx.DiGraph``
  built here from the edge list with the same closures, parallel arcs reduced to
  the fastest): ``single_source_dijkstra_path_length`` from each depot node (the
  same matrix; ratio printed), and ``multi_source_dijkstra_path_length`` from all
  depot nodes at once (nearest-depot times, one search).
* (b) 500 teams (two types, 250 each) x 5,000 sites needing one team of each type,
  team-to-site times by :func:`great_circle_times_s` (40 km/h, detour 1.3) with 3 %
  of pairs unreachable, readiness 0-30 min, site priorities 1-3, a 6 h deadline,
  default unmet penalty.  :func:`assign_teams` including the cost matrices (target
  <= 2 s).  Peer: the slot formulation as a linear programme (one per type, the
  bipartite matching polytope is integral) solved by ``scipy.optimize.linprog``
  with HiGHS; ratio printed.

Answer checks (exit status 1 if one fails): (a) every one of the 50 x 2,000 times
equals access leg + networkx distance between the snapped nodes + access leg to
1e-9 (relative), with the same unreachable pairs; the nearest node of 50 points
equals a brute-force haversine search; the nearest-depot network time of every
destination node equals networkx's multi-source result to 1e-9.  (b) the
objective equals the LP optimum to 1e-6 (relative), and the number of filled
slots and the sum of arrival times equal the LP solution's.  ``--strict``: exit
status 1 also if a target is missed.

Run: ``python benchmarks/road_network.py`` (add ``--strict`` to fail on a missed target;
``--peer-sources 10`` shortens the networkx run, about 0.4 s per source).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import tracemalloc

import networkx as nx
import numpy as np

from _timing import best_of  # benchmarks/ is the script's directory
from _verdict import verdict
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from quakewatch.ext.road_network import (
    build_road_graph,
    closed_bridges_from_damage,
    great_circle_times_s,
    travel_time_matrix_s,
)
from quakewatch.ext.team_assignment import assign_teams

LON0, LAT0 = 103.0, 30.5
R = 6_371_008.8
M_PER_DEG = math.pi * R / 180.0
STATES = ("none", "slight", "moderate", "extensive", "complete")


def haversine_m(lon1, lat1, lon2, lat2):
    """Elementwise haversine (textbook form), for edge lengths and the snapping check."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2.0 * R * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def synthetic_graph(nx_: int, ny_: int, rng: np.random.Generator):
    """Jittered grid with east, north and one diagonal edge per cell (see the docstring)."""
    spacing, jitter = 200.0, 60.0
    kx = 1.0 / (M_PER_DEG * math.cos(math.radians(LAT0)))
    iy, ix = np.divmod(np.arange(nx_ * ny_), nx_)
    lon = LON0 + (ix * spacing + rng.uniform(-jitter, jitter, ix.size)) * kx
    lat = LAT0 + (iy * spacing + rng.uniform(-jitter, jitter, iy.size)) / M_PER_DEG
    idx = np.arange(nx_ * ny_).reshape(ny_, nx_)
    flip = rng.random((ny_ - 1, nx_ - 1)) < 0.5
    diag_a = np.where(flip, idx[:-1, :-1], idx[:-1, 1:]).ravel()
    diag_b = np.where(flip, idx[1:, 1:], idx[1:, :-1]).ravel()
    a = np.concatenate((idx[:, :-1].ravel(), idx[:-1, :].ravel(), diag_a))
    b = np.concatenate((idx[:, 1:].ravel(), idx[1:, :].ravel(), diag_b))
    speed_kmh = rng.choice([30.0, 50.0, 80.0], a.size, p=[0.6, 0.3, 0.1])
    t = haversine_m(lon[a], lat[a], lon[b], lat[b]) / (speed_kmh / 3.6)
    oneway = rng.random(a.size) < 0.10
    n_bridges = 1500
    on_bridge = rng.choice(a.size, int(0.02 * a.size), replace=False)
    bridge = np.full(a.size, "", dtype=object)
    bridge[on_bridge] = [f"BR{k:05d}" for k in rng.integers(0, n_bridges, on_bridge.size)]
    return lon, lat, a, b, t, oneway, bridge


def random_points(n: int, lon: np.ndarray, lat: np.ndarray, rng: np.random.Generator):
    return rng.uniform(lon.min(), lon.max(), n), rng.uniform(lat.min(), lat.max(), n)


def nx_digraph(n: int, a, b, t, oneway, open_edge) -> nx.DiGraph:
    """The same road graph for networkx, built from the edge list (fastest parallel arc)."""
    best: dict[tuple[int, int], float] = {}
    for u, v, w, one, ok in zip(a.tolist(), b.tolist(), t.tolist(), oneway.tolist(), open_edge.tolist()):
        if not ok or u == v:
            continue
        for arc in ((u, v),) if one else ((u, v), (v, u)):
            if w < best.get(arc, math.inf):
                best[arc] = w
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_weighted_edges_from((u, v, w) for (u, v), w in best.items())
    return g


def lp_assignment(t, ready, types, need, prio, deadline, penalty):
    """Slot-formulation LP per type (HiGHS): objective, filled slots, sum of arrivals, seconds."""
    objective = filled = arrivals = seconds = 0.0
    for k, need_k in need.items():
        teams = np.flatnonzero(np.asarray(types) == k)
        slot_site = np.repeat(np.arange(need_k.size), need_k)
        arr = ready[teams, None] + t[np.ix_(teams, slot_site)]
        ok = np.isfinite(arr) & (arr <= deadline[slot_site])
        ti, si = np.nonzero(ok)
        cost = arr[ti, si] - penalty * prio[slot_site[si]]
        n = cost.size
        t0 = time.perf_counter()
        a_ub = coo_matrix((np.ones(2 * n), (np.r_[ti, teams.size + si], np.r_[np.arange(n), np.arange(n)])),
                          shape=(teams.size + slot_site.size, n)).tocsr()
        res = linprog(cost, A_ub=a_ub, b_ub=np.ones(teams.size + slot_site.size), bounds=(0, 1), method="highs")
        seconds += time.perf_counter() - t0
        if res.status != 0:
            raise RuntimeError(f"linprog failed: {res.message}")
        x = res.x > 0.5
        objective += float(res.fun) + penalty * float(prio[slot_site].sum())
        filled += float(x.sum())
        arrivals += float(arr[ti[x], si[x]].sum())
    return objective, filled, arrivals, seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nx", type=int, default=400, help="grid nodes east-west")
    p.add_argument("--ny", type=int, default=250, help="grid nodes north-south")
    p.add_argument("--depots", type=int, default=50)
    p.add_argument("--sites-a", type=int, default=2000, help="destinations of row (a)")
    p.add_argument("--teams", type=int, default=500)
    p.add_argument("--sites-b", type=int, default=5000, help="sites of row (b)")
    p.add_argument("--peer-sources", type=int, default=None, help="networkx runs from this many depots (default all)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=20250)
    p.add_argument("--strict", action="store_true")
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    ok = True
    targets_met = True
    table: list[tuple[str, float, float | None, str, str]] = []

    # warm-up, untimed
    wl, wt, wa, wb, wtt, wo, wbr = synthetic_graph(30, 20, rng)
    wg = build_road_graph(wl, wt, wa, wb, wtt, oneway=wo, bridge_id=wbr)
    travel_time_matrix_s(wg, wl[:5], wt[:5], wl, wt, closed_bridges={"BR00001"})
    assign_teams(np.ones((4, 6)), team_type=["u", "m"] * 2, readiness_s=np.zeros(4),
                 site_need={"u": np.ones(6, int), "m": np.ones(6, int)})

    # ---------------------------------------------------------------- (a)
    lon, lat, a, b, t, oneway, bridge = synthetic_graph(args.nx, args.ny, rng)
    t0 = time.perf_counter()
    graph = build_road_graph(lon, lat, a, b, t, oneway=oneway, bridge_id=bridge)
    t_build = time.perf_counter() - t0
    damage = rng.dirichlet([4.0, 2.0, 1.5, 1.0, 0.6], len(graph.bridge_ids))
    closed = closed_bridges_from_damage(graph.bridge_ids, damage, STATES, probability=0.3)
    s_lon, s_lat = random_points(args.depots, lon, lat, rng)
    d_lon, d_lat = random_points(args.sites_a, lon, lat, rng)
    print(f"(a) graph {graph.n_nodes:,} nodes, {graph.n_edges:,} edges ({graph.n_edges / graph.n_nodes:.2f} per node), "
          f"{int(graph.oneway.sum()):,} one-way, {len(graph.bridge_ids):,} bridges of which {len(closed)} closed; "
          f"build_road_graph {t_build:.2f} s")

    def ours_a():
        return travel_time_matrix_s(graph, s_lon, s_lat, d_lon, d_lat, closed_bridges=closed)

    t_ours, tt = best_of(args.repeats, ours_a)
    tracemalloc.start()
    ours_a()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    met = t_ours <= 3.0
    targets_met &= met
    print(f"    travel_time_matrix_s {args.depots} x {args.sites_a:,}: {t_ours:.3f} s "
          f"({tt.n_closed_edges} edges closed), tracemalloc peak {peak / 2**20:.0f} MiB  "
          f"target <= 3 s: {'met' if met else 'MISSED'}")

    open_edge = ~np.isin(bridge, list(closed))
    t0 = time.perf_counter()
    g = nx_digraph(lon.size, a, b, t, oneway, open_edge)
    t_nx_build = time.perf_counter() - t0
    n_peer = args.depots if args.peer_sources is None else min(args.peer_sources, args.depots)
    v = 20.0 / 3.6  # default access speed
    t0 = time.perf_counter()
    peer_rows = [nx.single_source_dijkstra_path_length(g, int(s)) for s in tt.src_node[:n_peer]]
    t_nx = time.perf_counter() - t0
    t_nx_full = t_nx * args.depots / n_peer
    want = np.array([[row.get(int(d), math.inf) for d in tt.dst_node] for row in peer_rows])
    want = want + (tt.src_snap_m[:n_peer] / v)[:, None] + (tt.dst_snap_m / v)[None, :]
    got = tt.seconds[:n_peer]
    same_inf = np.array_equal(np.isinf(got), np.isinf(want))
    fin = np.isfinite(want)
    err = float(np.max(np.abs(got[fin] - want[fin]) / want[fin])) if fin.any() else 0.0
    check = same_inf and err <= 1e-9
    ok &= check
    print(f"    networkx single_source_dijkstra x {n_peer}: {t_nx:.2f} s"
          f"{f' (x {args.depots / n_peer:.1f} = {t_nx_full:.1f} s for all)' if n_peer < args.depots else ''}, "
          f"DiGraph built in {t_nx_build:.1f} s; ratio {t_nx_full / t_ours:.0f}x")
    print(f"    check: {got.size:,} pairs, {int((~fin).sum()):,} unreachable in both: {same_inf}, "
          f"max relative difference {err:.1e}  {'ok' if check else 'FAIL'}")
    sample = rng.choice(args.sites_a, 50, replace=False)
    brute = [int(np.argmin(haversine_m(d_lon[i], d_lat[i], lon, lat))) for i in sample]
    check = brute == tt.dst_node[sample].tolist()
    ok &= check
    print(f"    check: nearest node of 50 points = brute-force haversine search  {'ok' if check else 'FAIL'}")
    t0 = time.perf_counter()
    multi = nx.multi_source_dijkstra_path_length(g, set(tt.src_node.tolist()))
    t_multi = time.perf_counter() - t0
    net_min = (tt.seconds - (tt.src_snap_m / v)[:, None]).min(axis=0) - tt.dst_snap_m / v
    want_min = np.array([multi.get(int(d), math.inf) for d in tt.dst_node])
    fin = np.isfinite(want_min)
    err_m = float(np.max(np.abs(net_min[fin] - want_min[fin]) / np.maximum(want_min[fin], 1.0)))
    check = np.array_equal(np.isinf(net_min), ~fin) and err_m <= 1e-9
    ok &= check
    print(f"    networkx multi_source_dijkstra (nearest depot, one search): {t_multi:.2f} s; check: nearest-depot "
          f"time of {args.sites_a:,} points, max relative difference {err_m:.1e}  {'ok' if check else 'FAIL'}")
    table.append((f"(a) {args.depots} depots x {args.sites_a:,}, {graph.n_nodes:,}-node graph", t_ours, t_nx_full,
                  "<= 3 s", "met" if met else "MISSED"))

    # ---------------------------------------------------------------- (b)
    n_t, n_s = args.teams, args.sites_b
    span = (lon.min(), lon.max(), lat.min(), lat.max())
    team_lon, team_lat = rng.uniform(span[0], span[1], n_t), rng.uniform(span[2], span[3], n_t)
    site_lon, site_lat = rng.uniform(span[0], span[1], n_s), rng.uniform(span[2], span[3], n_s)
    travel = great_circle_times_s(team_lon, team_lat, site_lon, site_lat, speed_kmh=40.0)
    travel[rng.random(travel.shape) < 0.03] = np.inf
    ready = rng.uniform(0.0, 1800.0, n_t)
    types = ["usar" if i % 2 == 0 else "medical" for i in range(n_t)]
    need = {"usar": np.ones(n_s, dtype=np.int64), "medical": np.ones(n_s, dtype=np.int64)}
    prio = rng.integers(1, 4, n_s).astype(np.float64)
    deadline = np.full(n_s, 6 * 3600.0)

    def ours_b():
        return assign_teams(travel, team_type=types, readiness_s=ready, site_need=need, site_priority=prio,
                            deadline_s=deadline)

    t_assign, res = best_of(args.repeats, ours_b)
    met = t_assign <= 2.0
    targets_met &= met
    assigned = res.site >= 0
    print(f"(b) assign_teams {n_t} teams x {n_s:,} sites (2 types, 1 each): {t_assign:.3f} s, "
          f"{int(assigned.sum())} assigned, mean arrival {float(np.nanmean(res.arrival_s)) / 60:.1f} min  "
          f"target <= 2 s: {'met' if met else 'MISSED'}")
    t0 = time.perf_counter()
    lp_obj, lp_filled, lp_arr, t_solve = lp_assignment(travel, ready, types, need, prio, deadline, res.unmet_penalty_s)
    t_lp = time.perf_counter() - t0
    rel = abs(res.objective - lp_obj) / abs(lp_obj)
    rel_arr = abs(float(np.nansum(res.arrival_s)) - lp_arr) / max(lp_arr, 1.0)
    check = rel <= 1e-6 and lp_filled == float(assigned.sum()) and rel_arr <= 1e-6
    ok &= check
    print(f"    linprog HiGHS on the slot LP: {t_lp:.2f} s (solve {t_solve:.2f} s); ratio {t_lp / t_assign:.0f}x")
    print(f"    check: objective {res.objective:.6e} vs LP {lp_obj:.6e} (relative {rel:.1e}), filled "
          f"{int(assigned.sum())} vs {int(lp_filled)}, arrival sum relative difference {rel_arr:.1e}  "
          f"{'ok' if check else 'FAIL'}")
    table.append((f"(b) {n_t} teams x {n_s:,} sites", t_assign, t_lp, "<= 2 s", "met" if met else "MISSED"))

    print()
    print(f"{'row':<44} {'ours (s)':>9} {'peer (s)':>9} {'ratio':>7}  target")
    for name, ours, peer, target, state in table:
        ratio = f"{peer / ours:6.0f}x" if peer else "      -"
        print(f"{name:<44} {ours:9.3f} {peer if peer else math.nan:9.2f} {ratio:>7}  {target} {state}")

    return verdict(ok, targets_met, args.strict)


if __name__ == "__main__":
    sys.exit(main())
