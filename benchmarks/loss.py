"""Loss estimation speed, with the OpenQuake engine run side by side on identical inputs.

Targets of issue [4] (acceptance 3):

* >= 100x OpenQuake on the same 100,000-asset inputs (scenario_damage with
  consequences, and scenario_risk), side by side, answers compared;
* 1,000,000 assets x 1 event in <= 10 s on 2 cores (``quakewatch loss --oq-job``
  end to end: reading the files included);
* 100,000 assets x 1,000 spatially correlated realisations in <= 60 s
  (``quakewatch loss --scenario`` end to end).

Usage::

    python benchmarks/loss.py                  # everything (the engine needs several minutes)
    python benchmarks/loss.py --skip-engine    # our timings only
    python benchmarks/loss.py --assets 20000   # a smaller side-by-side run

It exits 1 when the totals differ from the engine's by more than 1e-6, and with
``--strict`` also when a target is missed.

The engine (openquake.engine 3.26, installed with --no-deps) runs in a
subprocess with ``OQ_DISTRIBUTE=processpool`` (its default, both cores) and a
scratch ``HOME``; its time is its own ``calc.run()`` wall time (reading the
inputs included, start-up and the job database excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _verdict import verdict  # noqa: E402  # benchmarks/ is the script's directory
from loss_cases import CaseSpec, write_case, write_scenario  # noqa: E402

from quakewatch.server.decision.openquake_job import estimate_from_job, read_job  # noqa: E402
from quakewatch.server.decision.scenario import run_scenario_file  # noqa: E402

ORACLE = Path(__file__).resolve().parents[1] / "tests" / "openquake_oracle.py"


def _ours(job: Path, repeats: int = 3) -> tuple[float, dict[str, float]]:
    best = np.inf
    totals: dict[str, float] = {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        est = estimate_from_job(read_job(job))
        best = min(best, time.perf_counter() - t0)
        totals = {k: v.mean for k, v in est.totals.items()}
    return best, totals


def _engine(job: Path, scratch: Path) -> tuple[float, dict[str, float]]:
    out = job.with_suffix(".oq.json")
    env = {**os.environ, "HOME": str(scratch), "OQ_DISTRIBUTE": "processpool"}
    done = subprocess.run([sys.executable, str(ORACLE), str(job), str(out)], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    result = json.loads(out.read_text())
    if "error" in result:
        raise RuntimeError(result["error"])
    return float(result["seconds"]), result["aggregate"]


def _agreement(mode: str, ours: dict[str, float], engine: dict[str, float]) -> float:
    worst = 0.0
    for key, value in engine.items():
        lt, _, name = key.partition(":")
        if name.startswith("dmg_"):
            continue
        mine = ours.get(f"losses:{lt}") if name in ("loss", "losses") else ours.get(f"{name}:{lt}")
        if mine is not None and value:
            worst = max(worst, abs(mine - value) / abs(value))
    return worst


def side_by_side(n_assets: int, scratch: Path, skip_engine: bool, modes: list[str]) -> tuple[bool, bool]:
    """Our run and the engine's on each job: (totals agree within 1e-6, >= 100x)."""
    agree_all, fast_all = True, True
    for mode, events in (("scenario_damage", 10), ("scenario_risk", 10)):
        if mode not in modes:
            continue
        job = write_case(scratch / f"{mode}-{n_assets}", CaseSpec(
            n_assets=n_assets, n_sites=max(50, n_assets // 50), n_events=events, seed=7, mode=mode,
            missing_fraction=0.0))
        ours, ours_totals = _ours(job)
        line = f"{mode:16s} {n_assets:>9,d} assets x {events} events: quakewatch {ours:7.3f} s"
        if not skip_engine:
            engine, engine_totals = _engine(job, scratch)
            agree = _agreement(mode, ours_totals, engine_totals)
            line += f" | openquake {engine:8.2f} s | ratio {engine / ours:6.1f}x | totals agree to {agree:.1e}"
            agree_all &= agree <= 1e-6
            fast_all &= engine / ours >= 100.0
        print(line, flush=True)
    return agree_all, fast_all


def million_one_event(scratch: Path) -> bool:
    job = write_case(scratch / "million", CaseSpec(n_assets=1_000_000, n_sites=20_000, n_events=1, seed=9,
                                                   missing_fraction=0.0))
    t0 = time.perf_counter()
    parsed = read_job(job)
    t1 = time.perf_counter()
    estimate_from_job(parsed)
    t2 = time.perf_counter()
    print(f"scenario_damage  1,000,000 assets x 1 event: {t2 - t0:6.2f} s end to end "
          f"(read {t1 - t0:.2f} s, compute {t2 - t1:.2f} s); target <= 10 s", flush=True)
    return t2 - t0 <= 10.0


def correlated_realisations(scratch: Path, n_assets: int, realisations: int) -> bool:
    path = write_scenario(scratch / "mc", n_assets=n_assets, realisations=realisations, seed=1)
    t0 = time.perf_counter()
    est, _ = run_scenario_file(path)
    dt = time.perf_counter() - t0
    print(f"scenario         {n_assets:>9,d} assets x {realisations} correlated realisations: {dt:6.2f} s "
          f"end to end; target <= 60 s (deaths {est.totals['severity_4:structural'].mean:.1f}, "
          f"p95 {est.totals['severity_4:structural'].p95:.1f})", flush=True)
    return dt <= 60.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--assets", type=int, default=100_000)
    ap.add_argument("--skip-engine", action="store_true")
    ap.add_argument("--skip-million", action="store_true")
    ap.add_argument("--realisations", type=int, default=1000)
    ap.add_argument("--modes", nargs="+", default=["scenario_damage", "scenario_risk"],
                    choices=["scenario_damage", "scenario_risk"], help="side-by-side runs")
    ap.add_argument("--skip-realisations", action="store_true")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qw-loss-bench-") as tmp:
        scratch = Path(tmp)
        agree, met = side_by_side(a.assets, scratch, a.skip_engine, a.modes)
        if not a.skip_million:
            met &= million_one_event(scratch)
        if not a.skip_realisations:
            met &= correlated_realisations(scratch, a.assets, a.realisations)
    return verdict(agree, met, a.strict)


if __name__ == "__main__":
    raise SystemExit(main())
