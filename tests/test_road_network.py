"""Tests for quakewatch.ext.road_network.

Oracles: hand arithmetic on the sphere of radius 6,371,008.8 m (one degree of
a meridian is 2 pi R / 360 = 111,195.08 m, half the circumference 20,015,114 m);
the Rust ``geo`` crate's documented haversine values (same radius): New York ->
London 5,570,230 m, Sofia -> Plovdiv 132,433.09929460194 m; networkx
``single_source_dijkstra_path_length`` on seeded random graphs, with the snapping
checked by a brute-force nearest node under a haversine written in this file.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from quakewatch.ext.road_network import (
    EARTH_RADIUS_M,
    build_road_graph,
    closed_bridges_from_damage,
    great_circle_m,
    great_circle_times_s,
    travel_time_matrix_s,
)

R = 6_371_008.8
DEG_M = 2.0 * math.pi * R / 360.0  # 111,195.08 m


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Textbook haversine (atan2 form), independent of the module's expansion."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2.0 * R * math.atan2(math.sqrt(a), math.sqrt(1.0 - a))


# ---------------------------------------------------------------- great circle


@pytest.mark.reference
def test_one_degree_and_half_circumference() -> None:
    assert EARTH_RADIUS_M == R
    d = great_circle_m([0.0, 0.0, 10.0, 0.0], [0.0, 45.0, -60.0, 0.0], [0.0, 1.0], [1.0, 0.0])
    assert d.shape == (4, 2)
    assert d[0, 0] == pytest.approx(DEG_M, rel=1e-12)  # meridian, equator -> 1 N
    assert d[0, 1] == pytest.approx(DEG_M, rel=1e-12)  # along the equator
    assert d[3, 0] == pytest.approx(DEG_M, rel=1e-12)
    assert great_circle_m(0.0, 45.0, 0.0, 46.0)[0, 0] == pytest.approx(DEG_M, rel=1e-12)
    assert great_circle_m(0.0, 0.0, 180.0, 0.0)[0, 0] == pytest.approx(math.pi * R, rel=1e-12)
    assert great_circle_m(0.0, 90.0, 123.0, -90.0)[0, 0] == pytest.approx(math.pi * R, rel=1e-12)
    assert great_circle_m(37.6, 55.7, 37.6, 55.7)[0, 0] == 0.0


@pytest.mark.reference
@pytest.mark.parametrize(
    ("a", "b", "metres", "rel"),
    [
        ((-74.006, 40.7128), (-0.1278, 51.5074), 5_570_230.0, 1e-7),  # New York -> London, geo docs (rounded to m)
        ((23.319941, 42.698334), (24.742168, 42.136097), 132_433.09929460194, 1e-10),  # Sofia -> Plovdiv
    ],
    ids=["new-york-london", "sofia-plovdiv"],
)
def test_city_pairs_match_the_geo_crate(
    a: tuple[float, float], b: tuple[float, float], metres: float, rel: float
) -> None:
    assert great_circle_m(a[0], a[1], b[0], b[1])[0, 0] == pytest.approx(metres, rel=rel)
    assert great_circle_m(b[0], b[1], a[0], a[1])[0, 0] == pytest.approx(metres, rel=rel)


@pytest.mark.reference
def test_matrix_matches_textbook_haversine() -> None:
    rng = np.random.default_rng(7)
    lon1, lat1 = rng.uniform(-180, 180, 9), rng.uniform(-90, 90, 9)
    lon2, lat2 = rng.uniform(-180, 180, 7), rng.uniform(-90, 90, 7)
    d = great_circle_m(lon1, lat1, lon2, lat2)
    want = np.array([[haversine_m(a, b, c, e) for c, e in zip(lon2, lat2)] for a, b in zip(lon1, lat1)])
    np.testing.assert_allclose(d, want, rtol=1e-9, atol=1e-6)


@pytest.mark.reference
def test_great_circle_times_are_distance_times_detour_over_speed() -> None:
    t = great_circle_times_s([0.0, 0.0], [0.0, 1.0], [0.0], [1.0], speed_kmh=60.0)
    assert t.shape == (2, 1)
    assert t[0, 0] == pytest.approx(DEG_M * 1.3 / (60.0 / 3.6), rel=1e-12)  # 8,673.2 s
    assert t[1, 0] == 0.0
    t2 = great_circle_times_s(0.0, 0.0, 0.0, 1.0, speed_kmh=36.0, detour_factor=1.0)
    assert t2[0, 0] == pytest.approx(DEG_M / 10.0, rel=1e-12)


# ---------------------------------------------------------------- graphs


def random_graph(seed: int, n: int = 40, m: int = 110):
    """Random nodes in a 0.2-degree square and random edges (parallel, zero-time,
    self-loops, one-way and bridges included)."""
    rng = np.random.default_rng(seed)
    lon = 100.0 + rng.uniform(0, 0.2, n)
    lat = 30.0 + rng.uniform(0, 0.2, n)
    a = rng.integers(0, n, m)
    b = rng.integers(0, n, m)
    a[:5], b[:5] = a[5:10], b[5:10]  # parallel edges
    a[10], b[10] = 3, 3  # self-loop
    t = rng.uniform(10.0, 300.0, m)
    t[11:13] = 0.0
    oneway = rng.random(m) < 0.3
    bridge = np.where(rng.random(m) < 0.15, np.array([f"B{i % 7}" for i in range(m)]), "")
    return lon, lat, a, b, t, oneway, bridge


def nx_graph(n, a, b, t, oneway, keep=None) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    for i in range(len(a)):
        if keep is not None and not keep[i]:
            continue
        arcs = [(a[i], b[i])] if oneway[i] else [(a[i], b[i]), (b[i], a[i])]
        for u, v in arcs:
            if g.has_edge(u, v):
                g[u][v]["weight"] = min(g[u][v]["weight"], t[i])
            else:
                g.add_edge(u, v, weight=t[i])
    return g


def nx_matrix(g: nx.DiGraph, src, dst) -> np.ndarray:
    out = np.full((len(src), len(dst)), np.inf)
    for r, s in enumerate(src):
        dist = nx.single_source_dijkstra_path_length(g, int(s))
        for c, d in enumerate(dst):
            out[r, c] = dist.get(int(d), np.inf)
    return out


@pytest.mark.reference
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize(("n_src", "n_dst"), [(5, 12), (12, 5)], ids=["forward", "reversed"])
def test_node_to_node_times_match_networkx(seed: int, n_src: int, n_dst: int) -> None:
    lon, lat, a, b, t, oneway, bridge = random_graph(seed)
    graph = build_road_graph(lon, lat, a, b, t, oneway=oneway, bridge_id=bridge)
    rng = np.random.default_rng(100 + seed)
    src = rng.choice(lon.size, n_src, replace=False)
    dst = rng.choice(lon.size, n_dst, replace=False)
    tt = travel_time_matrix_s(graph, lon[src], lat[src], lon[dst], lat[dst])
    want = nx_matrix(nx_graph(lon.size, a, b, t, oneway), src, dst)
    assert np.array_equal(np.isinf(tt.seconds), np.isinf(want))
    np.testing.assert_allclose(tt.seconds, want, rtol=1e-12, atol=1e-9)
    assert np.array_equal(tt.src_node, src) and np.array_equal(tt.dst_node, dst)
    assert (tt.src_snap_m < 1e-3).all() and tt.n_closed_edges == 0


@pytest.mark.reference
@pytest.mark.parametrize("seed", [4, 5])
def test_off_network_points_add_access_legs_at_both_ends(seed: int) -> None:
    lon, lat, a, b, t, oneway, bridge = random_graph(seed)
    graph = build_road_graph(lon, lat, a, b, t, oneway=oneway)
    rng = np.random.default_rng(seed)
    s_lon, s_lat = 100.0 + rng.uniform(0, 0.2, 6), 30.0 + rng.uniform(0, 0.2, 6)
    d_lon, d_lat = 100.0 + rng.uniform(0, 0.2, 9), 30.0 + rng.uniform(0, 0.2, 9)
    v = 15.0 / 3.6
    tt = travel_time_matrix_s(graph, s_lon, s_lat, d_lon, d_lat, access_speed_kmh=15.0)

    def nearest(x: float, y: float) -> tuple[int, float]:
        d = [haversine_m(x, y, p, q) for p, q in zip(lon, lat)]
        return int(np.argmin(d)), float(min(d))

    s_near = [nearest(x, y) for x, y in zip(s_lon, s_lat)]
    d_near = [nearest(x, y) for x, y in zip(d_lon, d_lat)]
    assert tt.src_node.tolist() == [k for k, _ in s_near]
    assert tt.dst_node.tolist() == [k for k, _ in d_near]
    np.testing.assert_allclose(tt.src_snap_m, [s for _, s in s_near], rtol=1e-9)
    net = nx_matrix(nx_graph(lon.size, a, b, t, oneway), tt.src_node, tt.dst_node)
    want = np.array([[ss / v] for _, ss in s_near]) + net + np.array([[ds / v for _, ds in d_near]])
    np.testing.assert_allclose(tt.seconds, want, rtol=1e-9)


@pytest.mark.reference
@pytest.mark.parametrize("seed", [6, 7, 8])
def test_closed_bridges_match_networkx_without_their_edges(seed: int) -> None:
    lon, lat, a, b, t, oneway, bridge = random_graph(seed)
    graph = build_road_graph(lon, lat, a, b, t, oneway=oneway, bridge_id=bridge.tolist())
    closed = {"B1", "B4", "not-on-this-graph"}
    idx = np.arange(lon.size)
    tt = travel_time_matrix_s(graph, lon, lat, lon[:7], lat[:7], closed_bridges=closed)
    keep = ~np.isin(bridge, list(closed))
    want = nx_matrix(nx_graph(lon.size, a, b, t, oneway, keep=keep), idx, idx[:7])
    np.testing.assert_allclose(tt.seconds, want, rtol=1e-12, atol=1e-9)
    assert tt.n_closed_edges == int((~keep).sum())


@pytest.mark.reference
def test_closing_the_only_bridge_cuts_the_pair_and_a_parallel_road_takes_over() -> None:
    # 0 --10-- 1 ==bridge A, 20== 2 --10-- 3 ; a slow ford 1 -- 2 (500 s) only in the second graph
    lon, lat = [0.0, 0.01, 0.02, 0.03], [0.0, 0.0, 0.0, 0.0]
    g = build_road_graph(lon, lat, [0, 1, 2], [1, 2, 3], [10.0, 20.0, 10.0], bridge_id=["", "A", ""])
    assert travel_time_matrix_s(g, 0.0, 0.0, 0.03, 0.0).seconds[0, 0] == 40.0
    cut = travel_time_matrix_s(g, [0.0, 0.01], [0.0, 0.0], [0.03, 0.0], [0.0, 0.0], closed_bridges=["A"])
    assert np.isinf(cut.seconds[0, 0]) and cut.seconds[0, 1] == 0.0 and cut.seconds[1, 1] == 10.0
    g2 = build_road_graph(lon, lat, [0, 1, 2, 1], [1, 2, 3, 2], [10.0, 20.0, 10.0, 500.0], bridge_id=["", "A", "", ""])
    assert travel_time_matrix_s(g2, 0.0, 0.0, 0.03, 0.0).seconds[0, 0] == 40.0
    assert travel_time_matrix_s(g2, 0.0, 0.0, 0.03, 0.0, closed_bridges={"A"}).seconds[0, 0] == 520.0


def test_oneway_is_respected() -> None:
    g = build_road_graph([0.0, 0.01], [0.0, 0.0], [0], [1], [30.0], oneway=[True])
    tt = travel_time_matrix_s(g, [0.0, 0.01], [0.0, 0.0], [0.0, 0.01], [0.0, 0.0])
    assert tt.seconds.tolist() == [[0.0, 30.0], [math.inf, 0.0]]


def test_points_beyond_max_snap_are_unreachable_not_snapped() -> None:
    g = build_road_graph([0.0, 0.01], [0.0, 0.0], [0], [1], [30.0])
    far = 0.5  # degrees of latitude: 55.6 km from both nodes
    tt = travel_time_matrix_s(g, [0.0, 0.0], [0.0, far], [0.01], [0.0], max_snap_m=1000.0)
    assert tt.seconds[0, 0] == 30.0 and np.isinf(tt.seconds[1, 0])
    assert tt.src_node[1] == 0 and tt.src_snap_m[1] == pytest.approx(far * DEG_M, rel=1e-9)
    snapped = travel_time_matrix_s(g, [0.0], [far], [0.01], [0.0], access_speed_kmh=36.0)
    assert snapped.seconds[0, 0] == pytest.approx(far * DEG_M / 10.0 + 30.0, rel=1e-9)


@pytest.mark.parametrize("seed", [9, 10])
def test_max_time_cuts_only_longer_trips(seed: int) -> None:
    lon, lat, a, b, t, oneway, _ = random_graph(seed)
    g = build_road_graph(lon, lat, a, b, t, oneway=oneway)
    full = travel_time_matrix_s(g, lon[:8], lat[:8], lon, lat).seconds
    limit = float(np.median(full[np.isfinite(full)]))
    cut = travel_time_matrix_s(g, lon[:8], lat[:8], lon, lat, max_time_s=limit).seconds
    inside = full <= limit
    assert np.array_equal(cut[inside], full[inside])
    assert np.isinf(cut[~inside]).all()
    exact = travel_time_matrix_s(g, lon[:8], lat[:8], lon, lat, max_time_s=float(full[np.isfinite(full)].max())).seconds
    np.testing.assert_array_equal(exact, full)


def test_inputs_are_not_mutated_and_outputs_are_float64() -> None:
    lon, lat, a, b, t, oneway, bridge = random_graph(11)
    copies = [x.copy() for x in (lon, lat, a, b, t, oneway, bridge)]
    g = build_road_graph(lon, lat, a, b, t, oneway=oneway, bridge_id=bridge)
    p_lon, p_lat = lon[:4].copy(), lat[:4].copy()
    tt = travel_time_matrix_s(g, p_lon, p_lat, lon, lat, closed_bridges=["B2"])
    for x, c in zip((lon, lat, a, b, t, oneway, bridge), copies):
        assert np.array_equal(x, c)
    assert np.array_equal(p_lon, lon[:4])
    assert tt.seconds.dtype == np.float64 and tt.seconds.shape == (4, lon.size)
    assert not g.travel_time_s.flags.writeable
    t[0] = 1e9  # the graph holds its own copy
    assert g.travel_time_s[0] != 1e9


def test_empty_point_sets() -> None:
    g = build_road_graph([0.0, 0.01], [0.0, 0.0], [0], [1], [30.0])
    assert travel_time_matrix_s(g, [], [], [0.0], [0.0]).seconds.shape == (0, 1)
    assert travel_time_matrix_s(g, [0.0], [0.0], [], []).seconds.shape == (1, 0)
    assert great_circle_m([], [], [0.0], [0.0]).shape == (0, 1)


# ---------------------------------------------------------------- closure rule

STATES = ("none", "slight", "moderate", "extensive", "complete")


@pytest.mark.reference
def test_closure_from_damage_states_by_hand() -> None:
    frac = [
        [0.2, 0.2, 0.1, 0.25, 0.25],  # P(>= extensive) = 0.5 -> closed at 0.5
        [0.3, 0.2, 0.1, 0.2, 0.2],  # 0.4
        [0.0, 0.0, 0.0, 0.0, 1.0],  # 1.0
        [1.0, 0.0, 0.0, 0.0, 0.0],  # 0.0
        [0.1, 0.1, 0.1, 0.1, 0.6],  # 0.7, complete 0.6
    ]
    ids = ["b1", "b2", "b3", "b4", "b5"]
    assert closed_bridges_from_damage(ids, frac, STATES) == {"b1", "b3", "b5"}
    assert closed_bridges_from_damage(ids, frac, STATES, probability=0.35) == {"b1", "b2", "b3", "b5"}
    assert closed_bridges_from_damage(ids, frac, STATES, close_from="complete") == {"b3", "b5"}
    # b5: P(>= moderate) = 0.1 + 0.1 + 0.6 = 0.8, at the threshold despite rounding
    assert closed_bridges_from_damage(ids, frac, STATES, close_from="moderate", probability=0.8) == {"b3", "b5"}
    assert closed_bridges_from_damage(ids, frac, STATES, probability=1.0) == {"b3"}
    assert closed_bridges_from_damage([], np.zeros((0, 5)), STATES) == frozenset()


# ---------------------------------------------------------------- bad input

GOOD = dict(node_lon=[0.0, 0.01, 0.02], node_lat=[0.0, 0.0, 0.0], edge_from=[0, 1], edge_to=[1, 2],
            travel_time_s=[1.0, 2.0])


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (dict(node_lat=[0.0, 95.0, 0.0]), r"node_lat must be finite and within \[-90, 90\]"),
        (dict(node_lon=[0.0, 181.0, 0.0]), r"node_lon must be finite and within \[-180, 180\]"),
        (dict(node_lon=[0.0, 0.01]), r"node_lon and node_lat must have one length"),
        (dict(node_lon=[], node_lat=[], edge_from=[], edge_to=[], travel_time_s=[]),
         r"node_lon must hold at least 1 node"),
        (dict(edge_to=[1, 3]), r"edge_to must be node indices within \[0, 2\]"),
        (dict(edge_from=[-1, 1]), r"edge_from must be node indices within \[0, 2\]"),
        (dict(edge_to=[1]), r"edge_to must be 1-D with 2 entries"),
        (dict(edge_from=[0.0, 1.0]), r"edge_from must hold integers"),
        (dict(travel_time_s=[1.0, -2.0]), r"travel_time_s must be finite and >= 0"),
        (dict(travel_time_s=[1.0, np.nan]), r"travel_time_s must be finite and >= 0"),
        (dict(travel_time_s=[1.0]), r"travel_time_s must be 1-D with 2 entries"),
        (dict(oneway=[True]), r"oneway must be 1-D with 2 entries"),
        (dict(oneway=[0, 2]), r"oneway must be booleans"),
        (dict(bridge_id=["A"]), r"bridge_id must be 1-D with 2 entries"),
        (dict(bridge_id=["A", 3]), r"bridge_id must hold strings"),
    ],
    ids=["lat", "lon", "lengths", "no-nodes", "to-range", "from-range", "to-length", "float-index", "negative-time",
         "nan-time", "time-length", "oneway-length", "oneway-values", "bridge-length", "bridge-type"],
)
def test_build_rejects_bad_input(change: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        build_road_graph(**{**GOOD, **change})


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(access_speed_kmh=0.0), r"access_speed_kmh must be finite and > 0"),
        (dict(max_snap_m=-1.0), r"max_snap_m must be finite and >= 0"),
        (dict(max_time_s=-1.0), r"max_time_s must be >= 0"),
        (dict(closed_bridges="A"), r"closed_bridges must be a collection of bridge ids"),
        (dict(closed_bridges=[""]), r"closed_bridges must hold non-empty strings"),
        (dict(src_lat=[91.0]), r"src_lat must be finite and within \[-90, 90\]"),
        (dict(dst_lon=[0.0, 0.1]), r"dst_lon and dst_lat must have one length"),
        (dict(graph="not a graph"), r"graph must be a RoadGraph"),
    ],
    ids=["access-speed", "max-snap", "max-time", "closed-string", "closed-empty", "src-lat", "dst-lengths", "graph"],
)
def test_matrix_rejects_bad_input(kwargs: dict, pattern: str) -> None:
    args = dict(graph=build_road_graph(**GOOD), src_lon=[0.0], src_lat=[0.0], dst_lon=[0.02], dst_lat=[0.0])
    args.update(kwargs)
    with pytest.raises(ValueError, match=pattern):
        travel_time_matrix_s(args.pop("graph"), args.pop("src_lon"), args.pop("src_lat"), args.pop("dst_lon"),
                             args.pop("dst_lat"), **args)


def closure(ids=("a",), frac=((1.0, 0.0),), states=("x", "y"), **kw):
    """A call of closed_bridges_from_damage for the bad-input table."""
    return lambda: closed_bridges_from_damage(list(ids), frac, states, **{"close_from": "y", **kw})


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: great_circle_m([[0.0]], [[0.0]], 0.0, 0.0), r"lon1 and lat1 must be 1-D"),
        (lambda: great_circle_m(0.0, 0.0, np.nan, 0.0), r"lon2 must be finite"),
        (lambda: great_circle_times_s(0, 0, 0, 1, speed_kmh=-5.0), r"speed_kmh must be finite and > 0"),
        (lambda: great_circle_times_s(0, 0, 0, 1, speed_kmh=50.0, detour_factor=0.9),
         r"detour_factor must be finite and >= 1"),
        (closure(frac=[[0.5, 0.4]]), r"damage_fractions rows must sum to 1"),
        (closure(frac=[[1.2, -0.2]]), r"damage_fractions must be finite and within \[0, 1\]"),
        (closure(frac=[[1.0, 0.0, 0.0]]), r"damage_fractions must have shape"),
        (closure(close_from="z"), r"close_from must be one of states"),
        (closure(probability=0.0), r"probability must be within \(0, 1\]"),
        (closure(ids=["a", "a"], frac=[[1.0, 0.0]] * 2), r"bridge_ids must be distinct"),
        (closure(ids=[""]), r"bridge_ids must be a sequence of non-empty strings"),
        (closure(states=("x", "x"), close_from="x"), r"states must be a sequence of distinct"),
    ],
    ids=["gc-2d", "gc-nan", "speed", "detour", "rows-sum", "fraction-range", "fraction-shape", "close-from",
         "probability", "duplicate-ids", "empty-id", "duplicate-states"],
)
def test_helpers_reject_bad_input(call, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        call()
