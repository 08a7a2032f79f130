"""Capacitated shelter location and allocation (single-period, splittable demand).

Issue "[5] Emergency plans as data, plan activation and resource dispatch",
shelter part: "shelter location/allocation (fast heuristic with an exact MILP
for small cases)"; acceptance "heuristic within 2 % of the exact optimum on
instances small enough to solve exactly".  Arrays in, a frozen dataclass out;
numpy/scipy only (HiGHS through :func:`scipy.optimize.milp` and
:func:`scipy.optimize.linprog`); float64 throughout; inputs are never
modified; invalid input raises :class:`ValueError` naming the argument and the
limit.

Model: the capacitated plant location problem [Sr95]_
------------------------------------------------------
Candidates ``i`` (capacity ``s_i`` people, opening cost ``f_i``), demand
points ``j`` (``d_j`` displaced people), cost ``c_ij`` per person (travel
seconds, metres ...; ``inf`` = forbidden), penalty ``P`` per person left
without a shelter::

    min  sum_i f_i y_i + sum_ij c_ij x_ij + P sum_j u_j                     (1)
    s.t. sum_i x_ij + u_j = d_j                       for every j           (2)
         sum_j x_ij <= s_i y_i                        for every i           (3)
         x_ij <= d_j y_i                              for every arc (i, j)  (4)
         sum_i y_i <= max_open,  y_i = 1 for already_open i                 (5)
         x, u >= 0,  y_i in {0, 1}

``x_ij`` exists only on arcs with a finite cost (and, with
``max_arcs_per_demand = k``, only on the ``k`` cheapest arcs of each demand
point, which restricts the problem, not only the solver).  Rows (4) are
implied by (2)-(3) for integer ``y`` but make the LP relaxation much stronger
(the "strong" formulation, [CST91]_).  Opening costs of ``already_open``
candidates are part of (1) as given (pass 0 for shelters already operating).

Default penalty
    ``P = 1 + sum_i f_i + sum_j d_j max_i c_ij`` (finite arcs).  Any plan then
    costs less than one person's penalty apart from its own penalty, so the
    optimum serves the largest number of people capacity and reach allow,
    within less than one person (exactly, for integer demand and capacity);
    cost is minimised among such plans.
Penalty floor
    ``P`` times a lower bound on unmet demand that no choice of shelters can
    avoid: demand points with no arc, plus ``max(d_j - sum_{i reaches j}
    s_i, 0)`` per demand point, plus ``max(sum_j min(d_j, reach_j) - C, 0)``
    with ``C`` the capacity of the ``max_open`` largest candidates.  It is
    reported as ``penalty_floor`` and subtracted in ``gap`` (below) so that a
    huge unavoidable penalty does not make every answer look optimal.

Exact method
    (1)-(5) solved by HiGHS branch and bound (:func:`scipy.optimize.milp`,
    relative gap tolerance 1e-7, ``time_limit_s``); the allocation is then
    re-solved as the LP below for the chosen open set, so flows meet (2)-(3)
    exactly.  ``lower_bound`` is the MILP's proven dual bound.
Heuristic
    Lagrangian relaxation of the demand rows (2) with multipliers ``lam_j``
    [CST91]_ splits the problem by candidate: each open candidate solves a
    continuous knapsack ``v_i(lam) = max sum_j (lam_j - c_ij) x_ij`` with
    ``sum_j x_ij <= s_i``, ``0 <= x_ij <= d_j``, and opens when its reduced
    cost ``f_i - v_i(lam) < 0`` (respecting (5))::

        L(lam) = sum_j lam_j d_j + min_{y in (5)} sum_i y_i (f_i - v_i(lam))   (6)

    Every ``L(lam)`` with ``lam_j <= P`` is a lower bound; its maximum is the
    LP bound of (1)-(5) [Sr95]_.

    1. Relaxation.  Up to 10,000 arcs: the LP relaxation of (1)-(5) by HiGHS
       (bound, fractional ``y``, ``lam`` = its demand duals).  Larger: 150
       steps of projected subgradient ascent on (6) from ``lam_j = min_i c_ij
       + f_i / s_i``, Polyak steps toward a target 5 % above the best bound,
       the step halved (and restarted from the best ``lam``) after 6 steps
       without progress; fractional ``y`` = the mean of (6)'s open vector over
       the second half of the steps.
    2. Starting open sets.  Rounding: every candidate with ``y > 1/2``, then
       more by decreasing ``y`` until the open capacity reaches the demand that
       capacity and reach allow (and 3 % more); the same by increasing reduced
       cost; 4 randomised roundings (candidate ``i`` opened with probability
       ``y_i`` clipped to [0.05, 0.95], seeded, so the same instance always
       gives the same plan); a greedy add (as Kuehn & Hamburger [KH63]_, the
       knapsack as the estimate).  Each is completed so that every point's
       reachable open capacity covers its demand where possible.  Larger
       instances: the first rounding only.
    3. Allocation LP: the transportation problem (1)-(3) of an open set by
       HiGHS dual simplex (skipped when serving every point from its cheapest
       open shelter fits the capacities), with duals ``w_j`` (demand) and
       ``rho_i`` (capacity).
    4. Local search over adding, dropping and swapping one candidate (swaps
       between candidates that reach a common point).  Moves are ranked by
       exact upper bounds on their gain from (6) at the current duals: add
       ``k``: ``v_k(w) - f_k``; drop ``i``: ``f_i - s_i rho_i - sum_j d_j
       delta_j``, ``delta_j`` the rise of point ``j``'s price to its
       second-cheapest option ``min(P, c_lj + rho_l)`` where ``i`` is its
       cheapest; swap: the sum of the two plus ``d_j delta_j`` over the points
       the added candidate reaches.  A move is evaluated by re-optimising the
       flows of the points the changed candidates reach, the other flows
       fixed (an upper bound on the new set's cost), after a weak-duality
       check that skips the LP when capacity prices prove the move cannot
       improve.  Best improvement from every start (smaller instances); first
       improvement from the best start, stopped after ``2 n_candidates`` moves
       in a row without one (larger).  A pass that finds nothing is repeated
       once after re-solving the allocation LP globally.
    5. Larger instances: 60 more subgradient steps toward the final cost, from
       the better of the best ``lam`` and the final allocation's duals.

    ``time_limit_s`` bounds the heuristic too: no local-search move starts
    after it (larger instances: after it less the expected time of step 5,
    which also stops at it), so a call returns about then, or after the
    first allocation LP if that alone takes longer.  ``lower_bound`` is the relaxation's bound (at least
    the penalty floor).

Result
    Flows below 1e-12 of a point's demand are dropped and solver-tolerance
    excess is scaled away, so flows never exceed a capacity or a demand; a
    shelter that is not ``already_open`` and receives nobody is reported
    closed.  ``objective`` = opening costs + allocation cost + ``P`` x unmet
    people (1), recomputed from the reported flows; ``lower_bound`` a proven
    bound on the optimum of (1), at least the penalty floor; ``gap =
    (objective - lower_bound) / (objective - penalty_floor)`` (0 when the
    numerator vanishes; the plain ``(objective - lower_bound) / objective``
    when the floor is 0).

References
----------
.. [Sr95] Sridharan, R. (1995). The capacitated plant location problem.
   European Journal of Operational Research 87(2), 203-213.
.. [CST91] Cornuejols, G., Sridharan, R. & Thizy, J.-M. (1991). A comparison
   of heuristics and relaxations for the capacitated plant location problem.
   European Journal of Operational Research 50(3), 280-297.
.. [KH63] Kuehn, A. A. & Hamburger, M. J. (1963). A heuristic program for
   locating warehouses. Management Science 9(4), 643-666.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

__all__ = [
    "AUTO_EXACT_MAX_CELLS",
    "SHELTER_ALGORITHM_VERSION",
    "ShelterFlows",
    "ShelterMethod",
    "ShelterPlan",
    "locate_shelters",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Bump when a definition in the module docstring changes (goes into provenance).
SHELTER_ALGORITHM_VERSION: Final = "1"
#: ``method="auto"`` solves exactly when ``n_candidates * n_demand`` is at most this.
AUTO_EXACT_MAX_CELLS: Final = 4000
_MIP_REL_GAP: Final = 1e-7
_SUBGRAD_ITERS: Final = 150
_POLISH_ITERS: Final = 60
_STALL: Final = 6  # steps without progress before the step length is halved
_LP_MAX_ARCS: Final = 10_000  # up to this: LP relaxation by HiGHS, all starts, best improvement
_MARGINS: Final = (0.0, 0.03)  # capacity margins of the roundings
_RANDOM_ROUNDINGS: Final = 4
_SEED: Final = 20240501
_PATIENCE: Final = 2  # larger instances: moves in a row without improvement, per candidate
_DUAL_STEPS: Final = 12  # Polyak steps of the capacity-price check of a move
_TOL: Final = 1e-9  # relative to the problem's cost scale


class ShelterMethod(StrEnum):
    HEURISTIC = "heuristic"
    EXACT = "exact"
    AUTO = "auto"


@dataclass(frozen=True, slots=True, eq=False)
class ShelterFlows:
    """Positive flows as triplets, sorted by candidate then demand point."""

    candidate: IntArray  #: candidate (shelter) index
    demand_point: IntArray  #: demand point index
    people: FloatArray  #: people sent


@dataclass(frozen=True, slots=True, eq=False)
class ShelterPlan:
    """A shelter plan; see the module docstring for the definitions."""

    open: BoolArray  #: (n_candidates,) shelter opened
    flows: ShelterFlows
    assigned: FloatArray  #: (n_candidates,) people per shelter
    unmet: FloatArray  #: (n_demand,) people without a shelter
    objective: float  #: opening + allocation + penalty, equation (1)
    lower_bound: float  #: proven lower bound on the optimum of (1)
    gap: float  #: (objective - lower_bound) / (objective - penalty_floor)
    method: ShelterMethod  #: HEURISTIC or EXACT
    seconds: float  #: wall time of the call
    open_cost: float  #: opening costs in ``objective``
    allocation_cost: float  #: sum of cost x people in ``objective``
    unmet_penalty: float  #: ``P`` used
    penalty_floor: float  #: ``P`` x unmet people no plan can avoid
    algorithm_version: str = SHELTER_ALGORITHM_VERSION


@dataclass(slots=True)
class _Problem:
    """Validated instance; demand points re-indexed to the reachable ones, arcs sorted by candidate."""

    f: FloatArray
    s: FloatArray
    forced: BoolArray
    max_open: int
    pen: float
    d_all: FloatArray
    reach: IntArray  # original index of each reachable demand point
    d: FloatArray  # demand of the reachable points
    a_fac: IntArray
    a_dem: IntArray  # reachable index
    a_cost: FloatArray
    a_d: FloatArray
    fac_ptr: IntArray  # arcs of candidate i: fac_ptr[i]:fac_ptr[i + 1]
    lo: FloatArray  # cheapest arc per reachable point
    hi: FloatArray  # dearest arc per reachable point
    useful: BoolArray  # capacity > 0 and at least one arc
    adj: BoolArray  # (m, m) candidates reaching a common demand point
    const: float  # penalty of unreachable demand
    floor: float  # penalty floor of the reachable demand
    tol: float

    @property
    def m(self) -> int:
        return int(self.f.size)


@dataclass(slots=True)
class _Alloc:
    """An open set with its allocation (reachable demand only)."""

    is_open: BoolArray
    x: FloatArray  # people per arc
    u: FloatArray  # unmet per reachable point
    value: float  # open + allocation + penalty of the reachable demand
    w: FloatArray  # demand duals
    rho: FloatArray  # capacity duals (m,)
    exact: bool  # x is the allocation LP's optimum for is_open and (w, rho) its duals


def _sum_by(index: IntArray, weights: FloatArray, n: int) -> FloatArray:
    """``np.bincount`` with weights, typed: the sum of ``weights`` per ``index`` value, length ``n``."""
    return np.asarray(np.bincount(index, weights=weights, minlength=n), dtype=np.float64)


def _vector(a: npt.ArrayLike, name: str, n: int) -> FloatArray:
    v = np.array(a, dtype=np.float64)  # a copy: inputs are never touched
    if v.shape != (n,):
        raise ValueError(f"{name} must be shape ({n},), got shape {v.shape}")
    if not np.isfinite(v).all() or (v < 0.0).any():
        raise ValueError(f"{name} must be finite and >= 0")
    return v


def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _prepare(
    cost: npt.ArrayLike,
    demand: npt.ArrayLike,
    capacity: npt.ArrayLike,
    open_cost: npt.ArrayLike,
    already_open: npt.ArrayLike | None,
    max_open: int | None,
    unmet_penalty: float | None,
    max_arcs_per_demand: int | None,
) -> _Problem:
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"cost must be 2-D (n_candidates, n_demand), got shape {c.shape}")
    m, n = c.shape
    if np.isnan(c).any() or (c < 0.0).any():
        raise ValueError("cost must be >= 0 or +inf (forbidden), without NaN")
    d_all = _vector(demand, "demand", n)
    s = _vector(capacity, "capacity", m)
    f = _vector(open_cost, "open_cost", m)
    if already_open is None:
        forced = np.zeros(m, dtype=bool)
    else:
        forced = np.array(already_open)
        if forced.dtype != np.bool_ or forced.shape != (m,):
            raise ValueError(f"already_open must be a bool array of shape ({m},), got {forced.dtype} {forced.shape}")
    n_forced = int(forced.sum())
    if max_open is None:
        k_open = m
    else:
        if not _is_int(max_open) or max_open < n_forced:
            raise ValueError(f"max_open must be an integer >= the number of already_open candidates ({n_forced}), "
                             f"got {max_open!r}")
        k_open = min(int(max_open), m)
    if max_arcs_per_demand is not None and (not _is_int(max_arcs_per_demand) or max_arcs_per_demand < 1):
        raise ValueError(f"max_arcs_per_demand must be an integer >= 1, got {max_arcs_per_demand!r}")

    ok = np.isfinite(c) & (s > 0.0)[:, None] & (d_all > 0.0)[None, :]
    if max_arcs_per_demand is not None and max_arcs_per_demand < m:
        k = int(max_arcs_per_demand)
        keyed = np.where(ok, c, np.inf)
        top = np.argpartition(keyed, k - 1, axis=0)[:k]
        keep = np.zeros_like(ok)
        np.put_along_axis(keep, top, True, axis=0)
        ok &= keep
    fac, dem = np.nonzero(ok)  # row-major: sorted by candidate
    a_cost = c[fac, dem]
    has_arc = np.zeros(n, dtype=bool)
    has_arc[dem] = True
    reach = np.flatnonzero(has_arc)
    index = np.full(n, -1, dtype=np.int64)
    index[reach] = np.arange(reach.size)
    a_dem = index[dem]
    d = d_all[reach]
    a_d = d[a_dem]
    cmax = np.zeros(reach.size)
    np.maximum.at(cmax, a_dem, a_cost)
    lo = np.full(reach.size, np.inf)
    np.minimum.at(lo, a_dem, a_cost)

    if unmet_penalty is None:
        pen = 1.0 + float(f.sum()) + float(d @ cmax)
    else:
        pen = float(unmet_penalty)
        if not math.isfinite(pen) or pen < 0.0:
            raise ValueError(f"unmet_penalty must be finite and >= 0, got {unmet_penalty!r}")
    useful = np.zeros(m, dtype=bool)
    useful[fac] = True
    inc = sp.csr_matrix((np.ones(fac.size), (fac, a_dem)), shape=(m, reach.size))
    adj = (inc @ inc.T).toarray() > 0.0

    reach_cap = _sum_by(a_dem, s[fac], reach.size)
    servable = np.minimum(d, reach_cap)
    top_cap = float(np.sort(s)[::-1][:k_open].sum())
    unavoidable = float((d - servable).sum()) + max(float(servable.sum()) - top_cap, 0.0)
    # absolute tolerance: relative to the avoidable costs, plus rounding of the penalty terms
    tol = _TOL * (1.0 + float(f.sum()) + float(d @ cmax)) + 1e-14 * pen * float(d_all.sum())
    return _Problem(
        f=f, s=s, forced=forced, max_open=k_open, pen=pen, d_all=d_all, reach=reach.astype(np.int64), d=d,
        a_fac=fac.astype(np.int64), a_dem=a_dem, a_cost=a_cost, a_d=a_d,
        fac_ptr=np.searchsorted(fac, np.arange(m + 1)).astype(np.int64), lo=np.minimum(lo, pen), hi=cmax,
        useful=useful, adj=adj,
        const=pen * float(d_all.sum() - d.sum()), floor=pen * unavoidable, tol=tol,
    )


# --------------------------------------------------------------------------- allocation LP


def _region(
    pb: _Problem, is_open: BoolArray, pts_mask: BoolArray, cap: FloatArray,
    bound: FloatArray | None = None, limit: float = math.inf,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray, float] | None:
    """Allocation LP (1)-(3) of the points in ``pts_mask`` for the open set, capacities ``cap``.

    Returns the arcs used (open arcs of those points), their flows, and per point of the
    region its unmet people and dual, the capacity duals (m,) and the allocation + penalty cost.
    With capacity prices ``bound``: None, without solving, when a dual bound shows the cost
    is at least ``limit``.
    """
    pts = np.flatnonzero(pts_mask)
    u = pb.d[pts].copy()
    w = np.full(pts.size, pb.pen)
    rho = np.zeros(pb.m)
    sel = np.flatnonzero(pts_mask[pb.a_dem] & is_open[pb.a_fac])
    xs = np.zeros(sel.size)
    if sel.size == 0:
        return sel, xs, u, w, rho, pb.pen * float(u.sum())
    col = np.full(pb.d.size, -1, dtype=np.int64)
    col[pts] = np.arange(pts.size)
    fac, dem, cst = pb.a_fac[sel], col[pb.a_dem[sel]], pb.a_cost[sel]
    # cheapest open option per point: optimal when it fits every capacity
    order = np.lexsort((cst, dem))
    first = order[np.r_[True, dem[order][1:] != dem[order][:-1]]]
    b_dem, b_fac, b_c = dem[first], fac[first], cst[first]
    take = b_c < pb.pen
    need = pb.d[pts[b_dem]]
    load = _sum_by(b_fac[take], need[take], pb.m)
    if (load <= cap).all():
        xs[first[take]] = need[take]
        u[b_dem[take]] = 0.0
        w[b_dem] = np.minimum(b_c, pb.pen)
        return sel, xs, u, w, rho, float(cst @ xs) + pb.pen * float(u.sum())
    if bound is not None and _dual_reaches(pb, pts, dem, fac, cst, cap, bound, limit):
        return None
    rows = np.unique(dem)  # region points with an open arc; the others stay unmet
    rrow = np.full(pts.size, -1, dtype=np.int64)
    rrow[rows] = np.arange(rows.size)
    na, nu = sel.size, rows.size
    a_eq = sp.csr_matrix((np.ones(na + nu), (np.r_[rrow[dem], np.arange(nu)], np.arange(na + nu))),
                         shape=(nu, na + nu))
    facs = np.unique(fac)
    frow = np.full(pb.m, -1, dtype=np.int64)
    frow[facs] = np.arange(facs.size)
    a_ub = sp.csr_matrix((np.ones(na), (frow[fac], np.arange(na))), shape=(facs.size, na + nu))
    b_ub, b_eq = np.maximum(cap[facs], 0.0), pb.d[pts[rows]]
    # dual simplex, but interior point when capacity is short: measured 5x faster there, 5x slower else
    how = "highs-ipm" if b_ub.sum() < b_eq.sum() else "highs-ds"
    res = linprog(np.r_[cst, np.full(nu, pb.pen)], A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0.0, None),
                  method=how)
    if res.status != 0:
        raise RuntimeError(f"allocation LP failed: {res.message}")
    xs = np.maximum(res.x[:na], 0.0)
    u[rows] = np.maximum(res.x[na:], 0.0)
    w[rows] = np.minimum(res.eqlin.marginals, pb.pen)
    rho[facs] = np.maximum(-res.ineqlin.marginals, 0.0)
    return sel, xs, u, w, rho, float(cst @ xs) + pb.pen * float(u.sum())


def _dual_reaches(
    pb: _Problem, pts: IntArray, dem: IntArray, fac: IntArray, cst: FloatArray, cap: FloatArray,
    start: FloatArray, limit: float,
) -> bool:
    """Whether the region's allocation LP provably costs at least ``limit``.

    Weak duality: for capacity prices ``r >= 0``, ``sum_j d_j min(P, min_l c_lj + r_l) -
    sum_l cap_l r_l`` is a lower bound.  A few projected Polyak steps toward ``limit`` from
    ``r = 0`` and ``r = start``.
    """
    facs, local = np.unique(fac, return_inverse=True)
    b = np.maximum(cap[facs], 0.0)
    order = np.argsort(dem, kind="stable")
    dem, local, cst = dem[order], local[order], cst[order]
    starts = np.flatnonzero(np.r_[True, dem[1:] != dem[:-1]])
    need = pb.d[pts[dem[starts]]]
    unmet_cost = float(pb.d[pts].sum() - need.sum()) * pb.pen  # region points without an open arc

    def dual(r: FloatArray) -> tuple[float, FloatArray]:
        key = cst + r[local]
        price = np.minimum(np.minimum.reduceat(key, starts), pb.pen)
        value = unmet_cost + float(need @ price) - float(b @ r)
        hit = key <= price[np.repeat(np.arange(starts.size), np.diff(np.r_[starts, key.size]))]
        g = _sum_by(local[hit], pb.d[pts[dem[hit]]], facs.size) - b
        g[(r <= 0.0) & (g < 0.0)] = 0.0
        return value, g

    # starts: no prices, the current ones, and the best uniform price t (1-D, exact: the
    # concave function of t has its breakpoints at t = P - min_l c_lj)
    cmin = np.minimum(np.minimum.reduceat(cst, starts), pb.pen)
    by_brk = np.argsort(pb.pen - cmin)
    slope = need.sum() - np.r_[0.0, np.cumsum(need[by_brk])] - b.sum()  # after 0, 1, ... breakpoints
    t_best = 0.0
    if slope[0] > 0.0:
        t_best = float((pb.pen - cmin)[by_brk][int(np.argmax(slope <= 0.0)) - 1])
    best_r = max((np.zeros(facs.size), start[facs].copy(), np.full(facs.size, t_best)), key=lambda r: dual(r)[0])
    r = best_r
    value, g = dual(r)
    for _ in range(_DUAL_STEPS):
        if value >= limit:
            return True
        gg = float(g @ g)
        if gg <= 0.0:
            return False
        r = np.maximum(r + (limit - value) / gg * g, 0.0)
        value, g = dual(r)
    return value >= limit


def _allocate(pb: _Problem, is_open: BoolArray) -> _Alloc:
    """Allocation LP (transportation problem (1)-(3)) for a fixed open set, with optimal duals."""
    out = _region(pb, is_open, np.ones(pb.d.size, dtype=bool), pb.s)
    if out is None:  # pragma: no cover - only a finite limit can prune
        raise RuntimeError("allocation LP pruned without a limit")
    sel, xs, u, w, rho, cost = out
    x = np.zeros(pb.a_fac.size)
    x[sel] = xs
    return _Alloc(is_open, x, u, float(pb.f[is_open].sum()) + cost, w, rho, True)


def _try(pb: _Problem, al: _Alloc, close: int, add: int, need: float = 0.0) -> _Alloc | None:
    """Close ``close`` and/or open ``add`` (-1: none); re-optimise the flows of the points they reach.

    The flows elsewhere stay fixed, so the value is an upper bound on the new set's optimum.
    Returns the new state when it improves on ``al`` by more than ``need`` and the tolerance, else None.
    """
    trial = al.is_open.copy()
    mask = np.zeros(pb.d.size, dtype=bool)
    delta = 0.0
    for i, state in ((close, False), (add, True)):
        if i >= 0:
            trial[i] = state
            delta += pb.f[i] if state else -pb.f[i]
            mask[pb.a_dem[pb.fac_ptr[i]: pb.fac_ptr[i + 1]]] = True
    reg = np.flatnonzero(mask[pb.a_dem])
    old = float(pb.a_cost[reg] @ al.x[reg]) + pb.pen * float(al.u[mask].sum())
    load = _sum_by(pb.a_fac, al.x, pb.m)
    cap = pb.s - load + _sum_by(pb.a_fac[reg], al.x[reg], pb.m)
    need = max(need, 0.0) + pb.tol
    out = _region(pb, trial, mask, cap, al.rho, old - delta - need)
    if out is None:
        return None
    sel, xs, u, w, rho, cost = out
    value = al.value + delta + cost - old
    if not value < al.value - need:
        return None
    x = al.x.copy()
    x[reg] = 0.0
    x[sel] = xs
    uu, ww, rr = al.u.copy(), al.w.copy(), al.rho.copy()
    uu[mask], ww[mask] = u, w
    touched = np.unique(pb.a_fac[reg])
    rr[touched] = rho[touched]
    return _Alloc(trial, x, uu, value, ww, rr, bool(mask.all()))


# --------------------------------------------------------------------------- Lagrangian (6)


def _knapsack(pb: _Problem, lam: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``v_i(lam)`` for every candidate, its fill ``x`` per arc and the profits ``lam_j - c_ij``."""
    r = lam[pb.a_dem] - pb.a_cost
    x = np.where(r > 0.0, pb.a_d, 0.0)
    load = _sum_by(pb.a_fac, x, pb.m)
    over = load > pb.s
    if over.any():
        idx = np.flatnonzero((r > 0.0) & over[pb.a_fac])
        ri = r[idx]
        key = pb.a_fac[idx] - ri / (2.0 * float(ri.max()))  # by candidate, then profit descending
        idx = idx[np.argsort(key)]
        fac, dd = pb.a_fac[idx], pb.a_d[idx]
        before = np.cumsum(dd) - dd
        start = np.flatnonzero(np.r_[True, fac[1:] != fac[:-1]])
        before -= np.repeat(before[start], np.diff(np.r_[start, idx.size]))
        x[idx] = np.clip(pb.s[fac] - before, 0.0, dd)
    v = _sum_by(pb.a_fac, x * r, pb.m)
    return v, x, r


