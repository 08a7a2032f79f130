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

from ._shelter_model import _Alloc, _allocate, _exact, _prepare, _Problem, _sum_by
from ._shelter_search import _heuristic

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
