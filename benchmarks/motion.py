"""All strong-motion metrics of one three-component record, QuakeWatch next to a
peer run in the same process on the same record, with an answer check.

* quakewatch: ``station_metrics(e, n, u, fs)``: per component PGA/PGV/PGD,
  Arias, CAV, D5-75, D5-95, 5 %-damped spectrum at the 21 NGA-West2 periods,
  plus GB/T 17742-2020 intensity.
* peer: ObsPy for the processing (``detrend('demean')``, ``filter(...,
  corners=4, zerophase=True)``, ``integrate()``; causal band-pass for the
  intensity), NumPy/SciPy for Arias/CAV/durations, and a straightforward
  response spectrum with ``scipy.signal.lsim`` (first-order hold, exact) per
  period and component.

Record: 3 x 35,000 samples at 100 Hz (350 s), seeded enveloped noise.  QuakeWatch's
time is the median over ``--repeat`` runs; the peer (~20 s) is timed once.
Acceptance: quakewatch <= 20 ms and the answers agree.

    python benchmarks/motion.py [--repeat N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import integrate, signal

from quakewatch.ext.motion import NGA_WEST2_PERIODS_S, intensity_from_peaks, station_metrics

N_SAMPLES = 35_000
FS_HZ = 100.0
BUDGET_MS = 20.0


def record(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(N_SAMPLES) / FS_HZ
    env = (t / 30.0) ** 2 * np.exp(-t / 40.0)
    return [rng.normal(0.0, s, N_SAMPLES) * env for s in (1.0, 0.8, 0.5)]


def peer(acc: list[np.ndarray]) -> dict[str, Any]:
    """Independent pipeline: ObsPy + SciPy, no quakewatch code."""
    from obspy import Stream, Trace

    st = Stream([Trace(a.copy(), header={"sampling_rate": FS_HZ}) for a in acc])
    st.detrend("demean")
    raw = st.copy()
    st.filter("highpass", freq=0.1, corners=4, zerophase=True)
    a = np.vstack([tr.data for tr in st])
    st.integrate()
    v = np.vstack([tr.data for tr in st])
    st.integrate()
    d = np.vstack([tr.data for tr in st])
    dt = 1.0 / FS_HZ
    e = integrate.cumulative_trapezoid(a * a, dx=dt, initial=0, axis=-1)
    t = np.arange(N_SAMPLES) * dt
    dur = [[float(np.interp(q, row / row[-1], t)) for q in (0.05, 0.75, 0.95)] for row in e]
    sa = np.zeros((3, len(NGA_WEST2_PERIODS_S)))
    for j, period in enumerate(NGA_WEST2_PERIODS_S):
        w = 2 * np.pi / period
        sys_ = signal.StateSpace([[0, 1], [-w * w, -0.1 * w]], [[0], [-1]], [[-w * w, -0.1 * w]], [[0]])
        for k in range(3):
            _, y, _ = signal.lsim(sys_, a[k], t, interp=True)
            sa[k, j] = np.abs(y).max()
    raw.filter("bandpass", freqmin=0.1, freqmax=10.0, corners=4, zerophase=False)
    ai = np.vstack([tr.data for tr in raw])
    raw.integrate()
    vi = np.vstack([tr.data for tr in raw])
    pga_v = float(np.sqrt((ai**2).sum(0)).max())
    pgv_v = float(np.sqrt((vi**2).sum(0)).max())
    i_pga, i_pgv = 3.17 * np.log10(pga_v) + 6.59, 3.0 * np.log10(pgv_v) + 9.77
    i = i_pgv if (i_pga >= 6 and i_pgv >= 6) else (i_pga + i_pgv) / 2
    return {
        "pga": np.abs(a).max(1), "pgv": np.abs(v).max(1), "pgd": np.abs(d).max(1),
        "arias": np.pi / (2 * 9.80665) * e[:, -1],
        "cav": integrate.trapezoid(np.abs(a), dx=dt, axis=-1),
        "d5_75": np.array([r[1] - r[0] for r in dur]), "d5_95": np.array([r[2] - r[0] for r in dur]),
        "sa": sa, "intensity": intensity_from_peaks(pga_v, pgv_v).intensity, "intensity_raw": i,
    }


def ours(acc: list[np.ndarray]) -> dict[str, Any]:
    s = station_metrics(*acc, FS_HZ)
    comps = (s.east, s.north, s.up)
    return {
        "pga": np.array([c.pga_mps2 for c in comps]), "pgv": np.array([c.pgv_mps for c in comps]),
        "pgd": np.array([c.pgd_m for c in comps]), "arias": np.array([c.arias_mps for c in comps]),
        "cav": np.array([c.cav_mps for c in comps]), "d5_75": np.array([c.d5_75_s for c in comps]),
        "d5_95": np.array([c.d5_95_s for c in comps]), "sa": np.vstack([c.spectrum.sa_mps2 for c in comps]),
        "intensity": s.intensity.intensity,
    }


def _time(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    acc = record()
    ours(acc)  # warm-up (filter design cache, imports)
    q = ours(acc)
    t0 = time.perf_counter()
    p = peer(acc)  # ~20 s (63 lsim calls): timed once, on the run whose answers are checked
    t_peer = (time.perf_counter() - t0) * 1e3
    # answer check: durations to one sample, everything else to 1e-6 relative
    errors = {}
    for key in ("pga", "pgv", "pgd", "arias", "cav", "sa"):
        errors[key] = float(np.max(np.abs(q[key] - p[key]) / np.abs(p[key])))
    for key in ("d5_75", "d5_95"):
        errors[key] = float(np.max(np.abs(q[key] - p[key]))) * FS_HZ  # in samples
    agree = all(errors[k] <= 1e-6 for k in ("pga", "pgv", "pgd", "arias", "cav", "sa")) and all(
        errors[k] <= 1.0 for k in ("d5_75", "d5_95")
    ) and q["intensity"] == p["intensity"]
    t_ours = _time(lambda: ours(acc), args.repeat)
    result = {
        "record": f"3 x {N_SAMPLES} samples at {FS_HZ:g} Hz",
        "periods": len(NGA_WEST2_PERIODS_S),
        "quakewatch_ms": round(t_ours, 2),
        "peer_ms": round(t_peer, 1),
        "speedup": round(t_peer / t_ours, 1),
        "budget_ms": BUDGET_MS,
        "within_budget": t_ours <= BUDGET_MS,
        "answers_agree": agree,
        "max_rel_error": {k: v for k, v in errors.items() if not k.startswith("d5")},
        "max_duration_error_samples": {k: v for k, v in errors.items() if k.startswith("d5")},
        "intensity": (q["intensity"], p["intensity"]),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"record: {result['record']}, {result['periods']} periods, 5 % damping; "
              f"quakewatch median of {args.repeat}, peer once")
        print(f"{'':28s}{'ms':>10s}{'ratio':>10s}")
        print(f"{'quakewatch station_metrics':28s}{t_ours:10.2f}{1.0:10.2f}")
        print(f"{'peer (ObsPy + SciPy lsim)':28s}{t_peer:10.1f}{t_peer / t_ours:10.1f}")
        print(f"budget {BUDGET_MS:g} ms: {'PASS' if result['within_budget'] else 'FAIL'}; "
              f"answers agree: {'yes' if agree else 'NO'} (intensity {q['intensity']} vs {p['intensity']})")
        for key, err in errors.items():
            unit = "samples" if key.startswith("d5") else "relative"
            print(f"  max error {key:6s} {err:.2e} {unit}")
    return 0 if (result["within_budget"] and agree) else 1


if __name__ == "__main__":
    sys.exit(main())
