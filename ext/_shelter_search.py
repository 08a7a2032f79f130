"""The shelter heuristic: Lagrangian bound, roundings and local search.

Private part of :mod:`quakewatch.ext.shelter_location` (the method is described
in its docstring).
"""

from __future__ import annotations

import math
import time
from typing import Final

import numpy as np

from ._shelter_model import (
    BoolArray,
    FloatArray,
    IntArray,
    _Alloc,
    _allocate,
    _lp_relaxation,
    _Problem,
    _sum_by,
    _try,
)

_SUBGRAD_ITERS: Final = 150
_POLISH_ITERS: Final = 60
_STALL: Final = 6  # steps without progress before the step length is halved
_LP_MAX_ARCS: Final = 10_000  # up to this: LP relaxation by HiGHS, all starts, best improvement
_MARGINS: Final = (0.0, 0.03)  # capacity margins of the roundings
_RANDOM_ROUNDINGS: Final = 4
_SEED: Final = 20240501
_PATIENCE: Final = 2  # larger instances: moves in a row without improvement, per candidate


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
