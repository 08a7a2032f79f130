"""Shelter location/allocation: heuristic against the exact MILP, and the large-instance timing.

Targets (issue "[5] Emergency plans as data, plan activation and resource dispatch"):
the heuristic within 2 % of the exact optimum on instances small enough to solve
exactly, and 300 candidate shelters x 10,000 demand points (each point limited to its
20 cheapest candidates) in <= 5 s on the 2-core machine.  Wall time of one call,
after one untimed warm-up (imports, HiGHS).

Instances (seeded, ``--seed``): candidates and demand points uniform in a 100 x 100
square, cost = Euclidean distance per person, demand 1..39 people per point, total
capacity ``tightness`` x total demand (1.05, 1.3, 2 or 4), opening cost ``scale`` x 30
per place x U(0.5, 1.5) (scale 0.2, 1 or 3), a share of forbidden arcs (0, 30 % or
60 %) and, on every fourth instance, a cap on the number of shelters.

Rows:

* (a) ``--small`` (40) instances of 10-25 candidates x 40-150 points, solved with
  ``method="exact"`` (HiGHS MILP) and ``method="heuristic"``: per instance the
  heuristic's excess over the optimum relative to the optimum's avoidable part
  (objective minus penalty floor; equal to the plain relative excess when the floor is
  0), max and mean, and the time ratio exact / heuristic;
* (b) ``--candidates`` (300) x ``--points`` (10,000) with ``max_arcs_per_demand``
  ``--arcs`` (20), total capacity 1.5 x demand, heuristic with ``time_limit_s`` =
  ``--budget`` (4 s; the call returns about then): wall time, objective, the reported
  lower bound (Lagrangian, at most the strong LP relaxation's bound) and gap, shelters
  opened, people unserved;
* (c) the same instance with the default ``time_limit_s`` (the local search stops on
  its own; information).

Answer checks (asv ``track_``): every plan's flows within capacity and demand (1e-6),
on allowed arcs from open shelters, its objective equal to the sum of its parts; on
(a) the heuristic never below the proven optimum and its lower bound never above it
(tolerance 1e-7 relative).  Exit status 1 if a check fails, or (``--strict``) if a
target is missed.

Run: ``python benchmarks/shelter.py`` (add ``--strict`` to fail on a missed target).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from _verdict import verdict  # benchmarks/ is the script's directory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_shelter_location import make_instance  # noqa: E402  (the tests' instances, one definition)

from quakewatch.ext.shelter_location import ShelterPlan, locate_shelters


def feasible(plan: ShelterPlan, cost: np.ndarray, demand: np.ndarray, cap: np.ndarray,
             open_cost: np.ndarray) -> bool:
    fl = plan.flows
    m, n = cost.shape
    assigned = np.bincount(fl.candidate, weights=fl.people, minlength=m)
    served = np.bincount(fl.demand_point, weights=fl.people, minlength=n)
    arc_cost = cost[fl.candidate, fl.demand_point]
    total = open_cost[plan.open].sum() + arc_cost @ fl.people + plan.unmet_penalty * plan.unmet.sum()
    return bool(
        np.isfinite(arc_cost).all() and plan.open[fl.candidate].all() and (fl.people > 0).all()
        and (assigned <= cap + 1e-6).all() and (plan.unmet >= 0).all()
        and np.allclose(served + plan.unmet, demand, rtol=0, atol=1e-6)
        and abs(total - plan.objective) <= 1e-9 * max(1.0, abs(total))
        and plan.lower_bound <= plan.objective * (1 + 1e-12)
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--small", type=int, default=40, help="number of small instances")
    p.add_argument("--candidates", type=int, default=300)
    p.add_argument("--points", type=int, default=10_000)
    p.add_argument("--arcs", type=int, default=20, help="max_arcs_per_demand of the large instance")
    p.add_argument("--budget", type=float, default=4.0, help="time_limit_s of the large heuristic run, s")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--strict", action="store_true")
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    ok = True
    targets_met = True

    # warm-up (imports, HiGHS), untimed
    w = make_instance(rng, 6, 20)
    locate_shelters(*w, method="exact")
    locate_shelters(*w, method="heuristic")

    print(f"(a) {args.small} small instances, heuristic vs exact MILP")
    excess, t_exact, t_heur = [], 0.0, 0.0
    for k in range(args.small):
        m, n = int(rng.integers(10, 26)), int(rng.integers(40, 151))
        tight = float(rng.choice([1.05, 1.3, 2.0, 4.0]))
        scale = float(rng.choice([0.2, 1.0, 3.0]))
        forbid = float(rng.choice([0.0, 0.0, 0.3, 0.6]))
        max_open = int(rng.integers(3, m)) if k % 4 == 3 else None
        data = make_instance(rng, m, n, tightness=tight, open_scale=scale, forbid=forbid)
        e = locate_shelters(*data, max_open=max_open, method="exact")
        h = locate_shelters(*data, max_open=max_open, method="heuristic")
        t_exact += e.seconds
        t_heur += h.seconds
        tol = 1e-7 * e.objective
        good = feasible(e, *data) and feasible(h, *data) and e.gap <= 1e-6
        good &= h.objective >= e.objective - tol and h.lower_bound <= e.objective + tol
        rel = (h.objective - e.objective) / max(e.objective - e.penalty_floor, tol)
        excess.append(rel)
        if not good:
            ok = False
            print(f"    instance {k} ({m} x {n}): answer check FAILED")
    if excess:
        ex = np.array(excess)
        met = float(ex.max()) <= 0.02
        targets_met &= met
        print(f"    heuristic excess over the optimum: max {ex.max():.3%}, mean {ex.mean():.3%}, "
              f"optimal on {int((ex <= 1e-6).sum())}/{ex.size}  target max <= 2 %: {'met' if met else 'MISSED'}")
        print(f"    time: exact {t_exact:.2f} s, heuristic {t_heur:.2f} s, ratio exact / heuristic "
              f"{t_exact / t_heur:.2f}")

    m, n = args.candidates, args.points
    data = make_instance(np.random.default_rng(args.seed + 1), m, n)
    t0 = time.perf_counter()
    big = locate_shelters(*data, method="heuristic", max_arcs_per_demand=args.arcs, time_limit_s=args.budget)
    wall = time.perf_counter() - t0
    met = wall <= 5.0
    targets_met &= met
    good = feasible(big, *data)
    ok &= good
    print(f"(b) {m} x {n:,}, {args.arcs} cheapest candidates per point, heuristic (time_limit_s={args.budget:g}): "
          f"{wall:.2f} s  target <= 5 s: {'met' if met else 'MISSED'}")
    print(f"    objective {big.objective:,.0f}, lower bound {big.lower_bound:,.0f}, gap {big.gap:.2%}, "
          f"{int(big.open.sum())} shelters open, {big.unmet.sum():,.0f} people unserved  "
          f"{'ok' if good else 'answer check FAILED'}")

    full = locate_shelters(*data, method="heuristic", max_arcs_per_demand=args.arcs)
    good = feasible(full, *data)
    ok &= good
    print(f"(c) the same, default time_limit_s: {full.seconds:.2f} s, objective {full.objective:,.0f}, "
          f"gap {full.gap:.2%}  {'ok' if good else 'answer check FAILED'}")

    return verdict(ok, targets_met, args.strict)


if __name__ == "__main__":
    sys.exit(main())
