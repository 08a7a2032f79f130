"""Correlated ground-motion fields and station conditioning: timings with answer checks.

Targets (issue "[4] Loss estimation"): 100,000 distinct sites x 1,000 realisations of
PGA in <= 20 s, and 1,000,000 sites x 1 realisation in <= 3 s, on the 2-core machine.
Every figure includes building the plan (deduplication, projection, circulant
eigenvalues, kriging weights); wall time of one run after one untimed warm-up of a
small case (imports, FFT plans).

Rows (seeded, ``--seed``):

* (a) ``--sites`` (100,000) sites uniform in a ``--extent`` (200 km) square around
  (100 E, 30 N), PGA (JB09 case 1, range 8.5 km, grid spacing 0.53 km), ``ln_mean`` a
  point-source-like decay, tau 0.3, phi 0.5; ``iter_fields`` consumed block by block
  (the streaming form: memory bounded by the block, peak reported from tracemalloc),
  with ``workers`` = 1 and 2;
* (b) the same with ``simulate_fields`` (one (1000, 100000) float64 array, 800 MB);
* (c) 1,000,000 sites in the same square x 1 realisation;
* (d) exact method: 5,000 sites x 1,000 realisations (information);
* (e) conditioning on 300 stations: ``condition_on_stations`` at the 100,000 sites
  (mean and sd), then 100 conditional realisations (information).

Answer checks on row (a), accumulated while streaming (asv ``track_``): the mean over
sites of the per-site variance of ln IM must be tau^2 + phi^2 = 0.34 within 3 %, and
for 2,000 site pairs in each separation bin the mean empirical correlation of
``ln IM - ln_mean`` must match the model mean ``(tau^2 + phi^2 rho(h)) / (tau^2 +
phi^2)`` within 0.03; the exact implied correlation of the grid approximation
(``FieldPlan.implied_correlation``) is compared with ``rho(h)`` on the same pairs
and its largest error printed next to the plan's bounds.  Exit status 1 if a check
fails, or (``--strict``) if a target is missed.

Run: ``python benchmarks/gmfield.py`` (add ``--strict`` to fail on a missed target).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import tracemalloc

import numpy as np

from _verdict import verdict  # benchmarks/ is the script's directory

from quakewatch.ext.gmfield import iter_fields, plan_fields, simulate_fields, spatial_correlation
from quakewatch.ext.gmfield_conditioning import condition_on_stations
from quakewatch.ext.gmfield_sampling import great_circle_km

LON0, LAT0 = 100.0, 30.0
KM = 111.19492664455873
BINS = [(0.2, 0.5), (0.5, 1.0), (2.0, 3.0), (5.0, 6.0), (10.0, 12.0), (20.0, 25.0)]


def square(n: int, extent_km: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x, y = rng.uniform(-extent_km / 2, extent_km / 2, (2, n))
    return LON0 + x / (KM * math.cos(math.radians(LAT0))), LAT0 + y / KM


def ln_mean(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    r = great_circle_km(LON0, LAT0, lon, lat)
    return np.log(0.4) - 1.2 * np.log(np.hypot(r, 10.0) / 10.0)


def pick_pairs(lon: np.ndarray, lat: np.ndarray, rng: np.random.Generator, per_bin: int):
    """Site pairs by separation bin (from a random subset and its near neighbours)."""
    n = lon.size
    out = []
    sub = rng.choice(n, size=min(n, 4000), replace=False)
    h = great_circle_km(lon[sub, None], lat[sub, None], lon[None, sub], lat[None, sub])
    iu = np.triu_indices(sub.size, 1)
    hh = h[iu]
    for lo, hi in BINS:
        sel = np.flatnonzero((hh >= lo) & (hh < hi))
        if sel.size > per_bin:
            sel = rng.choice(sel, per_bin, replace=False)
        out.append((sub[iu[0][sel]], sub[iu[1][sel]]))
    return out


def row_a(lon, lat, mu, tau, phi, n_real, seed, workers, pairs):
    tracemalloc.start()
    t0 = time.perf_counter()
    plan = plan_fields(lon, lat, "PGA", workers=workers)
    t_plan = time.perf_counter() - t0
    s1 = np.zeros(lon.size)
    s2 = np.zeros(lon.size)
    idx_a = np.concatenate([p[0] for p in pairs])
    idx_b = np.concatenate([p[1] for p in pairs])
    sab = np.zeros(idx_a.size)
    for blk in iter_fields(lon, lat, mu, tau, phi, "PGA", n_real, seed=seed, workers=workers, plan=plan):
        d = blk - mu
        s1 += d.sum(axis=0)
        s2 += np.einsum("ij,ij->j", d, d)
        sab += np.einsum("ij,ij->j", d[:, idx_a], d[:, idx_b])
    total = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    mean = s1 / n_real
    var = s2 / n_real - mean**2
    cov = sab / n_real - mean[idx_a] * mean[idx_b]
    corr = cov / np.sqrt(var[idx_a] * var[idx_b])
    return plan, t_plan, total, peak, var, corr


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sites", type=int, default=100_000)
    p.add_argument("--realisations", type=int, default=1000)
    p.add_argument("--big-sites", type=int, default=1_000_000)
    p.add_argument("--extent", type=float, default=200.0, help="side of the square, km")
    p.add_argument("--seed", type=int, default=20240)
    p.add_argument("--strict", action="store_true")
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    tau, phi = 0.3, 0.5
    ok = True
    targets_met = True

    # warm-up (imports, FFT plans), untimed
    wl, wt = square(2000, 20.0, rng)
    simulate_fields(wl, wt, 0.0, tau, phi, "PGA", 4, seed=1, exact_max_sites=0)

    lon, lat = square(args.sites, args.extent, rng)
    mu = ln_mean(lon, lat)
    pairs = pick_pairs(lon, lat, rng, 2000)
    print(f"(a) {args.sites:,} sites x {args.realisations:,} realisations, PGA, "
          f"{args.extent:g} km square, iter_fields streamed")
    for workers in (1, 2):
        plan, t_plan, total, peak, var, corr = row_a(lon, lat, mu, tau, phi, args.realisations,
                                                     args.seed, workers, pairs)
        met = total <= 20.0
        targets_met &= met
        print(f"    workers={workers}: total {total:6.2f} s (plan {t_plan:.2f} s), "
              f"tracemalloc peak {peak / 2**20:.0f} MiB  target <= 20 s: {'met' if met else 'MISSED'}")
    print(f"    plan: method={plan.method} spacing={plan.grid_spacing_km:.4g} km grid={plan.grid_shape} "
          f"embedding={plan.embedding_shape} clipped={plan.clipped_eigen_fraction:.1e} "
          f"near_bound={plan.near_error_bound:.4f} far_bound={plan.far_error_bound:.4f}")
    s2 = tau**2 + phi**2
    mvar = float(var.mean())
    check = abs(mvar / s2 - 1.0) <= 0.03
    ok &= check
    print(f"    check: mean per-site variance {mvar:.4f} vs tau^2 + phi^2 = {s2:.4f}  "
          f"{'ok' if check else 'FAIL'}")
    start = 0
    print("    check: separation bin (km) | pairs | empirical corr | model | max |implied - rho|")
    for (lo, hi), (a, b) in zip(BINS, pairs):
        k = a.size
        if k == 0:
            continue
        h = great_circle_km(lon[a], lat[a], lon[b], lat[b])
        rho = spatial_correlation(h, "PGA")
        model = float(np.mean((tau**2 + phi**2 * rho) / s2))
        emp = float(corr[start: start + k].mean())
        start += k
        err = float(np.abs(plan.implied_correlation(a, b) - rho).max())
        good = abs(emp - model) <= 0.03
        ok &= good
        print(f"      [{lo:5.1f}, {hi:5.1f}) | {k:5d} | {emp:.4f} | {model:.4f} | {err:.4f}  "
              f"{'ok' if good else 'FAIL'}")

    t0 = time.perf_counter()
    full = simulate_fields(lon, lat, mu, tau, phi, "PGA", args.realisations, seed=args.seed, workers=2)
    t_full = time.perf_counter() - t0
    print(f"(b) simulate_fields one-shot, workers=2: {t_full:6.2f} s, array {full.nbytes / 2**20:.0f} MiB")
    del full

    blon, blat = square(args.big_sites, args.extent, rng)
    bmu = ln_mean(blon, blat)
    for workers in (1, 2):
        t0 = time.perf_counter()
        f = simulate_fields(blon, blat, bmu, tau, phi, "PGA", 1, seed=args.seed, workers=workers)
        t_big = time.perf_counter() - t0
        met = t_big <= 3.0
        targets_met &= met
        sd = float((f[0] - bmu).std())
        print(f"(c) {args.big_sites:,} sites x 1, workers={workers}: {t_big:6.2f} s  "
              f"target <= 3 s: {'met' if met else 'MISSED'}  (sd of ln IM - mean {sd:.3f})")

    elon, elat = square(5000, 60.0, rng)
    t0 = time.perf_counter()
    e = simulate_fields(elon, elat, 0.0, tau, phi, "PGA", args.realisations, seed=args.seed)
    print(f"(d) exact method, 5,000 sites x {args.realisations:,}: {time.perf_counter() - t0:6.2f} s "
          f"(variance {float(e.var(axis=0).mean()):.4f})")
    del e

    slon, slat = square(300, args.extent, rng)
    smu = ln_mean(slon, slat)
    obs = smu + 0.25 + rng.normal(0.0, phi, 300)
    t0 = time.perf_counter()
    cf = condition_on_stations(slon, slat, obs, smu, tau, phi, lon, lat, mu, tau, phi, "PGA", obs_sigma=0.05)
    t_cond = time.perf_counter() - t0
    t0 = time.perf_counter()
    cs = cf.sample(100, seed=args.seed, workers=2)
    t_samp = time.perf_counter() - t0
    print(f"(e) 300 stations -> {args.sites:,} sites: mean/sd {t_cond:6.2f} s, 100 conditional "
          f"realisations {t_samp:6.2f} s (event term {cf.event_term:+.3f} +/- {cf.event_term_std:.3f}, "
          f"sd range {cf.std.min():.3f}..{cf.std.max():.3f}, sample sd/std {float((cs.std(0) / cf.std).mean()):.3f})")

    return verdict(ok, targets_met, args.strict)


if __name__ == "__main__":
    sys.exit(main())
