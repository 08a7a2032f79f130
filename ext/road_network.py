"""Travel times on a road graph with closed bridges, or by great circle and speed.

Issue "[5] Emergency plans as data, plan activation and resource dispatch",
travel-time part.  Arrays in, frozen dataclasses out; numpy/scipy only.  All
arithmetic is float64, inputs are never modified, and invalid input raises
:class:`ValueError` naming the argument and the limit.

Method
------
Great circle [Si84]_
    ``d = 2 R asin(sqrt(sin^2(dphi/2) + cos phi1 cos phi2 sin^2(dlambda/2)))``
    on the sphere of mean radius ``R = 6,371,008.8 m`` (``R1`` of GRS 80,
    6,371,008.7714 m [Mo00]_; one degree of a meridian is 111,195.08 m).  The
    half-angle sines are expanded (``sin(a - b) = sin a cos b - cos a sin b``)
    so trigonometric functions run on the inputs, not on the (n1, n2) matrix.
Without a graph
    ``t = d * detour_factor / speed``.  The detour (circuity) factor is the
    ratio of road to straight-line distance: about 1.2 for random point pairs
    in an urban network [Ne80]_, 1.26 for South Korea as a whole and 1.22 to
    1.44 by province [Ki15]_.  The default 1.3 sits inside that range; it is a
    parameter, and mountain regions (where large earthquakes often strike)
    deserve the upper end.
With a graph (:func:`build_road_graph`)
    Nodes ``0..n-1`` with coordinates; each edge is travelled both ways unless
    ``oneway`` (then ``edge_from -> edge_to`` only), in ``travel_time_s``.
    Self-loops are dropped; of parallel arcs the fastest is kept.  Edges whose
    ``bridge_id`` is in ``closed_bridges`` are removed (a parallel arc that is
    not closed then takes over).  A point (depot, site) enters the network at
    its nearest node by great-circle distance (k-d tree on unit vectors: the
    chord length is monotone in the arc), and the off-network leg at both ends
    takes ``snap_m / access_speed``.  Points farther than ``max_snap_m`` from
    every node are unreachable (``inf``) instead of being snapped.  Network
    times are exact shortest paths by Dijkstra's algorithm [Di59]_
    (``scipy.sparse.csgraph.dijkstra``), run from the distinct source nodes,
    or from the distinct destination nodes on the reversed graph when those
    are fewer; ``max_time_s`` stops the search early and marks longer trips
    ``inf``.
Bridge closure from damage (:func:`closed_bridges_from_damage`)
    A bridge is closed when its probability of being in damage state
    ``close_from`` or worse is at least ``probability`` (default: extensive or
    complete, 0.5).  This rule is our default: we could not confirm against
    the Hazus-MH Technical Manual (ch. 7, highway bridge functionality and
    restoration) which damage state it takes as closed to traffic, so both
    are parameters for the plan to set.

References
----------
.. [Mo00] Moritz, H. (2000). Geodetic Reference System 1980. Journal of
   Geodesy 74(1), 128-133 (derived constants: mean radius R1).
.. [Si84] Sinnott, R. W. (1984). Virtues of the haversine. Sky and Telescope
   68(2), 159.
.. [Ne80] Newell, G. F. (1980). Traffic flow on transportation networks. MIT
   Press (network distance about 1.2 times the straight line in cities).
.. [Ki15] Kim, T., Shin, Y., Lee, J. & Suh, K. (2015). Calculation of regional
   circuity factors using road network distance in South Korea. Journal of
   the Korean Society of Agricultural Engineers 57(4), 39-49.
.. [Di59] Dijkstra, E. W. (1959). A note on two problems in connexion with
   graphs. Numerische Mathematik 1, 269-271.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from .geodesy import chord_to_arc, haversine, unit_vectors

__all__ = [
    "EARTH_RADIUS_M",
    "ROAD_NETWORK_ALGORITHM_VERSION",
    "RoadGraph",
    "TravelTimes",
    "build_road_graph",
    "closed_bridges_from_damage",
    "great_circle_m",
    "great_circle_times_s",
    "travel_time_matrix_s",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Bump when a definition in the module docstring changes (goes into provenance).
ROAD_NETWORK_ALGORITHM_VERSION: Final = "1"
#: Mean Earth radius R1 of GRS 80 [Mo00]_, rounded to 0.1 m.
EARTH_RADIUS_M: Final = 6_371_008.8
_KMH: Final = 1.0 / 3.6  # m/s per km/h
_PROB_TOL: Final = 1e-9


_A = TypeVar("_A", bound=npt.NDArray[Any])


def _frozen(a: _A) -> _A:
    """``a`` made read-only (it is always our own copy)."""
    a.setflags(write=False)
    return a


def _points(name_lon: str, lon: npt.ArrayLike, name_lat: str, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """1-D float64 copies of point coordinates, checked (degrees)."""
    lo = np.array(lon, dtype=np.float64, ndmin=1)
    la = np.array(lat, dtype=np.float64, ndmin=1)
    if lo.ndim != 1 or la.ndim != 1:
        raise ValueError(f"{name_lon} and {name_lat} must be 1-D, got shapes {lo.shape} and {la.shape}")
    if lo.shape != la.shape:
        raise ValueError(f"{name_lon} and {name_lat} must have one length, got {lo.size} and {la.size}")
    if not (np.isfinite(lo).all() and (np.abs(lo) <= 180.0).all()):
        raise ValueError(f"{name_lon} must be finite and within [-180, 180] degrees")
    if not (np.isfinite(la).all() and (np.abs(la) <= 90.0).all()):
        raise ValueError(f"{name_lat} must be finite and within [-90, 90] degrees")
    return lo, la


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0.0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return v


def great_circle_m(lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike) -> FloatArray:
    """Great-circle distances (m) between two point sets, as a matrix.

    Parameters
    ----------
    lon1, lat1 : array_like, shape (n1,)
        First points (degrees); scalars count as one point.
    lon2, lat2 : array_like, shape (n2,)
        Second points (degrees).

    Returns
    -------
    ndarray of float64, shape (n1, n2)
        Haversine distance on the sphere of radius :data:`EARTH_RADIUS_M`.
    """
    lo1, la1 = _points("lon1", lon1, "lat1", lat1)
    lo2, la2 = _points("lon2", lon2, "lat2", lat2)
    return haversine(lo1[:, None], la1[:, None], lo2[None, :], la2[None, :], EARTH_RADIUS_M)


def great_circle_times_s(
    src_lon: npt.ArrayLike,
    src_lat: npt.ArrayLike,
    dst_lon: npt.ArrayLike,
    dst_lat: npt.ArrayLike,
    *,
    speed_kmh: float,
    detour_factor: float = 1.3,
) -> FloatArray:
    """Travel times (s) without a road graph: ``great circle * detour / speed``.

    Parameters
    ----------
    src_lon, src_lat : array_like, shape (n_src,)
        Origins (degrees).
    dst_lon, dst_lat : array_like, shape (n_dst,)
        Destinations (degrees).
    speed_kmh : float
        Mean road speed (km/h), > 0.
    detour_factor : float
        Road distance over straight-line distance, >= 1 (module docstring:
        1.2 to 1.44 observed [Ne80]_, [Ki15]_).

    Returns
    -------
    ndarray of float64, shape (n_src, n_dst)
    """
    v = _positive("speed_kmh", speed_kmh) * _KMH
    f = float(detour_factor)
    if not (math.isfinite(f) and f >= 1.0):
        raise ValueError(f"detour_factor must be finite and >= 1, got {detour_factor!r}")
    d = great_circle_m(src_lon, src_lat, dst_lon, dst_lat)
    d *= f / v
    return d


@dataclass(frozen=True, slots=True, eq=False)
class RoadGraph:
    """A road graph from :func:`build_road_graph` (arrays read-only).

    Attributes
    ----------
    node_lon, node_lat : ndarray of float64, shape (n_nodes,)
        Node coordinates (degrees).
    edge_from, edge_to : ndarray of int64, shape (n_edges,)
        Edge end nodes, as given.
    travel_time_s : ndarray of float64, shape (n_edges,)
        Edge travel time (s).
    oneway : ndarray of bool, shape (n_edges,)
        True: the edge is travelled ``edge_from -> edge_to`` only.
    edge_bridge : ndarray of int64, shape (n_edges,)
        Index into :attr:`bridge_ids`, -1 when the edge is not a bridge.
    bridge_ids : tuple of str
        The distinct bridge ids, sorted.
    """

    node_lon: FloatArray
    node_lat: FloatArray
    edge_from: IntArray
    edge_to: IntArray
    travel_time_s: FloatArray
    oneway: BoolArray
    edge_bridge: IntArray
    bridge_ids: tuple[str, ...]
    # directed arcs sorted by (from, to, time) and the edge each came from
    _arc_from: npt.NDArray[np.int32] = field(repr=False)
    _arc_to: npt.NDArray[np.int32] = field(repr=False)
    _arc_time: FloatArray = field(repr=False)
    _arc_edge: IntArray = field(repr=False)
    _csr: csr_matrix = field(repr=False)  # all arcs open, parallel arcs reduced to the fastest
    _tree: cKDTree = field(repr=False)  # unit vectors of the nodes

    @property
    def n_nodes(self) -> int:
        return int(self.node_lon.size)

    @property
    def n_edges(self) -> int:
        return int(self.edge_from.size)


@dataclass(frozen=True, slots=True, eq=False)
class TravelTimes:
    """Travel times from :func:`travel_time_matrix_s`.

    Attributes
    ----------
    seconds : ndarray of float64, shape (n_src, n_dst)
        Access leg + network time + access leg; ``inf`` when unreachable
        (no path, a point beyond ``max_snap_m``, or beyond ``max_time_s``).
    src_node, dst_node : ndarray of int64, shapes (n_src,), (n_dst,)
        Nearest node of each point (also for points beyond ``max_snap_m``).
    src_snap_m, dst_snap_m : ndarray of float64, shapes (n_src,), (n_dst,)
        Great-circle distance from each point to its node (m).
    n_closed_edges : int
        Edges removed as closed bridges.
    algorithm_version : str
        :data:`ROAD_NETWORK_ALGORITHM_VERSION`.
    """

    seconds: FloatArray
    src_node: IntArray
    dst_node: IntArray
    src_snap_m: FloatArray
    dst_snap_m: FloatArray
    n_closed_edges: int
    algorithm_version: str = ROAD_NETWORK_ALGORITHM_VERSION


def _int_array(name: str, a: npt.ArrayLike, n: int) -> IntArray:
    arr = np.asarray(a)
    if arr.ndim != 1 or arr.size != n:
        raise ValueError(f"{name} must be 1-D with {n} entries (as edge_from), got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    return np.array(arr, dtype=np.int64)


def _csr_from_sorted(n: int, frm: npt.NDArray[np.int32], to: npt.NDArray[np.int32], t: FloatArray) -> csr_matrix:
    """CSR matrix of arcs sorted by (from, to, time), keeping the first (fastest) of parallel arcs."""
    keep = np.ones(frm.size, dtype=bool)
    if frm.size > 1:
        np.not_equal(frm[1:], frm[:-1], out=keep[1:])
        keep[1:] |= to[1:] != to[:-1]
    frm, to, t = frm[keep], to[keep], t[keep]
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(frm, minlength=n), out=indptr[1:])
    # explicit zeros are edges of zero weight for scipy.sparse.csgraph
    return csr_matrix((t, to, indptr), shape=(n, n))


def build_road_graph(
    node_lon: npt.ArrayLike,
    node_lat: npt.ArrayLike,
    edge_from: npt.ArrayLike,
    edge_to: npt.ArrayLike,
    travel_time_s: npt.ArrayLike,
    *,
    oneway: npt.ArrayLike | None = None,
    bridge_id: Sequence[str] | npt.ArrayLike | None = None,
) -> RoadGraph:
    """A road graph for :func:`travel_time_matrix_s`.

    Parameters
    ----------
    node_lon, node_lat : array_like, shape (n_nodes,)
        Node coordinates (degrees); at least one node.
    edge_from, edge_to : array_like of int, shape (n_edges,)
        End nodes of each edge, in ``0..n_nodes-1``.
    travel_time_s : array_like, shape (n_edges,)
        Time to travel the edge (s), finite and >= 0.
    oneway : array_like of bool, shape (n_edges,), optional
        True: ``edge_from -> edge_to`` only.  Default: every edge both ways.
    bridge_id : sequence of str, shape (n_edges,), optional
        Bridge carrying the edge; ``''`` (or None) when it is not a bridge.
        One bridge may carry several edges.

    Returns
    -------
    RoadGraph
    """
    lon, lat = _points("node_lon", node_lon, "node_lat", node_lat)
    n = lon.size
    if n == 0:
        raise ValueError("node_lon must hold at least 1 node")
    if n >= 2**31 - 1:
        raise ValueError(f"node_lon must hold fewer than 2**31 - 1 nodes, got {n}")
    e_from_in = np.asarray(edge_from)
    if e_from_in.ndim != 1:
        raise ValueError(f"edge_from must be 1-D, got shape {e_from_in.shape}")
    m = e_from_in.size
    e_from = _int_array("edge_from", e_from_in, m)
    e_to = _int_array("edge_to", edge_to, m)
    for name, e in (("edge_from", e_from), ("edge_to", e_to)):
        if m and (e.min() < 0 or e.max() >= n):
            raise ValueError(f"{name} must be node indices within [0, {n - 1}]")
    t = np.array(travel_time_s, dtype=np.float64)
    if t.shape != (m,):
        raise ValueError(f"travel_time_s must be 1-D with {m} entries (as edge_from), got shape {t.shape}")
    if not (np.isfinite(t).all() and (t >= 0.0).all()):
        raise ValueError("travel_time_s must be finite and >= 0")
    if oneway is None:
        ow = np.zeros(m, dtype=bool)
    else:
        ow_in = np.asarray(oneway)
        if ow_in.shape != (m,):
            raise ValueError(f"oneway must be 1-D with {m} entries (as edge_from), got shape {ow_in.shape}")
        if m and not (ow_in.dtype.kind == "b" or (ow_in.dtype.kind in "iu" and np.isin(ow_in, (0, 1)).all())):
            raise ValueError(f"oneway must be booleans (or 0/1), got dtype {ow_in.dtype}")
        ow = np.array(ow_in, dtype=bool)
    if bridge_id is None:
        bridge_ids: tuple[str, ...] = ()
        e_bridge = np.full(m, -1, dtype=np.int64)
    else:
        labels = ["" if b is None else b for b in np.asarray(bridge_id, dtype=object).ravel().tolist()]
        if len(labels) != m or np.ndim(bridge_id) != 1:
            raise ValueError(f"bridge_id must be 1-D with {m} entries (as edge_from), got shape {np.shape(bridge_id)}")
        if not all(isinstance(b, str) for b in labels):
            raise ValueError("bridge_id must hold strings ('' when the edge is not a bridge)")
        bridge_ids = tuple(sorted({b for b in labels if b}))
        code = {b: i for i, b in enumerate(bridge_ids)}
        e_bridge = np.array([code.get(b, -1) for b in labels], dtype=np.int64)

    # directed arcs: every edge forward, two-way edges backward too; no self-loops
    back = np.flatnonzero(~ow)
    a_from = np.concatenate((e_from, e_to[back]))
    a_to = np.concatenate((e_to, e_from[back]))
    a_edge = np.concatenate((np.arange(m, dtype=np.int64), back))
    loop = a_from == a_to
    if loop.any():
        a_from, a_to, a_edge = a_from[~loop], a_to[~loop], a_edge[~loop]
    a_time = t[a_edge]
    order = np.lexsort((a_time, a_to, a_from))
    a_from32 = a_from[order].astype(np.int32)
    a_to32 = a_to[order].astype(np.int32)
    a_time = a_time[order]
    a_edge = a_edge[order]
    csr = _csr_from_sorted(n, a_from32, a_to32, a_time)
    tree = cKDTree(unit_vectors(lon, lat))
    return RoadGraph(
        node_lon=_frozen(lon), node_lat=_frozen(lat), edge_from=_frozen(e_from), edge_to=_frozen(e_to),
        travel_time_s=_frozen(t), oneway=_frozen(ow), edge_bridge=_frozen(e_bridge), bridge_ids=bridge_ids,
        _arc_from=_frozen(a_from32), _arc_to=_frozen(a_to32), _arc_time=_frozen(a_time),
        _arc_edge=_frozen(a_edge), _csr=csr, _tree=tree,
    )


def _closed_edges(graph: RoadGraph, closed_bridges: Iterable[str]) -> BoolArray:
    if isinstance(closed_bridges, str):
        raise ValueError("closed_bridges must be a collection of bridge ids, not one string")
    ids = list(closed_bridges)
    if not all(isinstance(b, str) and b for b in ids):
        raise ValueError("closed_bridges must hold non-empty strings")
    lookup = np.zeros(len(graph.bridge_ids) + 1, dtype=bool)  # last entry: edge_bridge == -1
    code = {b: i for i, b in enumerate(graph.bridge_ids)}
    for b in ids:
        i = code.get(b)  # ids not carried by this graph close nothing
        if i is not None:
            lookup[i] = True
    out: BoolArray = lookup[graph.edge_bridge]
    return out


def _snap(graph: RoadGraph, lon: FloatArray, lat: FloatArray) -> tuple[IntArray, FloatArray]:
    if lon.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    chord, node = graph._tree.query(unit_vectors(lon, lat))
    snap = chord_to_arc(chord, EARTH_RADIUS_M)
    return np.asarray(node, dtype=np.int64), snap


def travel_time_matrix_s(
    graph: RoadGraph,
    src_lon: npt.ArrayLike,
    src_lat: npt.ArrayLike,
    dst_lon: npt.ArrayLike,
    dst_lat: npt.ArrayLike,
    *,
    closed_bridges: Iterable[str] = (),
    access_speed_kmh: float = 20.0,
    max_snap_m: float | None = None,
    max_time_s: float | None = None,
) -> TravelTimes:
    """Travel times (s) from every source point to every destination point.

    Parameters
    ----------
    graph : RoadGraph
        From :func:`build_road_graph`.
    src_lon, src_lat : array_like, shape (n_src,)
        Sources (depots), degrees.
    dst_lon, dst_lat : array_like, shape (n_dst,)
        Destinations (sites), degrees.
    closed_bridges : iterable of str
        Bridge ids whose edges are removed (ids the graph does not carry are
        ignored; see :func:`closed_bridges_from_damage`).
    access_speed_kmh : float
        Speed (km/h) of the off-network leg between a point and its node.
    max_snap_m : float, optional
        Points farther than this from every node are unreachable.
    max_time_s : float, optional
        Trips longer than this are reported ``inf`` (and not searched).

    Returns
    -------
    TravelTimes
    """
    if not isinstance(graph, RoadGraph):
        raise ValueError(f"graph must be a RoadGraph (see build_road_graph), got {type(graph).__name__}")
    s_lon, s_lat = _points("src_lon", src_lon, "src_lat", src_lat)
    d_lon, d_lat = _points("dst_lon", dst_lon, "dst_lat", dst_lat)
    v_access = _positive("access_speed_kmh", access_speed_kmh) * _KMH
    snap_limit = math.inf
    if max_snap_m is not None:
        snap_limit = float(max_snap_m)
        if not (math.isfinite(snap_limit) and snap_limit >= 0.0):
            raise ValueError(f"max_snap_m must be finite and >= 0, got {max_snap_m!r}")
    time_limit = math.inf
    if max_time_s is not None:
        time_limit = float(max_time_s)
        if math.isnan(time_limit) or time_limit < 0.0:
            raise ValueError(f"max_time_s must be >= 0, got {max_time_s!r}")
    closed = _closed_edges(graph, closed_bridges)
    n_closed = int(closed.sum())

    s_node, s_snap = _snap(graph, s_lon, s_lat)
    d_node, d_snap = _snap(graph, d_lon, d_lat)
    s_ok = s_snap <= snap_limit
    d_ok = d_snap <= snap_limit
    seconds = np.full((s_lon.size, d_lon.size), np.inf)
    if s_ok.any() and d_ok.any():
        if n_closed:
            keep = ~closed[graph._arc_edge]
            csr = _csr_from_sorted(graph.n_nodes, graph._arc_from[keep], graph._arc_to[keep], graph._arc_time[keep])
        else:
            csr = graph._csr
        s_uni, s_pos = np.unique(s_node[s_ok], return_inverse=True)
        d_uni, d_pos = np.unique(d_node[d_ok], return_inverse=True)
        # paths of length exactly max_time_s must survive the search limit
        limit = np.nextafter(time_limit, np.inf) if math.isfinite(time_limit) else np.inf
        if d_uni.size < s_uni.size:
            dist = dijkstra(csr.T.tocsr(), directed=True, indices=d_uni, limit=limit)
            net = dist[:, s_uni].T[np.ix_(s_pos, d_pos)]
        else:
            dist = dijkstra(csr, directed=True, indices=s_uni, limit=limit)
            net = dist[:, d_uni][np.ix_(s_pos, d_pos)]
        net += (s_snap[s_ok] / v_access)[:, None]
        net += (d_snap[d_ok] / v_access)[None, :]
        if math.isfinite(time_limit):
            net[net > time_limit] = np.inf
        seconds[np.ix_(s_ok, d_ok)] = net
    return TravelTimes(
        seconds=seconds, src_node=s_node, dst_node=d_node, src_snap_m=s_snap, dst_snap_m=d_snap,
        n_closed_edges=n_closed,
    )


def closed_bridges_from_damage(
    bridge_ids: Sequence[str],
    damage_fractions: npt.ArrayLike,
    states: Sequence[str],
    *,
    close_from: str = "extensive",
    probability: float = 0.5,
) -> frozenset[str]:
    """Bridges to close: ``P(state >= close_from) >= probability``.

    Parameters
    ----------
    bridge_ids : sequence of str, shape (n,)
        Distinct, non-empty bridge ids.
    damage_fractions : array_like, shape (n, n_states)
        Probability of each damage state per bridge; rows sum to 1 (within
        1e-6), entries within [0, 1].
    states : sequence of str, shape (n_states,)
        Damage-state names from least to most severe, e.g. ``("none",
        "slight", "moderate", "extensive", "complete")``.
    close_from : str
        The least severe state that closes a bridge (a name in ``states``).
    probability : float
        Threshold within (0, 1]; probabilities within 1e-9 below it count
        (sums of fractions carry rounding).

    Returns
    -------
    frozenset of str
    """
    ids = list(bridge_ids) if not isinstance(bridge_ids, str) else [bridge_ids]
    if isinstance(bridge_ids, str) or not all(isinstance(b, str) and b for b in ids):
        raise ValueError("bridge_ids must be a sequence of non-empty strings")
    if len(set(ids)) != len(ids):
        raise ValueError("bridge_ids must be distinct")
    names = list(states) if not isinstance(states, str) else []
    if not names or not all(isinstance(s, str) for s in names) or len(set(names)) != len(names):
        raise ValueError("states must be a sequence of distinct state names")
    if close_from not in names:
        raise ValueError(f"close_from must be one of states {names}, got {close_from!r}")
    p = float(probability)
    if not (0.0 < p <= 1.0):
        raise ValueError(f"probability must be within (0, 1], got {probability!r}")
    f = np.array(damage_fractions, dtype=np.float64)
    if f.shape != (len(ids), len(names)):
        raise ValueError(f"damage_fractions must have shape (len(bridge_ids), len(states)) = "
                         f"({len(ids)}, {len(names)}), got {f.shape}")
    if not (np.isfinite(f).all() and (f >= -1e-12).all() and (f <= 1.0 + 1e-12).all()):
        raise ValueError("damage_fractions must be finite and within [0, 1]")
    if f.size and (np.abs(f.sum(axis=1) - 1.0) > 1e-6).any():
        raise ValueError("damage_fractions rows must sum to 1 (within 1e-6)")
    p_closed = f[:, names.index(close_from):].sum(axis=1)
    return frozenset(b for b, q in zip(ids, p_closed.tolist()) if q >= p - _PROB_TOL)
