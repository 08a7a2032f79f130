"""Tests for quakewatch.ext.team_assignment.

Oracles: the slot formulation written out here as a linear programme and solved
by scipy's HiGHS (``linprog``; the bipartite matching polytope is integral, so
the LP optimum is the integer optimum), a networkx network-simplex min-cost
flow on integer data, brute-force enumeration of every dispatch on tiny cases,
and hand-worked examples.
"""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from quakewatch.ext.team_assignment import assign_teams


def instance(seed: int, n_teams: int, n_sites: int, kinds: tuple[str, ...], integer: bool = False) -> dict:
    """Random instance with unreachable pairs, deadlines, priorities and needs 0-2."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(60.0, 3600.0, (n_teams, n_sites))
    if integer:
        t = np.round(t)
    t[rng.random(t.shape) < 0.25] = np.inf
    ready = rng.choice([0.0, 300.0, 900.0], n_teams) if integer else rng.uniform(0.0, 900.0, n_teams)
    types = [kinds[i] for i in rng.integers(0, len(kinds), n_teams)]
    need = {k: rng.integers(0, 3, n_sites) for k in kinds}
    prio = rng.choice([1.0, 2.0, 3.0], n_sites) if integer else rng.choice([0.0, 0.5, 1.0, 2.5], n_sites)
    deadline = np.where(rng.random(n_sites) < 0.4, rng.uniform(1000.0, 3000.0, n_sites), np.inf)
    if integer:
        deadline = np.round(deadline)
    return dict(travel_time_s=t, team_type=types, readiness_s=ready, site_need=need, site_priority=prio,
                deadline_s=deadline)


def default_penalty(inst: dict) -> float:
    """The documented default: (n_teams * A + 1) / min(1, smallest positive priority)."""
    t, ready, types = inst["travel_time_s"], inst["readiness_s"], inst["team_type"]
    a_max = 0.0
    for i in range(t.shape[0]):
        for j in range(t.shape[1]):
            a = ready[i] + t[i, j]
            needed = inst["site_need"].get(types[i], np.zeros(t.shape[1]))[j] > 0
            if needed and math.isfinite(a) and a <= inst["deadline_s"][j]:
                a_max = max(a_max, a)
    w = [p for p in inst["site_priority"] if p > 0]
    return (t.shape[0] * a_max + 1.0) / min(1.0, min(w) if w else 1.0)


def lp_objective(inst: dict, penalty: float) -> float:
    """min sum (a_ij - P w_j) x_{i,s} + P sum_s w_s over the slot formulation (HiGHS)."""
    t, ready, types = inst["travel_time_s"], inst["readiness_s"], inst["team_type"]
    prio, deadline, need = inst["site_priority"], inst["deadline_s"], inst["site_need"]
    slots = [(k, j) for k in need for j in range(t.shape[1]) for _ in range(int(need[k][j]))]
    const = penalty * sum(prio[j] for _, j in slots)
    var_team, var_slot, cost = [], [], []
    for i in range(t.shape[0]):
        for s, (k, j) in enumerate(slots):
            a = ready[i] + t[i, j]
            if types[i] == k and math.isfinite(a) and a <= deadline[j]:
                var_team.append(i)
                var_slot.append(s)
                cost.append(a - penalty * prio[j])
    if not cost:
        return const
    n = len(cost)
    rows = np.r_[var_team, t.shape[0] + np.asarray(var_slot)]
    a_ub = coo_matrix((np.ones(2 * n), (rows, np.r_[np.arange(n), np.arange(n)])), shape=(t.shape[0] + len(slots), n))
    res = linprog(cost, A_ub=a_ub.tocsr(), b_ub=np.ones(t.shape[0] + len(slots)), bounds=(0, 1), method="highs")
    assert res.status == 0
    return float(res.fun) + const


def check_feasible(inst: dict, res) -> None:
    """The dispatch obeys every rule, and its objective is what it reports."""
    t, ready, types = inst["travel_time_s"], inst["readiness_s"], inst["team_type"]
    need, prio, deadline = inst["site_need"], inst["site_priority"], inst["deadline_s"]
    used = {k: np.zeros(t.shape[1], dtype=int) for k in need}
    total = 0.0
    for i, j in enumerate(res.site):
        if j < 0:
            assert math.isnan(res.arrival_s[i])
            continue
        assert types[i] in need
        a = ready[i] + t[i, j]
        assert res.arrival_s[i] == a and math.isfinite(a) and a <= deadline[j]
        used[types[i]][j] += 1
        total += a
    for k in need:
        assert (used[k] <= need[k]).all()
        np.testing.assert_array_equal(res.unfilled[k], need[k] - used[k])
        total += res.unmet_penalty_s * float(np.dot(need[k] - used[k], prio))
    assert res.objective == pytest.approx(total, rel=1e-12)


@pytest.mark.reference
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("penalty", [None, 1500.0], ids=["default-penalty", "penalty-1500s"])
def test_objective_equals_the_lp_optimum(seed: int, penalty: float | None) -> None:
    inst = instance(seed, n_teams=12, n_sites=7, kinds=("usar", "medical", "engineer"))
    res = assign_teams(**inst, unmet_penalty_s=penalty)
    p = default_penalty(inst) if penalty is None else penalty
    assert res.unmet_penalty_s == pytest.approx(p, rel=1e-12)
    check_feasible(inst, res)
    assert res.objective == pytest.approx(lp_objective(inst, p), rel=1e-9)


@pytest.mark.reference
@pytest.mark.parametrize("seed", range(4))
def test_objective_equals_networkx_min_cost_flow(seed: int) -> None:
    inst = instance(50 + seed, n_teams=10, n_sites=6, kinds=("usar", "medical"), integer=True)
    penalty = 20_000.0
    res = assign_teams(**inst, unmet_penalty_s=penalty)
    t, ready, types = inst["travel_time_s"], inst["readiness_s"], inst["team_type"]
    g = nx.DiGraph()
    n = t.shape[0]
    g.add_node("source", demand=-n)
    g.add_node("sink", demand=n)
    for i in range(n):
        g.add_edge("source", ("team", i), capacity=1, weight=0)
        g.add_edge(("team", i), "sink", capacity=1, weight=0)  # idle
        for j in range(t.shape[1]):
            a = ready[i] + t[i, j]
            if inst["site_need"][types[i]][j] > 0 and math.isfinite(a) and a <= inst["deadline_s"][j]:
                g.add_edge(("team", i), (types[i], j), capacity=1, weight=int(a - penalty * inst["site_priority"][j]))
    for k, need in inst["site_need"].items():
        for j in range(t.shape[1]):
            if need[j] > 0:
                g.add_edge((k, j), "sink", capacity=int(need[j]), weight=0)
    cost, _ = nx.network_simplex(g)
    const = penalty * sum(float(np.dot(need, inst["site_priority"])) for need in inst["site_need"].values())
    assert res.objective == pytest.approx(cost + const, rel=1e-12)
    check_feasible(inst, res)


def brute_force(inst: dict, penalty: float) -> float:
    t, ready, types = inst["travel_time_s"], inst["readiness_s"], inst["team_type"]
    need, prio, deadline = inst["site_need"], inst["site_priority"], inst["deadline_s"]
    n_teams, n_sites = t.shape
    best = math.inf
    for choice in itertools.product(range(-1, n_sites), repeat=n_teams):
        used = {k: np.zeros(n_sites, dtype=int) for k in need}
        total, ok = 0.0, True
        for i, j in enumerate(choice):
            if j < 0:
                continue
            a = ready[i] + t[i, j]
            if types[i] not in need or not (math.isfinite(a) and a <= deadline[j]):
                ok = False
                break
            used[types[i]][j] += 1
            total += a
        if not ok or any((used[k] > need[k]).any() for k in need):
            continue
        total += penalty * sum(float(np.dot(need[k] - used[k], prio)) for k in need)
        best = min(best, total)
    return best


@pytest.mark.reference
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("penalty", [None, 800.0], ids=["default-penalty", "penalty-800s"])
def test_objective_equals_brute_force(seed: int, penalty: float | None) -> None:
    inst = instance(200 + seed, n_teams=5, n_sites=3, kinds=("usar", "medical"))
    res = assign_teams(**inst, unmet_penalty_s=penalty)
    p = default_penalty(inst) if penalty is None else penalty
    assert res.objective == pytest.approx(brute_force(inst, p), rel=1e-12)
    check_feasible(inst, res)


@pytest.mark.reference
def test_greedy_trap_by_hand() -> None:
    # A is 10 s from site 0 and 11 s from site 1; B 12 s and 100 s.  Nearest-first sends
    # A to 0 and B to 1 (110 s); the optimum is A -> 1, B -> 0 (23 s).
    res = assign_teams([[10.0, 11.0], [12.0, 100.0]], team_type=["u", "u"], readiness_s=[0.0, 0.0],
                       site_need={"u": [1, 1]})
    assert res.site.tolist() == [1, 0]
    assert res.arrival_s.tolist() == [11.0, 12.0]
    assert res.objective == 23.0
    assert res.unfilled["u"].tolist() == [0, 0]


@pytest.mark.reference
def test_readiness_priority_deadline_and_idle_by_hand() -> None:
    # one team: site 0 (priority 1) 100 s away, site 1 (priority 3) 900 s away -> goes to site 1
    res = assign_teams([[100.0, 900.0]], team_type=["u"], readiness_s=[60.0], site_need={"u": [1, 1]},
                       site_priority=[1.0, 3.0], unmet_penalty_s=1000.0)
    assert res.site.tolist() == [1] and res.arrival_s.tolist() == [960.0]
    assert res.objective == 960.0 + 1000.0 * 1.0
    # a deadline of 900 s at site 1 rules it out (arrival 960 s): site 0 instead
    res = assign_teams([[100.0, 900.0]], team_type=["u"], readiness_s=[60.0], site_need={"u": [1, 1]},
                       site_priority=[1.0, 3.0], deadline_s=[np.inf, 900.0], unmet_penalty_s=1000.0)
    assert res.site.tolist() == [0] and res.objective == 160.0 + 3000.0
    # a penalty below the arrival time: staying idle is cheaper
    res = assign_teams([[100.0]], team_type=["u"], readiness_s=[0.0], site_need={"u": [1]}, unmet_penalty_s=50.0)
    assert res.site.tolist() == [-1] and math.isnan(res.arrival_s[0]) and res.objective == 50.0
    # priority 0: never filled; a team type nobody needs stays idle; a needed type without teams is unfilled
    res = assign_teams([[10.0, 20.0], [5.0, 5.0]], team_type=["u", "dog"], readiness_s=[0.0, 0.0],
                       site_need={"u": [1, 1], "medical": [0, 2]}, site_priority=[0.0, 1.0])
    assert res.site.tolist() == [1, -1]
    assert res.unfilled["u"].tolist() == [1, 0] and res.unfilled["medical"].tolist() == [0, 2]
    assert set(res.unfilled) == {"u", "medical"}
    assert res.objective == 20.0 + res.unmet_penalty_s * 2.0


@pytest.mark.reference
def test_default_penalty_fills_as_many_slots_as_possible() -> None:
    # Two teams, two sites.  Filling both needs team 0 on its 10,000 s trip; with a penalty of
    # 5,000 s the cheaper plan leaves a slot unfilled, with the default both are filled.
    t = [[10.0, 10_000.0], [20.0, np.inf]]
    res = assign_teams(t, team_type=["u", "u"], readiness_s=[0.0, 0.0], site_need={"u": [1, 1]})
    assert res.site.tolist() == [1, 0] and res.objective == 10_020.0
    assert res.unmet_penalty_s == (2 * 10_000.0 + 1.0) / 1.0
    cheap = assign_teams(t, team_type=["u", "u"], readiness_s=[0.0, 0.0], site_need={"u": [1, 1]},
                         unmet_penalty_s=5000.0)
    assert cheap.site.tolist() == [0, -1] and cheap.objective == 10.0 + 5000.0


def test_many_slots_at_one_site_and_no_needs() -> None:
    res = assign_teams(np.full((3, 1), 30.0), team_type=["u"] * 3, readiness_s=[0.0, 10.0, 20.0], site_need={"u": [50]})
    assert res.site.tolist() == [0, 0, 0] and res.unfilled["u"].tolist() == [47]
    empty = assign_teams(np.zeros((2, 0)), team_type=["u", "u"], readiness_s=[0.0, 0.0],
                         site_need={"u": np.zeros(0, int)})
    assert empty.site.tolist() == [-1, -1] and empty.objective == 0.0


def test_inputs_are_not_mutated() -> None:
    inst = instance(7, n_teams=9, n_sites=5, kinds=("usar", "medical"))
    t, ready, prio, deadline = (inst[k].copy() for k in ("travel_time_s", "readiness_s", "site_priority", "deadline_s"))
    need = {k: v.copy() for k, v in inst["site_need"].items()}
    res = assign_teams(**inst)
    assert np.array_equal(inst["travel_time_s"], t) and np.array_equal(inst["readiness_s"], ready)
    assert np.array_equal(inst["site_priority"], prio) and np.array_equal(inst["deadline_s"], deadline)
    assert all(np.array_equal(inst["site_need"][k], need[k]) for k in need)
    assert res.site.dtype == np.int64 and res.arrival_s.dtype == np.float64


BASE = dict(travel_time_s=[[1.0, 2.0], [3.0, 4.0]], team_type=["u", "m"], readiness_s=[0.0, 0.0],
            site_need={"u": [1, 0], "m": [0, 1]})


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (dict(travel_time_s=[1.0, 2.0]), r"travel_time_s must be 2-D \(n_teams, n_sites\)"),
        (dict(travel_time_s=[[1.0, -2.0], [3.0, 4.0]]), r"travel_time_s must be >= 0"),
        (dict(travel_time_s=[[1.0, np.nan], [3.0, 4.0]]), r"travel_time_s must be >= 0 \(inf: cannot reach\), without"),
        (dict(team_type=["u"]), r"team_type must have n_teams = 2 entries, got 1"),
        (dict(team_type="um"), r"team_type must be a sequence of strings"),
        (dict(team_type=["u", ""]), r"team_type must hold non-empty strings"),
        (dict(readiness_s=[0.0, -1.0]), r"readiness_s must be finite and >= 0"),
        (dict(readiness_s=[0.0]), r"readiness_s must have shape \(n_teams,\) = \(2,\)"),
        (dict(site_need={"u": [1]}), r"site_need\['u'\] must have shape \(n_sites,\) = \(2,\)"),
        (dict(site_need={"u": [1.5, 0]}), r"site_need\['u'\] must hold non-negative integers"),
        (dict(site_need={"u": [-1, 0]}), r"site_need\['u'\] must hold non-negative integers"),
        (dict(site_need={"u": ["a", "b"]}), r"site_need\['u'\] must hold numbers"),
        (dict(site_need=[[1, 0]]), r"site_need must be a mapping"),
        (dict(site_need={3: [1, 0]}), r"site_need keys must be non-empty team-type strings"),
        (dict(site_priority=[1.0, -1.0]), r"site_priority must be finite and >= 0"),
        (dict(site_priority=[1.0]), r"site_priority must have shape \(n_sites,\) = \(2,\)"),
        (dict(deadline_s=-5.0), r"deadline_s must be >= 0"),
        (dict(deadline_s=[1.0, 2.0, 3.0]), r"deadline_s must be a scalar or have shape \(n_sites,\) = \(2,\)"),
        (dict(unmet_penalty_s=0.0), r"unmet_penalty_s must be finite and > 0"),
        (dict(unmet_penalty_s=np.inf), r"unmet_penalty_s must be finite and > 0"),
    ],
    ids=["travel-1d", "travel-negative", "travel-nan", "type-length", "type-string", "type-empty", "readiness",
         "readiness-shape", "need-shape", "need-fraction", "need-negative", "need-strings", "need-mapping", "need-key",
         "priority", "priority-shape", "deadline", "deadline-shape", "penalty-zero", "penalty-inf"],
)
def test_rejects_bad_input(change: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        assign_teams(**{**BASE, **change})
