"""How well can any estimator know a mode shape? The Cramer-Rao bound on MAC for the
synthetic cases of ``benchmarks/modal_accuracy.py``.

Issue "[3] Structural health" asks for a mean MAC >= 0.999 for every mode and for both
twins of 1 % close pairs with MAC >= 0.99.  This computes, from the true modal model
alone (never from an identification), the smallest expected ``1 - MAC`` that an
unbiased estimator can reach on a record of the acceptance length, so that the measured
MAC of ``identify`` can be read against what the record holds.

Model. A record of ``N`` samples of the case's ambient response: independent white
modal forces through the generator's exact ZOH transfer functions ``h_j`` (the filters
of ``ext/synthetic.py``) and white measurement noise of 10 % of each channel's RMS, so
its spectral matrix is

    G(w) = Phi diag(h(w)) S diag(h(w))^H Phi^T + diag(noise),   S = I (truth).

The periodogram ordinates at ``w_k = 2 pi k / N``, ``0 < k < N / 2``, are asymptotically
independent complex Gaussian vectors with covariance proportional to ``G(w_k)``
(Whittle 1953), so the Fisher information of real parameters ``theta`` is

    F_ab = sum_k Re tr(G^-1 dG/dtheta_a G^-1 dG/dtheta_b)

(Kay 1993, sec. 15.7, eq. 15.60), summed here over a grid dense around the modes with
each point weighted by the number of ordinates it stands for.  The covariance of an
unbiased estimate of mode ``k``'s shape is at least the ``phi_k`` block ``C_k`` of
``F^-1``; MAC falls with the part of the error orthogonal to the shape, so to first
order ``E[1 - MAC_k] >= tr(P C_k P) / |phi_k|^2`` with ``P = I - p p^T``, ``p`` the unit
true shape (Allemang & Brown 1982 for MAC).

Unknowns, per group ``U`` of neighbouring modes (every mode within ``--span`` half-power
bandwidths of the mode reported): the shapes of ``U``; in the "realistic" column also
the forcing cross-spectrum ``S`` among ``U`` (its off-diagonal, Hermitian: a real
estimator must not assume independent modal forces, which base excitation or wind never
give; the diagonal trades against the shapes' scale, which MAC does not see) and the
frequencies and damping ratios of ``U``; the noise levels always.  Modes outside ``U``
are given exactly (a genie), which only lowers the bound: both columns are lower bounds
on ``E[1 - MAC]``, upper bounds on the expected MAC.

    python benchmarks/modal_floor.py [--cases shear16-uniform,close-xy8,close-xy8-1pct]
        [--modes 13,14,15,16] [--minutes 30] [--span 5] [--json]

References
----------
Whittle (1953), The analysis of multiple stationary time series, J. R. Stat. Soc. B 15, 125-139.
Kay (1993), Fundamentals of Statistical Signal Processing: Estimation Theory, Prentice Hall.
Allemang & Brown (1982), A correlation coefficient for modal vector analysis, 1st IMAC.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import freqz

sys.path.insert(0, str(Path(__file__).resolve().parent))
from modal_accuracy import FS_HZ, NOISE_FRACTION, case_model  # noqa: E402

from quakewatch.ext.synthetic import ModalModel, _mode_filter  # noqa: E402  (the generator's exact filters)

#: grid: points over (0, pi) plus this many within ``SPAN_GRID`` half-power bandwidths of each mode of the group
COARSE_POINTS, DENSE_POINTS, SPAN_GRID = 1500, 600, 12
#: relative step of the central differences of |h|^2 with respect to frequency and damping
STEP = 1e-5
#: frequency points per Fisher chunk
CHUNK = 200


def _response(model: ModalModel, j: int, w: np.ndarray, df: float = 0.0, dxi: float = 0.0) -> np.ndarray:
    """``h_j(w)``: unit-variance white force to modal acceleration (exact ZOH filter)."""
    b, a, *_ = _mode_filter(model.frequencies_hz[j] + df, model.damping_ratios[j] + dxi, FS_HZ, 1.0)
    return freqz(b, a, worN=w)[1]


def _grid(model: ModalModel, group: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Grid points over (0, pi) and the width each one stands for."""
    pts = [np.linspace(0.0, np.pi, COARSE_POINTS)]
    for k in group:
        wk = 2 * np.pi * model.frequencies_hz[k] / FS_HZ
        half = model.damping_ratios[k] * wk
        pts.append(np.linspace(max(wk - SPAN_GRID * half, 1e-9), min(wk + SPAN_GRID * half, np.pi), DENSE_POINTS))
    w = np.unique(np.concatenate(pts))
    w = w[(w > 0) & (w < np.pi)]
    edges = np.concatenate([[0.0], 0.5 * (w[1:] + w[:-1]), [np.pi]])
    return w, np.diff(edges)


