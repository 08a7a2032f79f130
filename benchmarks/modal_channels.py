"""Modes found by ``identify()``'s defaults as the channel count falls, per structure kind.

Real deployments often have few channels (a roof triaxial, a pair on a bridge deck),
and defaults tuned on 16-channel records can fail them.  This runs ``identify`` with its
defaults on seeded records of every structure kind of ``ext/synthetic.py``
(``structure_model``: building, bridge, tower, dam; ``other`` is the tower) and channel
counts 1-16, 100 Hz, 10 % white measurement noise, and counts the true modes found
within 1 % (each reported mode matched once) and the reported modes matching none.
The truth is the generating modal model, never an identification.

``--periods`` and ``--few-periods`` override the lag-span rule of
``ext/modal_lag.py`` (``LOWEST_MODE_PERIODS`` from 8 channels up,
``FEW_CHANNEL_PERIODS`` below) to compare rules side by side; the module docstring of
``ext/modal_lag.py`` holds the table this produced.

    python benchmarks/modal_channels.py [--seconds 600] [--seeds 10] [--channels 1,2,3,4,6,8,16]
        [--periods 0.6] [--few-periods 1.2] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from quakewatch.ext import modal_lag
from quakewatch.ext.modal import ModalResult, identify
from quakewatch.ext.synthetic import AmbientVibration, ModalModel, structure_model

FS = 100.0
KINDS = ("building", "bridge", "other", "dam")


def record(model: ModalModel, seed: int, seconds: float, noise: float = 0.10) -> np.ndarray:
    """(n_samples, n_channels) ambient response with white noise at ``noise`` x each channel's RMS."""
    y = AmbientVibration(model, FS, seed=seed, noise_rms_mps2=0.0).next_block(int(seconds * FS))
    y = y + noise * y.std(axis=1, keepdims=True) * np.random.default_rng(1000 + seed).standard_normal(y.shape)
    return np.ascontiguousarray(y.T)


def score(res: ModalResult, model: ModalModel, tol: float = 0.01) -> tuple[int, int]:
    """(true modes found within ``tol``, reported modes matching none); one match per mode."""
    used: set[int] = set()
    for f in model.frequencies_hz:
        if res.n_modes:
            d = np.abs(res.frequencies_hz - f) / f
            d[list(used)] = np.inf
            j = int(np.argmin(d))
            if d[j] <= tol:
                used.add(j)
    return len(used), res.n_modes - len(used)


def run(channels: list[int], seeds: int, seconds: float) -> list[dict[str, Any]]:
    rows = []
    for m in channels:
        for kind in KINDS:
            found = spurious = total = 0
            for seed in range(seeds):
                model, _ = structure_model(kind, m, seed=seed, fs_hz=FS)
                f, s = score(identify(record(model, seed, seconds), FS), model)
                found, spurious, total = found + f, spurious + s, total + model.n_modes
            rows.append({"channels": m, "kind": kind, "found": found, "modes": total, "spurious": spurious})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=600.0, help="record length (default 600)")
    p.add_argument("--seeds", type=int, default=10, help="records per kind and channel count (default 10)")
    p.add_argument("--channels", default="1,2,3,4,6,8,16", help="channel counts, comma-separated")
    p.add_argument("--periods", type=float, default=None, help="override LOWEST_MODE_PERIODS (8 channels and more)")
    p.add_argument("--few-periods", type=float, default=None, help="override FEW_CHANNEL_PERIODS (fewer than 8)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    if a.periods is not None:
        modal_lag.LOWEST_MODE_PERIODS = a.periods
    if a.few_periods is not None:
        modal_lag.FEW_CHANNEL_PERIODS = a.few_periods
    t0 = time.perf_counter()
    rows = run([int(c) for c in a.channels.split(",")], a.seeds, a.seconds)
    found, modes, spurious = (sum(r[k] for r in rows) for k in ("found", "modes", "spurious"))
    out = {"seconds": a.seconds, "seeds": a.seeds, "periods": modal_lag.LOWEST_MODE_PERIODS,
           "few_channel_periods": modal_lag.FEW_CHANNEL_PERIODS, "rows": rows,
           "found": found, "modes": modes, "spurious": spurious, "elapsed_s": time.perf_counter() - t0}
    if a.json:
        json.dump(out, sys.stdout, indent=1)
        print()
        return 0
    print(f"{a.seeds} records of {a.seconds:g} s per kind and channel count, 100 Hz, 10 % noise; lag span "
          f"{modal_lag.LOWEST_MODE_PERIODS:g} periods from {modal_lag.FEW_CHANNELS} channels, "
          f"{modal_lag.FEW_CHANNEL_PERIODS:g} below")
    for m in sorted({r["channels"] for r in rows}):
        cells = [f"{r['kind']:8s} {r['found']:3d}/{r['modes']:<3d} spurious {r['spurious']}" for r in rows if r["channels"] == m]
        print(f"{m:2d} ch  " + " | ".join(cells))
    print(f"modes found {found} of {modes}, spurious {spurious} ({out['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