def _choose(pb: _Problem, reduced: FloatArray) -> BoolArray:
    """The ``y`` of (6): forced ones plus the most negative ``reduced`` within ``max_open``."""
    y = pb.forced.copy()
    free = np.flatnonzero(~pb.forced & pb.useful & (reduced < 0.0))
    room = pb.max_open - int(pb.forced.sum())
    if free.size > room:
        free = free[np.argsort(reduced[free], kind="stable")[:room]]
    y[free] = True
    return y


def _lagrangian(pb: _Problem, lam: FloatArray) -> tuple[float, FloatArray, BoolArray]:
    v, x, _ = _knapsack(pb, lam)
    reduced = pb.f - v
    y = _choose(pb, reduced)
    value = float(lam @ pb.d) + float(reduced[y].sum())
    served = _sum_by(pb.a_dem, x * y[pb.a_fac], pb.d.size)
    g = pb.d - served
    at_pen = lam >= pb.pen
    g[at_pen] = np.minimum(g[at_pen], 0.0)  # u_j absorbs the rest there
    return value, g, y


def _subgradient(
    pb: _Problem, lam: FloatArray, target: float | None, iters: int, deadline: float
) -> tuple[float, FloatArray, FloatArray, int]:
    """Projected subgradient ascent on (6) with Polyak steps toward ``target`` (a plan's cost;
    None: 5 % above the best bound so far).

    Returns the best ``L``, its ``lam``, the mean open vector of (6) over the second half
    of the steps (an estimate of the LP relaxation's ``y``) and the number of steps.
    """
    best_l, best_lam = -math.inf, lam
    theta, stall = 2.0, 0
    ys: list[BoolArray] = []
    for _ in range(iters):
        value, g, y = _lagrangian(pb, lam)
        ys.append(y)
        if value > best_l + pb.tol:
            best_l, best_lam, stall = value, lam, 0
        else:
            stall += 1
            if stall >= _STALL:  # smaller steps, from the best point so far
                theta, stall = theta / 2.0, 0
                value, g, y = _lagrangian(pb, best_lam)
                lam = best_lam
        goal = best_l + 0.05 * abs(best_l) + pb.tol if target is None else target
        gg = float(g @ g)
        if gg <= 0.0 or goal - value <= pb.tol or theta < 1e-4 or time.perf_counter() > deadline:
            break
        lam = np.clip(lam + theta * (goal - value) / gg * g, pb.lo, pb.pen)
    y_mean: FloatArray = np.mean(ys[len(ys) // 2:], axis=0)
    return best_l, best_lam, y_mean, len(ys)


# --------------------------------------------------------------------------- heuristic


def _greedy(pb: _Problem) -> BoolArray:
    """Step 2: greedy add by knapsack estimate, from the forced set.

    An unserved person is priced at the dearest arc plus the dearest opening cost per place,
    so that the first choices weigh cost, not only size; :func:`_cover` then fills the holes.
    """
    y = pb.forced.copy()
    per_place = pb.f[pb.useful] / pb.s[pb.useful]
    price = np.minimum(pb.hi + (float(per_place.max()) if per_place.size else 0.0), pb.pen)

    def serve(i: int, x: FloatArray) -> None:
        a, b = pb.fac_ptr[i], pb.fac_ptr[i + 1]
        j = pb.a_dem[a:b]
        price[j] -= x[a:b] / pb.a_d[a:b] * np.maximum(price[j] - pb.a_cost[a:b], 0.0)

    for done in np.flatnonzero(pb.forced & pb.useful):
        serve(int(done), _knapsack(pb, price)[1])
    while int(y.sum()) < pb.max_open:
        v, x, _ = _knapsack(pb, price)
        gain = np.where(pb.useful & ~y, v - pb.f, -np.inf)
        i = int(np.argmax(gain))
        if not gain[i] > pb.tol:
            break
        y[i] = True
        serve(i, x)
    return y


def _cover(pb: _Problem, y: BoolArray) -> BoolArray:
    """Open candidates until every point's reachable open capacity covers what it could cover."""
    y = y.copy()
    full = _sum_by(pb.a_dem, pb.s[pb.a_fac], pb.d.size)
    want = np.minimum(pb.d, full)
    while int(y.sum()) < pb.max_open:
        have = _sum_by(pb.a_dem, pb.s[pb.a_fac] * y[pb.a_fac], pb.d.size)
        short = np.maximum(want - have, 0.0)
        if not (short > 1e-9 * np.maximum(pb.d, 1.0)).any():
            break
        part = np.minimum(short[pb.a_dem], pb.s[pb.a_fac])
        covered = _sum_by(pb.a_fac, part, pb.m)
        spend = pb.f + _sum_by(pb.a_fac, part * pb.a_cost, pb.m)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(~y & (covered > 0.0), covered / spend, -1.0)
        i = int(np.argmax(score))
        if score[i] < 0.0:
            break
        y[i] = True
    return y


def _round(pb: _Problem, must: BoolArray, order: IntArray, margin: float) -> BoolArray:
    """Step 2: open ``must`` and then candidates in ``order`` until the open capacity reaches
    ``1 + margin`` times the demand that capacity and reach allow; then :func:`_cover`."""
    full = _sum_by(pb.a_dem, pb.s[pb.a_fac], pb.d.size)
    want = (1.0 + margin) * float(np.minimum(pb.d, full).sum())
    y = pb.forced.copy()
    order = order[pb.useful[order] & ~pb.forced[order]]
    order = np.r_[order[must[order]], order[~must[order]]]
    cum = float(pb.s[y].sum()) + np.cumsum(pb.s[order])
    n_add = max(int(np.searchsorted(cum, want)) + 1, int(must[order].sum()))
    y[order[: min(n_add, pb.max_open - int(y.sum()))]] = True
    return _cover(pb, y)


def _drop_terms(pb: _Problem, al: _Alloc) -> tuple[FloatArray, FloatArray, IntArray]:
    """``sum_j d_j delta_j`` per candidate, and ``d_j delta_j`` and the cheapest candidate per point."""
    nr = pb.d.size
    arg = np.full(nr, -1, dtype=np.int64)
    rise = np.zeros(nr)
    sel = np.flatnonzero(al.is_open[pb.a_fac])
    if sel.size:
        dem = pb.a_dem[sel]
        key = pb.a_cost[sel] + al.rho[pb.a_fac[sel]]
        order = np.lexsort((key, dem))
        dem_o, key_o, fac_o = dem[order], key[order], pb.a_fac[sel][order]
        first = np.flatnonzero(np.r_[True, dem_o[1:] != dem_o[:-1]])
        second = np.full(first.size, pb.pen)
        has2 = np.r_[first[1:], dem_o.size] - first > 1
        second[has2] = np.minimum(key_o[first[has2] + 1], pb.pen)
        j = dem_o[first]
        arg[j] = fac_o[first]
        rise[j] = np.maximum(second - al.w[j], 0.0) * pb.d[j]
    ok = arg >= 0
    per_cand = _sum_by(arg[ok], rise[ok], pb.m)
    return per_cand, rise, arg


def _moves(pb: _Problem, al: _Alloc) -> list[tuple[float, int, int]]:
    """Add / drop / swap moves with a positive gain bound, best bound first: (bound, out, in)."""
    v, _, _ = _knapsack(pb, al.w)
    per_cand, rise, arg = _drop_terms(pb, al)
    closed = np.flatnonzero(~al.is_open & pb.useful)
    opened = np.flatnonzero(al.is_open & ~pb.forced)
    add_b = v[closed] - pb.f[closed]
    drop_b = pb.f[opened] - v[opened] - per_cand[opened]
    out: list[tuple[float, int, int]] = []
    if int(al.is_open.sum()) < pb.max_open:
        out += [(float(b), -1, int(k)) for b, k in zip(add_b, closed) if b > pb.tol]
    out += [(float(b), int(i), -1) for b, i in zip(drop_b, opened) if b > pb.tol]
    if closed.size and opened.size:
        # M[i, k] = sum of d_j delta_j over points whose cheapest is i and that k reaches
        row = np.full(pb.m, -1, dtype=np.int64)
        row[opened] = np.arange(opened.size)
        colk = np.full(pb.m, -1, dtype=np.int64)
        colk[closed] = np.arange(closed.size)
        ri = row[np.maximum(arg, 0)][pb.a_dem]
        ck = colk[pb.a_fac]
        on = (arg[pb.a_dem] >= 0) & (ri >= 0) & (ck >= 0)
        mm = np.bincount(ri[on] * closed.size + ck[on], weights=rise[pb.a_dem[on]],
                         minlength=opened.size * closed.size).reshape(opened.size, closed.size)
        bound = drop_b[:, None] + add_b[None, :] + mm
        # swaps of candidates without a common point are a drop and an add, tried as such
        ii, kk = np.nonzero((bound > pb.tol) & pb.adj[np.ix_(opened, closed)])
        out += [(float(bound[a, b]), int(opened[a]), int(closed[b])) for a, b in zip(ii, kk)]
    out.sort(key=lambda t: -t[0])
    return out


def _local_search(pb: _Problem, al: _Alloc, deadline: float, patience: int | None = None) -> _Alloc:
    """Step 4: add/drop/swap.  Moves are tried by decreasing gain bound
    (:func:`_moves`) until the bound falls below the best gain found.  With ``patience``:
    first improvement, and a stop after that many moves in a row without one.
    """
    failures = 0
    while time.perf_counter() <= deadline:
        best: _Alloc | None = None
        for bound, i, k in _moves(pb, al):
            if best is not None and (patience is not None or bound <= al.value - best.value):
                break
            if time.perf_counter() > deadline or (patience is not None and failures >= patience):
                break
            cand = _try(pb, al, i, k, 0.0 if best is None else al.value - best.value)
            if cand is not None:
                best, failures = cand, 0
            else:
                failures += 1
        if best is not None:
            al = best
        elif al.exact or time.perf_counter() > deadline or (patience is not None and failures >= patience):
            return al
        else:
            al = _allocate(pb, al.is_open)  # global re-optimisation: exact duals, then one more pass
    return al


def _amortised(pb: _Problem) -> FloatArray:
    """Start of the subgradient ascent: ``min_i c_ij + f_i / s_i`` per point, within ``[lo, P]``."""
    price = np.full(pb.d.size, np.inf)
    np.minimum.at(price, pb.a_dem, pb.a_cost + pb.f[pb.a_fac] / pb.s[pb.a_fac])
    return np.clip(price, pb.lo, pb.pen)


def _heuristic(pb: _Problem, deadline: float) -> tuple[_Alloc, float]:
    if not pb.d.size:
        return _allocate(pb, pb.forced.copy()), float(pb.f[pb.forced].sum())
    small = pb.a_fac.size <= _LP_MAX_ARCS
    tick = time.perf_counter()
    if small:
        lb, y_frac, lam = _lp_relaxation(pb)
    else:
        lb, lam, y_frac, steps = _subgradient(pb, _amortised(pb), None, _SUBGRAD_ITERS, deadline)
        per_step = (time.perf_counter() - tick) / steps
    reduced = pb.f - _knapsack(pb, lam)[0]
    by_y, by_reduced = np.lexsort((reduced, -y_frac)), np.argsort(reduced, kind="stable")
    sets = [_round(pb, y_frac > 0.5, by_y, margin) for margin in _MARGINS[: 2 if small else 1]]
    if small:
        sets += [_round(pb, reduced < 0.0, by_reduced, margin) for margin in _MARGINS]
        rng = np.random.default_rng(_SEED)  # seeded: the same instance always gives the same plan
        for _ in range(_RANDOM_ROUNDINGS):
            pick = rng.random(pb.m) < np.clip(y_frac, 0.05, 0.95)
            sets.append(_round(pb, pick, by_y, -1.0))
        sets.append(_cover(pb, _greedy(pb)))
    starts: dict[bytes, _Alloc] = {}
    tick = time.perf_counter()
    for y in sets:
        key = np.packbits(y).tobytes()
        if key not in starts:
            starts[key] = _allocate(pb, y)
    if small:
        return min((_local_search(pb, a, deadline) for a in starts.values()), key=lambda a: a.value), lb
    lp_time = time.perf_counter() - tick
    polish = per_step * _POLISH_ITERS  # time kept for step 5
    best = _local_search(pb, next(iter(starts.values())), deadline - polish, patience=_PATIENCE * pb.m)
    if not best.exact and time.perf_counter() + lp_time + polish <= deadline:
        best = _allocate(pb, best.is_open)
    # the final duals give a tight bound when (6) opens the same set at them
    start = max((lam, best.w), key=lambda v: _lagrangian(pb, v)[0])
    more, _, _, _ = _subgradient(pb, start.copy(), best.value, _POLISH_ITERS, deadline)
    return best, max(lb, more)


# --------------------------------------------------------------------------- exact


@dataclass(slots=True)
class _Model:
    """(1)-(5) as matrices; columns x (arcs) | u (points) | y (candidates) | one."""

    c: FloatArray
    a_eq: sp.csr_matrix  # (2)
    a_ub: sp.csr_matrix  # (3), (4), (5): <= b_ub
    b_ub: FloatArray
    lb: FloatArray
    ub: FloatArray
    y0: int  # first y column


def _model(pb: _Problem) -> _Model:
    m, nr, na = pb.m, pb.d.size, pb.a_fac.size
    y0 = na + nr
    n_col = y0 + m + 1  # the last column is fixed at 1 and carries -floor (see _exact)
    lb = np.zeros(n_col)
    ub = np.full(n_col, np.inf)
    ub[y0: y0 + m] = np.where(pb.useful | pb.forced, 1.0, 0.0)
    lb[y0: y0 + m] = pb.forced.astype(np.float64)
    lb[-1] = ub[-1] = 1.0
    ar = np.arange(na)
    a_eq = sp.csr_matrix((np.ones(na + nr), (np.r_[pb.a_dem, np.arange(nr)], np.r_[ar, na + np.arange(nr)])),
                         shape=(nr, n_col))
    rows = np.r_[pb.a_fac, np.arange(m), m + ar, m + ar, np.full(m, m + na)]
    cols = np.r_[ar, y0 + np.arange(m), ar, y0 + pb.a_fac, y0 + np.arange(m)]
    vals = np.r_[np.ones(na), -pb.s, np.ones(na), -pb.a_d, np.ones(m)]
    a_ub = sp.csr_matrix((vals, (rows, cols)), shape=(m + na + 1, n_col))
    b_ub = np.r_[np.zeros(m + na), float(pb.max_open)]
    c = np.concatenate([pb.a_cost, np.full(nr, pb.pen), pb.f, [-pb.floor]])
    return _Model(c, a_eq, a_ub, b_ub, lb, ub, y0)


def _lp_relaxation(pb: _Problem) -> tuple[float, FloatArray, FloatArray]:
    """LP relaxation of (1)-(5) by HiGHS: bound, ``y`` and the demand duals."""
    md = _model(pb)
    res = linprog(md.c, A_ub=md.a_ub, b_ub=md.b_ub, A_eq=md.a_eq, b_eq=pb.d, bounds=np.c_[md.lb, md.ub],
                  method="highs-ds")
    if res.status != 0:
        raise RuntimeError(f"LP relaxation failed: {res.message}")
    return float(res.fun) + pb.floor, res.x[md.y0: md.y0 + pb.m], np.minimum(res.eqlin.marginals, pb.pen)


def _exact(pb: _Problem, time_limit_s: float) -> tuple[BoolArray, float] | None:
    """(1)-(5) by HiGHS branch and bound: open set and proven lower bound (None: no solution found).

    The constant column carries ``-floor`` so that HiGHS's relative gap is measured on the
    part of the objective a plan can change.
    """
    md = _model(pb)
    integrality = np.zeros(md.c.size)
    integrality[md.y0: md.y0 + pb.m] = 1
    cons = [LinearConstraint(md.a_eq, pb.d, pb.d), LinearConstraint(md.a_ub, -np.inf, md.b_ub)]
    res = milp(md.c, constraints=cons, integrality=integrality, bounds=Bounds(md.lb, md.ub),
               options={"time_limit": time_limit_s, "mip_rel_gap": _MIP_REL_GAP, "disp": False})
    if res.x is None:
        return None
    is_open = res.x[md.y0: md.y0 + pb.m] > 0.5
    bound = getattr(res, "mip_dual_bound", None)
    low = float(bound) + pb.floor if bound is not None and np.isfinite(bound) else -math.inf
    return is_open, low


# --------------------------------------------------------------------------- result


def _plan(pb: _Problem, al: _Alloc, lower: float, method: ShelterMethod, t0: float) -> ShelterPlan:
    m = pb.m
    x = al.x.copy()
    x[x <= 1e-12 * np.maximum(pb.a_d, 1.0)] = 0.0
    # remove solver-tolerance excess: never above capacity or demand
    load = _sum_by(pb.a_fac, x, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(load > pb.s, pb.s / load, 1.0)
    x *= shrink[pb.a_fac]
    served = _sum_by(pb.a_dem, x, pb.d.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink_d = np.where(served > pb.d, pb.d / served, 1.0)
    x *= shrink_d[pb.a_dem]
    assigned = _sum_by(pb.a_fac, x, m)
    is_open = al.is_open & (pb.forced | (assigned > 0.0))  # an unused shelter costs and serves nothing
    served = _sum_by(pb.a_dem, x, pb.d.size)
    unmet = pb.d_all.copy()
    unmet[pb.reach] = np.maximum(pb.d - served, 0.0)
    pos = np.flatnonzero(x > 0.0)
    flows = ShelterFlows(pb.a_fac[pos].copy(), pb.reach[pb.a_dem[pos]], x[pos])
    open_cost = float(pb.f[is_open].sum())
    alloc_cost = float(pb.a_cost[pos] @ x[pos])
    objective = open_cost + alloc_cost + pb.pen * float(unmet.sum())
    floor = pb.const + pb.floor
    lower = min(max(lower, floor), objective)
    num = objective - lower
    gap = 0.0 if num <= pb.tol else num / max(objective - floor, pb.tol)
    return ShelterPlan(
        open=is_open, flows=flows, assigned=assigned, unmet=unmet, objective=objective, lower_bound=lower,
        gap=float(min(gap, 1.0)), method=method, seconds=time.perf_counter() - t0, open_cost=open_cost,
        allocation_cost=alloc_cost, unmet_penalty=pb.pen, penalty_floor=floor,
    )


def locate_shelters(
    cost: npt.ArrayLike,
    demand: npt.ArrayLike,
    capacity: npt.ArrayLike,
    open_cost: npt.ArrayLike,
    *,
    already_open: npt.ArrayLike | None = None,
    max_open: int | None = None,
    unmet_penalty: float | None = None,
    method: ShelterMethod | str = ShelterMethod.AUTO,
    time_limit_s: float = 60.0,
    max_arcs_per_demand: int | None = None,
) -> ShelterPlan:
    """Open shelters and allocate displaced people to them (see the module docstring).

    Parameters
    ----------
    cost : array_like, shape (n_candidates, n_demand)
        Cost per person of sending demand point ``j``'s people to candidate
        ``i`` (any unit: seconds, metres); ``>= 0``, ``inf`` = forbidden.
    demand : array_like, shape (n_demand,)
        Displaced people per demand point, finite, ``>= 0``.
    capacity : array_like, shape (n_candidates,)
        People per shelter, finite, ``>= 0``.
    open_cost : array_like, shape (n_candidates,)
        Fixed cost of opening, in the units of ``cost`` x people; finite, ``>= 0``.
    already_open : array_like of bool, shape (n_candidates,), optional
        Shelters that are open whatever the plan (their ``open_cost`` is counted as given).
    max_open : int, optional
        At most this many shelters open (``already_open`` included).
    unmet_penalty : float, optional
        Cost per person left without a shelter; default: serve whenever capacity and reach allow.
    method : {"auto", "heuristic", "exact"}
        ``"auto"``: exact when ``n_candidates * n_demand <= AUTO_EXACT_MAX_CELLS``.
    time_limit_s : float
        Exact: the MILP's time limit (the best plan found is returned with its
        proven gap).  Heuristic: its budget (step 4 and 5 stop at it).
    max_arcs_per_demand : int, optional
        Keep only each demand point's ``k`` cheapest feasible candidates (restricts the problem).

    Returns
    -------
    ShelterPlan

    Notes
    -----
    The cost matrix is dense; memory is about ``20 n_candidates n_demand``
    bytes while preparing, plus ``n_candidates**2`` bytes.  When the MILP finds
    no plan within ``time_limit_s`` the heuristic's plan is returned (``method``
    says which).  On larger instances where capacity or ``max_open`` leave
    people unserved, the subgradient bound resolves the avoidable part of the
    cost poorly, so ``gap`` can read up to 1 although the plan is good.
    """
    t0 = time.perf_counter()
    try:
        how = ShelterMethod(method)
    except ValueError:
        raise ValueError(f"method must be one of {[e.value for e in ShelterMethod]}, got {method!r}") from None
    limit = float(time_limit_s)
    if not math.isfinite(limit) or limit <= 0.0:
        raise ValueError(f"time_limit_s must be finite and > 0, got {time_limit_s!r}")
    pb = _prepare(cost, demand, capacity, open_cost, already_open, max_open, unmet_penalty, max_arcs_per_demand)
    if how is ShelterMethod.AUTO:
        cells = pb.m * pb.d_all.size
        how = ShelterMethod.EXACT if cells <= AUTO_EXACT_MAX_CELLS else ShelterMethod.HEURISTIC
    if how is ShelterMethod.EXACT:
        found = _exact(pb, limit)
        if found is not None:
            is_open, low = found
            return _plan(pb, _allocate(pb, is_open), low + pb.const, how, t0)
        how = ShelterMethod.HEURISTIC  # no feasible point within the time limit
    al, low = _heuristic(pb, t0 + limit)
    return _plan(pb, al, low + pb.const, how, t0)