def mac_bound(model: ModalModel, group: list[int], n_samples: int, *, realistic: bool) -> np.ndarray:
    """Lower bound on ``E[1 - MAC]`` of every mode of ``group`` (see the module docstring)."""
    phi = model.mode_shapes
    m, n = phi.shape
    w, width = _grid(model, group)
    ordinates = width * n_samples / (2 * np.pi)
    fine = (np.arange(20000) + 0.5) * np.pi / 20000
    variance = np.array([np.mean(np.abs(_response(model, j, fine)) ** 2) for j in range(n)])
    noise = NOISE_FRACTION**2 * (phi**2 @ variance)
    h = np.stack([_response(model, j, w) for j in range(n)], axis=1)
    dpole = []  # d|h_k|^2 / d(frequency, damping) of the group
    if realistic:
        for k in group:
            for df, dxi in ((STEP * model.frequencies_hz[k], 0.0), (0.0, STEP * model.damping_ratios[k])):
                up = np.abs(_response(model, k, w, df, dxi)) ** 2
                down = np.abs(_response(model, k, w, -df, -dxi)) ** 2
                # per unit relative change (d/d ln f, d/d ln xi): every parameter O(1)
                dpole.append((k, (up - down) / (2 * STEP)))
    fisher = np.zeros((0, 0))
    for s in range(0, w.size, CHUNK):
        hh = h[s: s + CHUNK]
        power = np.abs(hh) ** 2
        g = np.einsum("ck,fk,dk->fcd", phi, power, phi) + np.diag(noise)[None]
        inv = np.linalg.inv(g)
        derivs = []
        for k in group:  # shapes: dG/dPhi_ck = e_c (|h_k|^2 phi_k)^T + (|h_k|^2 phi_k) e_c^T
            col = power[:, k, None] * phi[None, :, k]
            for c in range(m):
                d = np.zeros((hh.shape[0], m, m), dtype=np.complex128)
                d[:, c, :] += col
                d[:, :, c] += col
                derivs.append(d)
        if realistic:
            # S_kk stays 1: scaling phi_k by a and S_kk by 1/a^2 leaves G alone (the
            # information matrix would be singular); MAC does not see the scale
            for a_i, k in enumerate(group):
                for q in group[a_i + 1:]:  # S_kq = x + i y (and S_qk its conjugate)
                    cross = (hh[:, k] * np.conj(hh[:, q]))[:, None, None]
                    outer = np.outer(phi[:, k], phi[:, q])[None]
                    derivs.append(cross * outer + np.conj(cross) * outer.transpose(0, 2, 1))
                    derivs.append(1j * cross * outer - 1j * np.conj(cross) * outer.transpose(0, 2, 1))
            for k, dp in dpole:
                derivs.append(dp[s: s + CHUNK, None, None] * np.outer(phi[:, k], phi[:, k])[None])
        for c in range(m):  # noise level per unit relative change
            d = np.zeros((hh.shape[0], m, m), dtype=np.complex128)
            d[:, c, c] = noise[c]
            derivs.append(d)
        mats = inv[:, None] @ np.stack(derivs, axis=1)  # G^-1 dG, (f, P, m, m)
        flat = mats.reshape(mats.shape[0], mats.shape[1], m * m) * ordinates[s: s + CHUNK, None, None]
        flat_t = mats.transpose(0, 1, 3, 2).reshape(mats.shape[0], mats.shape[1], m * m)
        part = np.matmul(flat, flat_t.transpose(0, 2, 1)).sum(axis=0).real
        fisher = part if fisher.size == 0 else fisher + part
    # every parameter is O(1) (shapes, S, relative pole and noise changes); the inverse by
    # symmetric eigen-decomposition, refusing a numerically singular information matrix
    vals, vecs = np.linalg.eigh(0.5 * (fisher + fisher.T))
    if vals.min() <= 1e-10 * vals.max():
        raise FloatingPointError(f"Fisher information numerically singular (condition {vals.max() / vals.min():.1e})")
    cov = (vecs / vals) @ vecs.T
    out = np.empty(len(group))
    for i, k in enumerate(group):
        p = phi[:, k] / np.linalg.norm(phi[:, k])
        proj = np.eye(m) - np.outer(p, p)
        out[i] = np.trace(proj @ cov[i * m:(i + 1) * m, i * m:(i + 1) * m] @ proj) / (phi[:, k] @ phi[:, k])
    return out


def neighbours(model: ModalModel, k: int, span: float) -> list[int]:
    """Mode ``k`` and every mode within ``span`` of its half-power bandwidths."""
    f, xi = model.frequencies_hz, model.damping_ratios
    return [j for j in range(f.size) if abs(f[j] - f[k]) <= span * 2 * xi[k] * f[k]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="shear16-uniform,close-xy8,close-xy8-1pct")
    ap.add_argument("--modes", default="", help="1-based modes to bound (default: every mode)")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--span", type=float, default=5.0, help="group: modes within this many half-power bandwidths")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    n_samples = int(a.minutes * 60 * FS_HZ)
    report: dict[str, Any] = {"minutes": a.minutes, "noise_fraction": NOISE_FRACTION, "span": a.span, "cases": {}}
    t0 = time.perf_counter()
    for name in a.cases.split(","):
        model = case_model(name)
        modes = [int(x) - 1 for x in a.modes.split(",")] if a.modes else list(range(model.n_modes))
        rows: list[dict[str, Any]] = []
        for k in modes:
            group = neighbours(model, k, a.span)
            i = group.index(k)
            genie = float(mac_bound(model, group, n_samples, realistic=False)[i])
            real = float(mac_bound(model, group, n_samples, realistic=True)[i])
            rows.append({"mode": k + 1, "frequency_hz": float(model.frequencies_hz[k]),
                         "damping_ratio": float(model.damping_ratios[k]), "group": [g + 1 for g in group],
                         "mac_bound_known_forcing_and_poles": 1 - genie, "mac_bound": 1 - real})
        report["cases"][name] = rows
        if not a.json:
            print(f"== {name}: {a.minutes:g} min, 16 ch, noise {NOISE_FRACTION:.0%} RMS; expected MAC of an unbiased "
                  "estimator is at most:")
            print("mode     f_hz  xi_%  group                 forcing+poles known   realistic (S, poles unknown)")
            for r in rows:
                grp = ",".join(str(g) for g in r["group"])
                print(f"{r['mode']:4d} {r['frequency_hz']:8.3f} {100 * r['damping_ratio']:5.2f}  {grp:20s}  "
                      f"{r['mac_bound_known_forcing_and_poles']:18.5f}   {r['mac_bound']:18.5f}")
    report["elapsed_s"] = time.perf_counter() - t0
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"elapsed {report['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
