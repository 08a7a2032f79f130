"""Tests for quakewatch.ext.transport (relief dispatch LP).

Oracles: networkx's network simplex (``nx.min_cost_flow``) on the same
instances written as a flow network with integer data (the transportation
polytope is integral, so the LP optimum is the min-cost-flow optimum), and
hand-solved two-depot instances.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from quakewatch.ext.transport import solve_transport


def _networkx_optimum(cost: np.ndarray, supply: np.ndarray, demand: np.ndarray, penalty: float) -> float:
    """One commodity: min-cost flow with a shortage arc per demand point (integer data)."""
    g = nx.DiGraph()
    total = int(demand.sum())
    g.add_node("src", demand=-total)
    g.add_node("short", demand=0)
    g.add_edge("src", "short", weight=0, capacity=total)
    for i, s in enumerate(supply):
        g.add_edge("src", f"d{i}", weight=0, capacity=int(s))
    for j, d in enumerate(demand):
        g.add_node(f"p{j}", demand=int(d))
        g.add_edge("short", f"p{j}", weight=int(penalty), capacity=int(d))
    for i in range(cost.shape[0]):
        for j in range(cost.shape[1]):
            if np.isfinite(cost[i, j]):
                g.add_edge(f"d{i}", f"p{j}", weight=int(cost[i, j]))
    flow = nx.min_cost_flow(g)
    return float(nx.cost_of_flow(g, flow))


@pytest.mark.reference
@pytest.mark.parametrize("seed", range(12))
def test_objective_equals_network_simplex(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_dep, n_dem, n_com = int(rng.integers(2, 9)), int(rng.integers(5, 60)), int(rng.integers(1, 4))
    cost = rng.integers(1, 100, (n_dep, n_dem)).astype(float)
    cost[rng.random(cost.shape) < 0.2] = np.inf  # forbidden arcs (closed roads, beyond the deadline)
    supply = rng.integers(0, 60, (n_dep, n_com)).astype(float)
    demand = rng.integers(0, 12, (n_dem, n_com)).astype(float)
    penalty = np.full(n_com, 1000.0)
    plan = solve_transport(cost, supply, demand, shortage_penalty=penalty, candidate_arcs=2)
    expected = sum(_networkx_optimum(cost, supply[:, k], demand[:, k], 1000.0) for k in range(n_com))
    assert plan.objective == pytest.approx(expected, rel=1e-9)
    # flows feasible: stocks respected, demand met or reported unmet
    shipped = plan.shipped(n_dep, n_com)
    assert (shipped <= supply + 1e-9).all()
    received = np.zeros((n_dem, n_com))
    np.add.at(received, (plan.demand_point, plan.commodity), plan.quantity)
    np.testing.assert_allclose(received + plan.unmet, demand, atol=1e-9)
    assert np.isfinite(cost[plan.depot, plan.demand_point]).all()


@pytest.mark.reference
def test_hand_solved_two_depots() -> None:
    # depot A (10 units) is 1 from X and 4 from Y; depot B (5 units) is 2 from X and 1 from Y.
    # X needs 8, Y needs 6: B serves Y with 5, A serves X 8 and Y 1: 8 + 4 + 5 = 17.
    plan = solve_transport([[1.0, 4.0], [2.0, 1.0]], [10.0, 5.0], [8.0, 6.0], shortage_penalty=100.0)
    assert plan.objective == pytest.approx(17.0, rel=1e-12)
    flows = {(int(i), int(j)): float(q) for i, j, q in zip(plan.depot, plan.demand_point, plan.quantity)}
    assert flows == pytest.approx({(0, 0): 8.0, (0, 1): 1.0, (1, 1): 5.0})
    assert not plan.unmet.any()


@pytest.mark.reference
def test_shortage_is_reported_and_penalised() -> None:
    # 5 units for a need of 8: 3 unmet at 50 each, 5 shipped at 2 each
    plan = solve_transport([[2.0]], [5.0], [8.0], shortage_penalty=50.0)
    assert plan.unmet[0, 0] == pytest.approx(3.0)
    assert plan.objective == pytest.approx(5 * 2.0 + 3 * 50.0)


@pytest.mark.reference
def test_cheap_penalty_trades_coverage_for_cost() -> None:
    # shipping costs 30 per unit, leaving it unmet costs 20: the optimum ships nothing
    plan = solve_transport([[30.0]], [5.0], [5.0], shortage_penalty=20.0)
    assert plan.quantity.sum() == 0.0 and plan.objective == pytest.approx(100.0)


def test_default_penalty_serves_everything_reachable() -> None:
    rng = np.random.default_rng(5)
    cost = rng.uniform(1, 500, (6, 40))
    supply = np.full((6, 1), 100.0)
    demand = rng.uniform(0, 10, (40, 1))
    plan = solve_transport(cost, supply, demand)
    assert plan.unmet.sum() == pytest.approx(0.0, abs=1e-9)


def test_unreachable_point_is_unmet_and_pruning_never_changes_the_answer() -> None:
    rng = np.random.default_rng(9)
    cost = rng.uniform(1, 100, (20, 300))
    cost[:, 7] = np.inf
    supply = rng.uniform(0, 40, (20, 2))
    demand = rng.uniform(0, 3, (300, 2))
    full = solve_transport(cost, supply, demand, candidate_arcs=20)
    pruned = solve_transport(cost, supply, demand, candidate_arcs=1)
    assert pruned.objective == pytest.approx(full.objective, rel=1e-9)
    np.testing.assert_allclose(pruned.unmet[7], demand[7])
    one = solve_transport(cost, supply, demand, workers=1)
    assert one.objective == pytest.approx(full.objective, rel=1e-12)


def test_inputs_are_not_modified_and_weights_scale_cost() -> None:
    cost = np.array([[1.0, np.inf], [3.0, 2.0]])
    supply = np.array([[5.0, 5.0], [5.0, 5.0]])
    demand = np.array([[2.0, 1.0], [3.0, 4.0]])
    copies = [cost.copy(), supply.copy(), demand.copy()]
    a = solve_transport(cost, supply, demand, shortage_penalty=[100.0, 100.0])
    b = solve_transport(cost, supply, demand, weight=[1.0, 2.0], shortage_penalty=[100.0, 200.0])
    for x, y in zip((cost, supply, demand), copies):
        np.testing.assert_array_equal(x, y)
    # commodity 1 costs twice as much per unit in b, everything else equal
    per_com = [sum(q * cost[i, j] for i, j, k, q in zip(a.depot, a.demand_point, a.commodity, a.quantity) if k == c) for c in (0, 1)]
    assert b.objective == pytest.approx(per_com[0] + 2 * per_com[1])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"cost": [[-1.0]]}, "cost must be >= 0"),
    ({"cost": [[np.nan]]}, "cost must be >= 0"),
    ({"supply": [[-1.0]]}, "supply must be finite and >= 0"),
    ({"demand": [[1.0], [2.0]]}, "demand has 2 rows"),
    ({"shortage_penalty": 0.0}, "shortage_penalty must be finite and > 0"),
    ({"weight": [0.0]}, "weight must be 1 finite values > 0"),
    ({"candidate_arcs": 0}, "candidate_arcs must be an integer >= 1"),
])
def test_bad_input_names_the_argument(kwargs: dict, match: str) -> None:
    args = {"cost": [[1.0]], "supply": [[1.0]], "demand": [[1.0]]}
    extra = {k: v for k, v in kwargs.items() if k not in args}
    args.update({k: v for k, v in kwargs.items() if k in args})
    with pytest.raises(ValueError, match=match):
        solve_transport(args["cost"], args["supply"], args["demand"], **extra)


def test_empty_sides() -> None:
    plan = solve_transport(np.zeros((0, 3)), np.zeros((0, 1)), np.ones((3, 1)))
    np.testing.assert_array_equal(plan.unmet[:, 0], 1.0)
    plan = solve_transport(np.zeros((2, 0)), np.ones((2, 1)), np.zeros((0, 1)))
    assert plan.objective == 0.0 and plan.quantity.size == 0


def _dense_fleet_lp(cost, supply, demand, penalty, tonnes, load, fleet) -> float:
    """The vehicle-capacity LP written out densely, variable x[i, j, k] then u[j, k]."""
    from scipy.optimize import linprog

    n_dep, n_dem = cost.shape
    n_com = supply.shape[1]
    fin = np.isfinite(cost)
    nx_ = n_dep * n_dem * n_com
    idx = lambda i, j, k: (i * n_dem + j) * n_com + k  # noqa: E731
    c = np.zeros(nx_ + n_dem * n_com)
    bounds = []
    for i in range(n_dep):
        for j in range(n_dem):
            for k in range(n_com):
                c[idx(i, j, k)] = cost[i, j] if fin[i, j] else 0.0
                bounds.append((0, None if fin[i, j] else 0))
    c[nx_:] = np.tile(penalty, n_dem)
    bounds += [(0, None)] * (n_dem * n_com)
    a_ub, b_ub = [], []
    for i in range(n_dep):
        for k in range(n_com):
            row = np.zeros(c.size)
            for j in range(n_dem):
                row[idx(i, j, k)] = 1
            a_ub.append(row)
            b_ub.append(supply[i, k])
        row = np.zeros(c.size)
        for j in range(n_dem):
            for k in range(n_com):
                row[idx(i, j, k)] = tonnes[k] * (load[i, j] if fin[i, j] else 0.0)
        a_ub.append(row)
        b_ub.append(fleet[i])
    a_eq, b_eq = [], []
    for j in range(n_dem):
        for k in range(n_com):
            row = np.zeros(c.size)
            for i in range(n_dep):
                row[idx(i, j, k)] = 1
            row[nx_ + j * n_com + k] = 1
            a_eq.append(row)
            b_eq.append(demand[j, k])
    res = linprog(c, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds, method="highs")
    assert res.status == 0
    return float(res.fun)


@pytest.mark.reference
@pytest.mark.parametrize("seed", range(6))
def test_vehicle_capacity_matches_the_dense_lp(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n_dep, n_dem, n_com = 4, 15, 3
    cost = rng.uniform(1, 50, (n_dep, n_dem))
    cost[rng.random(cost.shape) < 0.15] = np.inf
    supply = rng.uniform(10, 60, (n_dep, n_com))
    demand = rng.uniform(0, 8, (n_dem, n_com))
    tonnes = rng.uniform(0.01, 0.5, n_com)
    load = 2 * cost / 40.0  # round-trip hours at 40 km/h on a cost in km
    fleet = rng.uniform(5, 40, n_dep)  # tight: some demand is left for lack of vehicles
    penalty = np.full(n_com, 500.0)
    plan = solve_transport(cost, supply, demand, shortage_penalty=penalty, fleet=fleet, load=load, unit_tonnes=tonnes,
                           candidate_arcs=2)
    assert plan.objective == pytest.approx(_dense_fleet_lp(cost, supply, demand, penalty, tonnes, load, fleet), rel=1e-8)
    used = np.zeros(n_dep)
    np.add.at(used, plan.depot, tonnes[plan.commodity] * load[plan.depot, plan.demand_point] * plan.quantity)
    assert (used <= fleet * (1 + 1e-9)).all()
    with pytest.raises(ValueError, match="go together"):
        solve_transport(cost, supply, demand, fleet=fleet)
