"""Rescue teams to sites: exact minimum-cost assignment with typed slots.

Issue "[5] Emergency plans as data, plan activation and resource dispatch",
dispatch part.  Arrays in, a frozen dataclass out; numpy/scipy only.  All
arithmetic is float64, inputs are never modified, and invalid input raises
:class:`ValueError` naming the argument and the limit.

Problem
-------
Team ``i`` has a type ``k(i)`` and leaves after ``readiness_s[i]``; it
arrives at site ``j`` at ``a_ij = readiness_s[i] + travel_time_s[i, j]``.
Site ``j`` needs ``n_kj`` teams of type ``k`` (``site_need``): ``n_kj``
*slots*.  A team fills at most one slot, of its own type; a slot takes at
most one team; ``a_ij > deadline_s[j]`` (or an infinite travel time) forbids
the pair.  Minimise::

    sum over assigned (i, j) of a_ij  +  P * sum over unfilled slots of w_j

with ``w_j = site_priority[j]`` and ``P = unmet_penalty_s``.  A team may
stay idle at no cost.

Default penalty
    ``P = (n_teams * A + 1) / min(1, w_min)`` with ``A`` the largest feasible
    arrival and ``w_min`` the smallest positive priority.  Two assignments
    differ in arrival sums by at most ``n_teams * A < P min(1, w_min)``, so
    whenever their filled priority totals differ by at least ``min(1,
    w_min)`` -- always, when the priorities are equal or integers -- the one
    that fills more wins: the priority-weighted number of filled slots is
    maximised first, then the sum of arrivals is minimised.  Slots of
    priority 0 carry no penalty, so they are never filled.  The large ``P``
    costs precision: arrival sums are exact to about ``1e-16 P``.

Why one rectangular assignment is exact
---------------------------------------
Types share nothing (a team fills only slots of its type), so the problem
splits into one independent problem per type.  For type ``k`` with ``m``
teams, build the ``m x (S + m)`` matrix: column ``s`` (a slot at site
``j``) costs ``a_ij - P w_j`` (``inf`` when forbidden), each of the ``m``
idle columns costs 0.  A row-complete matching (every team one column, no
column twice) is exactly a feasible dispatch: teams on slot columns are
assigned, the others idle on distinct idle columns, of which there are
enough.  Its cost is ``objective - P sum_slots w_j``, a constant shift, so a
minimum-cost matching is an optimal dispatch.  ``linear_sum_assignment``
(shortest augmenting paths, [Cr16]_) returns a minimum-cost matching
exactly; at least one finite matching (all idle) always exists.  Two exact
reductions keep the matrix small: a site never gets more than ``m`` teams
of a type (slots capped at ``m``), and sites no team of the type can reach
in time get no columns.

References
----------
.. [Cr16] Crouse, D. F. (2016). On implementing 2D rectangular assignment
   algorithms. IEEE Transactions on Aerospace and Electronic Systems 52(4),
   1679-1696 (the algorithm of ``scipy.optimize.linear_sum_assignment``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

__all__ = ["TEAM_ASSIGNMENT_ALGORITHM_VERSION", "TeamAssignment", "assign_teams"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Bump when a definition in the module docstring changes (goes into provenance).
TEAM_ASSIGNMENT_ALGORITHM_VERSION: Final = "1"


@dataclass(frozen=True, slots=True, eq=False)
class TeamAssignment:
    """Result of :func:`assign_teams`.

    Attributes
    ----------
    site : ndarray of int64, shape (n_teams,)
        Site of each team, -1 when idle.
    arrival_s : ndarray of float64, shape (n_teams,)
        Readiness + travel time (s); NaN when idle.
    unfilled : mapping str -> ndarray of int64, shape (n_sites,)
        Slots left unfilled per team type (every type of ``site_need``).
    objective : float
        Sum of arrivals + ``unmet_penalty_s`` x priority of each unfilled slot (s).
    unmet_penalty_s : float
        The penalty used (given or default, see the module docstring).
    algorithm_version : str
        :data:`TEAM_ASSIGNMENT_ALGORITHM_VERSION`.
    """

    site: IntArray
    arrival_s: FloatArray
    unfilled: Mapping[str, IntArray]
    objective: float
    unmet_penalty_s: float
    algorithm_version: str = TEAM_ASSIGNMENT_ALGORITHM_VERSION


def _site_vector(name: str, value: npt.ArrayLike, n_sites: int) -> FloatArray:
    a = np.array(value, dtype=np.float64)
    if a.ndim == 0:
        a = np.full(n_sites, float(a))
    if a.shape != (n_sites,):
        raise ValueError(f"{name} must be a scalar or have shape (n_sites,) = ({n_sites},), got {a.shape}")
    return a


def _needs(site_need: Mapping[str, npt.ArrayLike], n_sites: int) -> dict[str, IntArray]:
    if not isinstance(site_need, Mapping):
        raise ValueError(f"site_need must be a mapping team type -> (n_sites,) counts, got {type(site_need).__name__}")
    out: dict[str, IntArray] = {}
    for kind, need in site_need.items():
        if not (isinstance(kind, str) and kind):
            raise ValueError(f"site_need keys must be non-empty team-type strings, got {kind!r}")
        a = np.asarray(need)
        if a.shape != (n_sites,):
            raise ValueError(f"site_need[{kind!r}] must have shape (n_sites,) = ({n_sites},), got {a.shape}")
        if a.size and a.dtype.kind not in "iuf":
            raise ValueError(f"site_need[{kind!r}] must hold numbers, got dtype {a.dtype}")
        f = a.astype(np.float64)
        if not (np.isfinite(f).all() and (f >= 0.0).all() and (f == np.floor(f)).all() and (f < 2.0**53).all()):
            raise ValueError(f"site_need[{kind!r}] must hold non-negative integers")
        out[kind] = f.astype(np.int64)
    return out


def assign_teams(
    travel_time_s: npt.ArrayLike,
    *,
    team_type: Sequence[str],
    readiness_s: npt.ArrayLike,
    site_need: Mapping[str, npt.ArrayLike],
    site_priority: npt.ArrayLike | None = None,
    deadline_s: npt.ArrayLike | None = None,
    unmet_penalty_s: float | None = None,
) -> TeamAssignment:
    """Assign rescue teams to sites, exactly (see the module docstring).

    Parameters
    ----------
    travel_time_s : array_like, shape (n_teams, n_sites)
        Travel time of each team to each site (s), >= 0; ``inf``: cannot reach.
    team_type : sequence of str, shape (n_teams,)
        Type of each team (e.g. ``"usar_heavy"``, ``"medical"``).
    readiness_s : array_like, shape (n_teams,)
        Time before each team can leave (s), finite and >= 0.
    site_need : mapping str -> array_like of int, shape (n_sites,)
        Number of teams of each type each site needs, >= 0.
    site_priority : array_like, shape (n_sites,), optional
        Weight of a site's unfilled slots, finite and >= 0 (default 1).
    deadline_s : float or array_like, shape (n_sites,), optional
        Latest useful arrival per site (s), >= 0 (``inf``: none; default none).
    unmet_penalty_s : float, optional
        Penalty per unfilled slot and unit priority (s), finite and > 0.
        Default: large enough to fill as many slots as possible first.

    Returns
    -------
    TeamAssignment
    """
    t = np.array(travel_time_s, dtype=np.float64)
    if t.ndim != 2:
        raise ValueError(f"travel_time_s must be 2-D (n_teams, n_sites), got shape {t.shape}")
    n_teams, n_sites = t.shape
    if np.isnan(t).any() or (t < 0.0).any():
        raise ValueError("travel_time_s must be >= 0 (inf: cannot reach), without NaN")
    if isinstance(team_type, str):
        raise ValueError("team_type must be a sequence of strings, one per team, not one string")
    types = list(team_type)
    if len(types) != n_teams:
        raise ValueError(f"team_type must have n_teams = {n_teams} entries, got {len(types)}")
    if not all(isinstance(k, str) and k for k in types):
        raise ValueError("team_type must hold non-empty strings")
    ready = np.array(readiness_s, dtype=np.float64)
    if ready.shape != (n_teams,):
        raise ValueError(f"readiness_s must have shape (n_teams,) = ({n_teams},), got {ready.shape}")
    if not (np.isfinite(ready).all() and (ready >= 0.0).all()):
        raise ValueError("readiness_s must be finite and >= 0")
    need = _needs(site_need, n_sites)
    prio = np.ones(n_sites) if site_priority is None else np.array(site_priority, dtype=np.float64)
    if prio.shape != (n_sites,):
        raise ValueError(f"site_priority must have shape (n_sites,) = ({n_sites},), got {prio.shape}")
    if not (np.isfinite(prio).all() and (prio >= 0.0).all()):
        raise ValueError("site_priority must be finite and >= 0")
    deadline = np.full(n_sites, np.inf) if deadline_s is None else _site_vector("deadline_s", deadline_s, n_sites)
    if np.isnan(deadline).any() or (deadline < 0.0).any():
        raise ValueError("deadline_s must be >= 0 (inf: no deadline), without NaN")
    penalty = math.nan
    if unmet_penalty_s is not None:
        penalty = float(unmet_penalty_s)
        if not (math.isfinite(penalty) and penalty > 0.0):
            raise ValueError(f"unmet_penalty_s must be finite and > 0, got {unmet_penalty_s!r}")

    type_arr = np.array(types, dtype=object)
    teams_of = {k: np.flatnonzero(type_arr == k) for k in need}
    # feasible arrivals per type, on the sites that need that type
    blocks: dict[str, tuple[IntArray, FloatArray]] = {}
    a_max = 0.0
    for k, teams in teams_of.items():
        sites = np.flatnonzero(need[k] > 0)
        if teams.size == 0 or sites.size == 0:
            continue
        arr = ready[teams, None] + t[np.ix_(teams, sites)]
        arr[~(np.isfinite(arr) & (arr <= deadline[sites]))] = np.inf
        reach = np.isfinite(arr).any(axis=0)
        sites, arr = sites[reach], arr[:, reach]
        if sites.size == 0:
            continue
        blocks[k] = (sites, arr)
        a_max = max(a_max, float(arr[np.isfinite(arr)].max()))
    if unmet_penalty_s is None:
        positive = prio[prio > 0.0]
        w_min = float(positive.min()) if positive.size else 1.0
        penalty = (n_teams * a_max + 1.0) / min(1.0, w_min)

    site_of = np.full(n_teams, -1, dtype=np.int64)
    arrival = np.full(n_teams, np.nan)
    unfilled: dict[str, IntArray] = {}
    objective = 0.0
    for k in need:
        left = need[k].copy()
        if k in blocks:
            teams = teams_of[k]
            sites, arr = blocks[k]
            m = teams.size
            reps = np.minimum(left[sites], m)
            slot_site = np.repeat(np.arange(sites.size), reps)
            cost = np.zeros((m, slot_site.size + m))
            cost[:, : slot_site.size] = (arr - penalty * prio[sites])[:, slot_site]
            rows, cols = linear_sum_assignment(cost)
            on_slot = cols < slot_site.size
            r, c = rows[on_slot], slot_site[cols[on_slot]]
            site_of[teams[r]] = sites[c]
            arrival[teams[r]] = arr[r, c]
            np.subtract.at(left, sites[c], 1)
            objective += float(arr[r, c].sum())
        unfilled[k] = left
        objective += penalty * float(np.dot(left.astype(np.float64), prio))
    return TeamAssignment(
        site=site_of, arrival_s=arrival, unfilled=MappingProxyType(unfilled), objective=objective,
        unmet_penalty_s=penalty,
    )
