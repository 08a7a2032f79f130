"""The shelter problem: validation, arcs, the allocation LP and the exact MILP.

Private part of :mod:`quakewatch.ext.shelter_location` (equations and
references in its docstring); the heuristic search is
:mod:`quakewatch.ext._shelter_search`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_MIP_REL_GAP: Final = 1e-7
_DUAL_STEPS: Final = 12  # Polyak steps of the capacity-price check of a move
_TOL: Final = 1e-9  # relative to the problem's cost scale


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
