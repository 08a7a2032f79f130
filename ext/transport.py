"""Relief-supply dispatch as a multi-commodity transportation LP, solved exactly with HiGHS.

Issue "[5] Emergency plans as data, plan activation and resource dispatch".
Arrays in, a frozen dataclass out; numpy and scipy only.  Inputs are never
modified, all arithmetic is float64, and bad input raises :class:`ValueError`
naming the argument and the limit.

Model
-----
Depots ``i`` hold ``supply[i, c]`` units of commodity ``c``; demand points
``j`` need ``demand[j, c]``.  Shipping one unit of ``c`` on arc ``(i, j)``
costs ``weight[c] * cost[i, j]`` (``cost`` in money, metres or seconds: the
caller's objective; ``weight`` e.g. tonnes per unit, default 1); an arc whose
cost is ``inf`` is forbidden (unreachable, a closed road, or longer than the
relief deadline).  Every unit of demand left unserved costs
``shortage_penalty[c]``::

    minimise   sum_c sum_ij weight_c cost_ij x_ijc + sum_c sum_j p_c u_jc
    subject to sum_j x_ijc <= supply_ic                (each depot, commodity)
               sum_i x_ijc + u_jc = demand_jc          (each demand point, commodity)
               x >= 0, u >= 0

(the Hitchcock transportation problem with slack for shortages [Hit41]_).
The commodities share no constraint, so the problem separates into one LP per
commodity; their optima add up to the joint optimum exactly.

Vehicle capacity (optional)
    Each depot's fleet can move ``fleet_i`` tonne-hours within the relief
    horizon (vehicles x capacity in tonnes x horizon in hours); a tonne sent on
    arc ``(i, j)`` uses ``load_ij`` vehicle hours (the round trip)::

        sum_j sum_c unit_tonnes_c load_ij x_ijc <= fleet_i

    a continuous (fluid) model of repeated trips, as in the vehicle-flow
    relaxations of emergency logistics planning [Ozd04]_.  The row couples the
    commodities, so they are solved as one LP, priced the same way (the fleet
    dual enters the reduced cost).

Default shortage penalty
    ``2 (min(n_depots, n_demand) + 1) max_ij weight_c cost_ij``: larger than the
    cost of any alternating chain of re-routings, so the plan first serves as
    much as supply and reachability allow, then does so at least cost.  A
    smaller penalty (given by the user) trades coverage against cost.

Exact solution on a pruned arc set (column generation)
    Far depots rarely serve a point, so each commodity's LP is first solved on
    the ``k`` cheapest arcs of every demand point (plus, for each depot, its
    ``k`` cheapest points, so every depot with stock can ship).  HiGHS returns the
    duals ``y_i <= 0`` of the supply rows and ``v_j`` of the demand rows; the
    restricted optimum is optimal for the full problem iff no left-out arc has
    a negative reduced cost ``weight_c cost_ij - y_i - v_j`` (LP duality,
    [Dan63]_ ch. 15).  Violating arcs are added and the LP solved again until
    none is left, so the answer is the optimum of the full LP, found on a small
    fraction of its columns.  Both the restricted LPs and the pricing are
    exact up to the solver's feasibility and optimality tolerances (1e-9
    here, relative to the data scale).

References
----------
.. [Hit41] Hitchcock, F. L. (1941).  The distribution of a product from several
   sources to numerous localities.  J. Math. Phys. 20, 224-230.
.. [Dan63] Dantzig, G. B. (1963).  Linear Programming and Extensions.  Princeton
   University Press.
.. [Ozd04] Ozdamar, L., Ekinci, E. and Kucukyazici, B. (2004).  Emergency
   logistics planning in natural disasters.  Annals of Operations Research 129,
   217-245.
.. [HiGHS] Huangfu, Q. and Hall, J. A. J. (2018).  Parallelizing the dual revised
   simplex method.  Math. Prog. Comp. 10, 119-142 (the solver behind
   ``scipy.optimize.linprog(method="highs")``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import linprog

__all__ = ["TransportPlan", "solve_transport"]

_DEFAULT_K = 8
_MAX_ROUNDS = 50
_TOL = 1e-9
# Devex pricing is 2-3x faster than HiGHS's default on these degenerate LPs with
# a large shortage penalty (measured in benchmarks/dispatch.py); presolve finds
# nothing to remove in a transportation tableau.
_HIGHS_OPTIONS = {"primal_feasibility_tolerance": _TOL, "dual_feasibility_tolerance": _TOL,
                  "simplex_dual_edge_weight_strategy": "devex", "presolve": False}


@dataclass(frozen=True)
class TransportPlan:
    """Optimal shipments.

    Attributes
    ----------
    objective : float
        ``sum weight * cost * quantity + sum penalty * unmet``.
    transport_cost : float
        The shipping part of the objective.
    depot, demand_point, commodity : ndarray of int64, shape (n_flows,)
        One row per positive shipment.
    quantity : ndarray of float64, shape (n_flows,)
    unmet : ndarray of float64, shape (n_demand, n_commodities)
        Demand left unserved (0 where met in full).
    shortage_penalty : ndarray of float64, shape (n_commodities,)
        The penalties used.
    arcs_priced, lp_rounds : int
        Columns in the final restricted LPs and LP solves done (all commodities).
    """

    objective: float
    transport_cost: float
    depot: npt.NDArray[np.int64]
    demand_point: npt.NDArray[np.int64]
    commodity: npt.NDArray[np.int64]
    quantity: npt.NDArray[np.float64]
    unmet: npt.NDArray[np.float64]
    shortage_penalty: npt.NDArray[np.float64]
    arcs_priced: int
    lp_rounds: int

    def shipped(self, n_depots: int, n_commodities: int) -> npt.NDArray[np.float64]:
        """Quantity leaving each depot, shape (n_depots, n_commodities)."""
        out = np.zeros((n_depots, n_commodities))
        np.add.at(out, (self.depot, self.commodity), self.quantity)
        return out


def _as_2d(name: str, a: npt.ArrayLike, rows: int | None) -> npt.NDArray[np.float64]:
    x = np.asarray(a, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, commodities), got shape {x.shape}")
    if rows is not None and x.shape[0] != rows:
        raise ValueError(f"{name} has {x.shape[0]} rows, cost needs {rows}")
    if not np.isfinite(x).all() or (x < 0).any():
        raise ValueError(f"{name} must be finite and >= 0")
    return x


def _check_cost(cost: npt.ArrayLike) -> npt.NDArray[np.float64]:
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"cost must be 2-D (n_depots, n_demand), got shape {c.shape}")
    if np.isnan(c).any() or (c < 0).any() or np.isneginf(c).any():
        raise ValueError("cost must be >= 0 (inf = forbidden arc), without NaN")
    return c


def _initial_arcs(finite: npt.NDArray[np.bool_], ranked: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.bool_]:
    """Mask of the k cheapest finite arcs per demand point and per depot."""
    n_dep, n_dem = ranked.shape
    keep = np.zeros_like(finite)
    kd = min(k, n_dep)
    if kd:
        part = np.argpartition(ranked, kd - 1, axis=0)[:kd] if kd < n_dep else np.broadcast_to(np.arange(n_dep)[:, None], (n_dep, n_dem))
        keep[part, np.arange(n_dem)[None, :]] = True
    kp = min(k, n_dem)
    if kp:
        part = np.argpartition(ranked, kp - 1, axis=1)[:, :kp] if kp < n_dem else np.broadcast_to(np.arange(n_dem)[None, :], (n_dep, n_dem))
        keep[np.arange(n_dep)[:, None], part] = True
    return keep & finite


def _solve_lp(cost: npt.NDArray[np.float64], finite: npt.NDArray[np.bool_], keep: npt.NDArray[np.bool_],
              supply: npt.NDArray[np.float64], demand: npt.NDArray[np.float64], penalty: npt.NDArray[np.float64],
              w: npt.NDArray[np.float64], vehicles: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]] | None,
              ) -> tuple[list[npt.NDArray[Any]], npt.NDArray[np.float64], float, int, int]:
    """The LP of ``supply.shape[1]`` commodities on the arcs in ``keep``, grown by pricing until optimal.

    ``vehicles`` = (unit_tonnes, load, fleet) adds the fleet rows that couple the
    commodities; without it one commodity is passed at a time.  Returns the flows
    (depot, point, commodity, quantity), the unmet demand (n_demand, n_commodities),
    the objective, the final number of arcs and the LP solves.
    """
    n_dep, n_dem = cost.shape
    n_com = supply.shape[1]
    keep = keep.copy()
    rounds = 0
    while True:
        rounds += 1
        ii, jj = np.nonzero(keep)
        n_arc = ii.size
        n_x = n_arc * n_com
        n_var = n_x + n_dem * n_com
        k_of = np.repeat(np.arange(n_com), n_arc)
        i_of, j_of = np.tile(ii, n_com), np.tile(jj, n_com)
        cols = np.arange(n_x)
        a_ub = sp.csr_array((np.ones(n_x), (k_of * n_dep + i_of, cols)), shape=(n_dep * n_com, n_var))
        b_ub = supply.T.ravel()
        if vehicles is not None:
            tonnes, load, fleet = vehicles
            a_fleet = sp.csr_array((tonnes[k_of] * load[i_of, j_of], (i_of, cols)), shape=(n_dep, n_var))
            a_ub, b_ub = sp.vstack([a_ub, a_fleet], format="csr"), np.concatenate([b_ub, fleet])
        u_rows = np.repeat(np.arange(n_com), n_dem) * n_dem + np.tile(np.arange(n_dem), n_com)
        a_eq = sp.csr_array((np.ones(n_var), (np.concatenate([k_of * n_dem + j_of, u_rows]), np.arange(n_var))),
                            shape=(n_dem * n_com, n_var))
        c = np.concatenate([w[k_of] * cost[i_of, j_of], np.repeat(penalty, n_dem)])
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=demand.T.ravel(), bounds=(0.0, None),
                      method="highs-ds", options=_HIGHS_OPTIONS)
        if res.status != 0:  # always feasible (u = demand) and bounded (c >= 0)
            raise RuntimeError(f"HiGHS failed on a transportation LP: {res.message}")
        y = res.ineqlin.marginals[: n_dep * n_com].reshape(n_com, n_dep)  # <= 0, supply rows
        v = res.eqlin.marginals.reshape(n_com, n_dem)  # demand rows
        if rounds >= _MAX_ROUNDS:
            break
        fleet_term = 0.0 if vehicles is None else load * res.ineqlin.marginals[n_dep * n_com:][:, None]
        scale = max(1.0, float(np.abs(v).max(initial=0.0)))
        violating = np.zeros_like(keep)
        with np.errstate(invalid="ignore"):
            for k in range(n_com):
                reduced = w[k] * cost - y[k][:, None] - v[k][None, :]
                if vehicles is not None:
                    reduced = reduced - vehicles[0][k] * fleet_term
                violating |= finite & ~keep & (reduced < -_TOL * 10 * scale)
        if not violating.any():
            break
        keep |= violating
    x = res.x[:n_x]
    pos = x > 0.0
    unmet = res.x[n_x:].reshape(n_com, n_dem).T
    return [i_of[pos], j_of[pos], k_of[pos], x[pos]], unmet, float(res.fun), int(keep.sum()), rounds


def solve_transport(
    cost: npt.ArrayLike,
    supply: npt.ArrayLike,
    demand: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    shortage_penalty: npt.ArrayLike | float | None = None,
    candidate_arcs: int = _DEFAULT_K,
    workers: int = 2,
    fleet: npt.ArrayLike | None = None,
    load: npt.ArrayLike | None = None,
    unit_tonnes: npt.ArrayLike | None = None,
) -> TransportPlan:
    """Least-cost shipments from depots to demand points (module docstring).

    Parameters
    ----------
    cost : array_like, shape (n_depots, n_demand)
        Cost per unit (before ``weight``) of each arc, >= 0; ``inf`` forbids it.
    supply : array_like, shape (n_depots, n_commodities)
        Stock available at each depot; 1-D means one commodity.
    demand : array_like, shape (n_demand, n_commodities)
    weight : array_like, shape (n_commodities,), optional
        Multiplier of ``cost`` per commodity (> 0), default 1.
    shortage_penalty : float or array_like, shape (n_commodities,), optional
        Cost per unit of unmet demand (> 0); default: the coverage-first value
        of the module docstring.
    candidate_arcs : int
        ``k`` of the initial arc set (>= 1); affects speed, never the answer.
    workers : int
        Commodities solved at once (threads); never changes the answer.
    fleet, load, unit_tonnes : array_like, optional
        Vehicle capacity (all three or none): ``fleet`` (n_depots,) tonne-hours
        each depot's vehicles can move within the relief horizon, ``load``
        (n_depots, n_demand) vehicle hours one tonne uses on the arc (the round
        trip, e.g. ``2 * travel_time_h``), ``unit_tonnes`` (n_commodities,)
        mass of one unit.  Adds ``sum_jc unit_tonnes_c load_ij x_ijc <= fleet_i``
        per depot; the commodities are then solved as one LP.
    """
    c = _check_cost(cost)
    n_dep, n_dem = c.shape
    s = _as_2d("supply", supply, n_dep)
    d = _as_2d("demand", demand, n_dem)
    if s.shape[1] != d.shape[1]:
        raise ValueError(f"supply has {s.shape[1]} commodities, demand has {d.shape[1]}")
    n_com = s.shape[1]
    w = np.ones(n_com) if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)
    if w.shape != (n_com,) or not (np.isfinite(w) & (w > 0)).all():
        raise ValueError(f"weight must be {n_com} finite values > 0")
    for name, v in (("candidate_arcs", candidate_arcs), ("workers", workers)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    finite = np.isfinite(c)
    max_cost = float(c[finite].max(initial=0.0))
    if shortage_penalty is None:
        p = 2.0 * (min(n_dep, n_dem) + 1) * max(max_cost, 1.0) * w
    else:
        p = np.broadcast_to(np.asarray(shortage_penalty, dtype=np.float64), (n_com,)).copy()
        if not (np.isfinite(p) & (p > 0)).all():
            raise ValueError("shortage_penalty must be finite and > 0")

    keep0 = _initial_arcs(finite, c, int(candidate_arcs))  # c is inf exactly where an arc is forbidden
    trivial = n_dem == 0 or n_dep == 0 or not finite.any()
    given = [x is not None for x in (fleet, load, unit_tonnes)]
    if any(given) and not all(given):
        raise ValueError("fleet, load and unit_tonnes go together (vehicle capacity)")
    if all(given) and not trivial:
        fl = np.asarray(fleet, dtype=np.float64).reshape(-1)
        ld = np.asarray(load, dtype=np.float64)
        tn = np.asarray(unit_tonnes, dtype=np.float64).reshape(-1)
        if fl.shape != (n_dep,) or not (np.isfinite(fl) & (fl >= 0)).all():
            raise ValueError(f"fleet must be {n_dep} finite values >= 0 (tonne-hours per depot)")
        if ld.shape != c.shape or np.isnan(ld).any() or (ld < 0).any():
            raise ValueError(f"load must have the shape of cost {c.shape}, values >= 0 (vehicle hours per tonne)")
        if tn.shape != (n_com,) or not (np.isfinite(tn) & (tn >= 0)).all():
            raise ValueError(f"unit_tonnes must be {n_com} finite values >= 0")
        fin = finite & np.isfinite(ld)
        (ii, jj, kk, x), u, fun, n_keep, r = _solve_lp(c, fin, keep0 & fin, s, d, p, w, (tn, np.where(fin, ld, 0.0), fl))
        u = np.clip(u, 0.0, None)
        u[u <= _TOL * max(1.0, float(d.max(initial=0.0)))] = 0.0
        return TransportPlan(objective=fun, transport_cost=float(np.dot(c[ii, jj] * w[kk], x)),
                             depot=ii.astype(np.int64), demand_point=jj.astype(np.int64), commodity=kk.astype(np.int64),
                             quantity=x, unmet=u, shortage_penalty=p, arcs_priced=n_keep * n_com, lp_rounds=r)

    def one(k: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.float64], float, int, int]:
        if trivial:
            none = np.zeros(0, np.intp)
            return none, none, np.zeros(0), d[:, k].copy(), float(p[k] * d[:, k].sum()), 0, 0
        (ii, jj, _, x), u, fun, n_keep, r = _solve_lp(c, finite, keep0, s[:, k:k + 1], d[:, k:k + 1], p[k:k + 1], w[k:k + 1], None)
        return ii, jj, x, u[:, 0], fun, n_keep, r

    # HiGHS releases the GIL: the separate commodity LPs run side by side
    if workers > 1 and n_com > 1 and not trivial:
        with ThreadPoolExecutor(min(workers, n_com)) as pool:
            solved = list(pool.map(one, range(n_com)))
    else:
        solved = [one(k) for k in range(n_com)]

    depots, points, coms, qty = [], [], [], []
    unmet = np.zeros((n_dem, n_com))
    objective = transport = 0.0
    priced = rounds = 0
    for k, (ii, jj, x, u, fun, n_keep, r) in enumerate(solved):
        u = np.clip(u, 0.0, None)
        u[u <= _TOL * max(1.0, float(d[:, k].max(initial=0.0)))] = 0.0
        depots.append(ii)
        points.append(jj)
        coms.append(np.full(ii.size, k))
        qty.append(x)
        unmet[:, k] = u
        objective += fun
        transport += float(np.dot(c[ii, jj] * w[k], x))
        priced += n_keep
        rounds += r

    def cat(parts: list[npt.NDArray[Any]], dt: type[np.generic]) -> npt.NDArray[Any]:
        return np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)

    return TransportPlan(
        objective=objective, transport_cost=transport,
        depot=cat(depots, np.int64), demand_point=cat(points, np.int64), commodity=cat(coms, np.int64),
        quantity=cat(qty, np.float64), unmet=unmet, shortage_penalty=p, arcs_priced=priced, lp_rounds=rounds,
    )
