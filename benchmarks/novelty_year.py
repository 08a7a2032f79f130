"""Acceptance 4 of issue "[3] Structural health", every variant side by side, with timing.

One simulated year of 30-min windows (17,520; the generator ``simulate_year`` of
``tests/test_novelty.py``): temperature-driven frequency swings of about +/- 5 %
(bilinear, steep below 0 deg C), estimation noise at 1x or 2x the statistical floor,
2 % missing modes, a 2 % stiffness loss from 1 October (month 10). For each method,
baseline length and seed: the detection delay (first alarm at or after the loss, in
windows and hours; criterion <= 48 h; a false alarm still running at the loss does not
count as a detection) and the false-alarm episodes (runs of consecutive
alarms) that start in each quarter before the loss (criterion <= 1 each).

Variants: regression on temperature and PCA on frequencies alone, each trained on
Jan-Mar (90 d, the issue's suggestion) and Jan-Jun (181 d, both temperature extremes);
``local`` = a loss that changes the frequency ratios (3 % / 0 / 2 % / 0 per mode) instead
of scaling all frequencies alike. Answer check: the regression rows must pass.

    python benchmarks/novelty_year.py [--seeds N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_novelty import DAMAGE_DAY, DETECTION_WINDOWS, LOCAL_LOSS, WINDOWS_PER_DAY, acceptance  # noqa: E402

VARIANTS: tuple[tuple[str, str, int, Any], ...] = (
    ("regression", "regression", 90, 0.02),
    ("regression", "regression", 181, 0.02),
    ("pca", "pca", 90, 0.02),
    ("pca", "pca", 181, 0.02),
    ("pca-local", "pca", 181, LOCAL_LOSS),
)


def run(seeds: int) -> list[dict[str, Any]]:
    rows = []
    for label, method, days, loss in VARIANTS:
        for noise in (1.0, 2.0):
            for seed in range(seeds):
                t0 = time.perf_counter()
                out = acceptance(seed, method, train_days=days, noise_factor=noise, loss=loss)
                elapsed = time.perf_counter() - t0
                delay, false, model = out.delay, out.false, out.model
                start = DAMAGE_DAY * WINDOWS_PER_DAY
                running = bool(out.scores.alarm[start - 1])  # a false alarm still on at the loss
                after = slice(start, start + DETECTION_WINDOWS)
                extrap = float(np.mean(out.scores.extrapolated[after]))
                passed = (not running and delay is not None and delay <= DETECTION_WINDOWS
                          and max(false) <= 1)
                rows.append({"variant": label, "train_days": days, "noise_x_floor": noise, "seed": seed,
                             "n_components": model.n_components, "delay_windows": delay,
                             "delay_h": None if delay is None else delay / 2.0,
                             "false_per_quarter": false, "alarm_at_loss": running,
                             "extrapolated_after_loss": round(extrap, 2), "pass": passed,
                             "seconds": round(elapsed, 3)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = run(args.seeds)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(f"{'variant':<11}{'days':>5}{'noise':>6}{'seed':>5}{'q':>3}{'delay h':>9}  false/quarter"
              "  on@loss  extrap48h  pass  s")
        for r in rows:
            d = "none" if r["delay_h"] is None else f"{r['delay_h']:.1f}"
            print(f"{r['variant']:<11}{r['train_days']:>5}{r['noise_x_floor']:>6.0f}{r['seed']:>5}"
                  f"{r['n_components']:>3}{d:>9}  {str(r['false_per_quarter']):<13}"
                  f"  {str(r['alarm_at_loss']):<7}"
                  f"  {r['extrapolated_after_loss']:<9.2f}  {str(r['pass']):<5} "
                  f"{r['seconds']:.3f}")
    ok = all(r["pass"] for r in rows if r["variant"] == "regression")
    if not ok:
        print("answer check FAILED: a regression row misses acceptance 4", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
