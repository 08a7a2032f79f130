"""Acceptance of issue "[8] Regional association, rapid parameters and earthquake early warning"
on replayed synthetic network events (prints a table; exit 1 if a criterion fails).

Truth. ``tests/eew_synthetics.py``: 64 structures on a jittered 12 km grid; epicentres
inside the network, depth 5-20 km, Mw 3-6.5; P and S times from ObsPy TauP (IASP91,
spherical; the locator uses its own flat-layer IASP91 crust); picks with 0.05 s
Gaussian noise; waveforms from the Boore (2003) stochastic model
(``ext.stochastic``) aligned on the TauP P time, plus 1e-4 m/s^2 noise.

What is measured (all times are data time, i.e. when the samples exist; the wall
clock of the kernels is printed separately):

1. Replaying the P picks in time order through ``PickAssociator`` (with the station
   inventory): ``t_loc`` = time of the pick that created the event; ``t_4`` = the
   4th P arrival; the first alert needs a location and a magnitude from at least
   0.5 s of P at one station, so ``t_alert = max(t_loc, t_P1 + 0.5 s)``.  Criterion:
   ``t_alert - t_4 <= 5 s`` in every event.  Epicentre error of the first location
   (criterion: median <= 10 km) and of the final one.
2. Magnitude at ``t_4 + 3 s``: Mpd (Wu & Zhao 2006) at the event's stations picked
   by then (at most 8), window ``min(3 s, available)``, hypocentral distance from the
   location at that time; network average.  Criterion: std of ``Mpd - Mw`` <= 0.4
   (the mean bias is printed: it says how ``ext.stochastic``'s P waves compare
   with the empirical relation, not how the kernels work).
3. Basic parameters for M >= 2.5 within 30 s of the origin: ML (IASPEI / Hutton &
   Boore 1987 fallback) from the records cut at ``t0 + 30 s``, stations whose S
   arrival is at least 5 s before the cut (at most 8); ready when the location and
   at least 4 such stations exist.  Criterion: ready at or before ``t0 + 30 s``.
4. Negative cases: 100 spikes in 10 min, a 60-pick burst on one structure, a
   teleseismic plane wave (per seed); criterion: no event.

Usage: ``python benchmarks/eew_accuracy.py [--events 30] [--seed 0]``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import eew_synthetics as syn  # noqa: E402
from quakewatch.ext.early_magnitude import local_magnitude, magnitude_from_pd, network_magnitude, p_wave_parameters  # noqa: E402
from quakewatch.ext.geodesy import EARTH_RADIUS_KM, haversine  # noqa: E402
from quakewatch.ext.pick_association import PickAssociator  # noqa: E402


def _epi_err(loc: object, ev: syn.Event) -> float:
    return float(haversine(loc.lon_deg, loc.lat_deg, ev.lon, ev.lat, EARTH_RADIUS_KM))  # type: ignore[attr-defined]


def run_event(net: syn.Network, seed: int) -> dict[str, float]:
    ev = syn.event(net, seed, backend="taup")
    a = PickAssociator(*syn.CENTER, stations=net.inventory)
    t4 = ev.p_picks[3].time_s
    first = None
    loc_at_mag = None
    wall = 0.0
    for p in ev.p_picks:
        w0 = time.perf_counter()
        out = a.add(p)
        wall = max(wall, time.perf_counter() - w0)
        if out and first is None:
            first = (p.time_s, out[0])
        if p.time_s <= t4 + 3.0 and a.events:
            loc_at_mag = a.events[0]
    final = a.events[0] if a.events else None
    res: dict[str, float] = {"mw": ev.mw, "depth": ev.depth_km, "max_wall_s": wall}
    if first is None or final is None or loc_at_mag is None:
        res.update(alert_delay=math.inf, epi_first=math.inf, epi_final=math.inf, mpd_err=math.nan, ml_err=math.nan,
                   ml_ready=math.inf)
        return res
    t_loc, cand = first
    t1 = ev.p_picks[0].time_s
    res["alert_delay"] = max(t_loc, t1 + 0.5) - t4
    res["epi_first"] = _epi_err(cand.location, ev)
    res["epi_final"] = _epi_err(final.location, ev)
    res["n_first"] = cand.n_stations
    # 2. Mpd at t4 + 3 s
    loc = loc_at_mag.location
    idx = {sid: k for k, sid in enumerate(net.ids)}
    mags = []
    for p in loc_at_mag.picks[:8]:
        i = idx[p.station_id]
        acc, t_first = syn.waveform(ev, i, duration_s=40.0)
        ip = int(round((p.time_s - t_first) * syn.FS_HZ))
        n_avail = int(round((t4 + 3.0 - p.time_s) * syn.FS_HZ))
        if n_avail < int(0.5 * syn.FS_HZ) or ip < 1:
            continue
        pw = p_wave_parameters(acc[2][: ip + n_avail], syn.FS_HZ, ip)
        epi = float(haversine(loc.lon_deg, loc.lat_deg, net.lon[i], net.lat[i], EARTH_RADIUS_KM))
        mags.append(float(magnitude_from_pd(pw.pd_m, math.hypot(epi, loc.depth_km))))
    res["mpd_err"] = network_magnitude(mags, "WuZhao2006").value - ev.mw
    # 3. ML within 30 s of the origin
    cut = ev.t0 + 30.0
    order = np.argsort(ev.ts)
    mls, ready = [], math.inf
    for i in order[:8]:
        if ev.ts[i] + 5.0 > cut:
            break
        acc, t_first = syn.waveform(ev, int(i), duration_s=60.0)
        n = int(round((cut - t_first) * syn.FS_HZ))
        r = max(math.hypot(ev.dist_km[i], ev.depth_km), 10.0)
        mls.append(local_magnitude(acc[1][:n], acc[0][:n], syn.FS_HZ, r, pre_event_s=5.0).value)
        if len(mls) == 4:
            ready = float(ev.ts[i] + 5.0 - ev.t0)
    res["ml_err"] = float(np.median(mls)) - ev.mw if mls else math.nan
    res["ml_ready"] = ready
    return res


def negatives(net: syn.Network, seeds: range) -> dict[str, int]:
    out = {"spikes": 0, "burst": 0, "teleseism": 0}
    for s in seeds:
        for name, picks in (("spikes", syn.spikes(net, s, 100, 0.0, 600.0)),
                            ("burst", syn.burst(net, s, s % len(net.ids), 60, 10.0)),
                            ("teleseism", syn.teleseism(net, s, 50.0))):
            a = PickAssociator(*syn.CENTER, stations=net.inventory)
            out[name] += sum(len(a.add(p)) for p in picks)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    net = syn.network(seed=args.seed)
    t = time.perf_counter()
    rows = [run_event(net, args.seed * 10_000 + k) for k in range(args.events)]
    neg = negatives(net, range(args.seed * 100, args.seed * 100 + 5))
    delay = np.array([r["alert_delay"] for r in rows])
    epi1 = np.array([r["epi_first"] for r in rows])
    epi2 = np.array([r["epi_final"] for r in rows])
    mpd = np.array([r["mpd_err"] for r in rows])
    ml = np.array([r["ml_err"] for r in rows])
    ready = np.array([r["ml_ready"] for r in rows])
    wall = max(r["max_wall_s"] for r in rows)
    print(f"{args.events} events, TauP IASP91 truth, 64 stations on a 12 km jittered grid ({time.perf_counter() - t:.0f} s)")
    print(f"{'quantity':44s} {'value':>10s}  criterion")
    checks = [
        ("first alert - 4th P arrival, max (s)", float(np.max(delay)), float(np.max(delay)) <= 5.0, "<= 5"),
        ("first alert - 4th P arrival, median (s)", float(np.median(delay)), True, ""),
        ("epicentre error at first alert, median (km)", float(np.median(epi1)), float(np.median(epi1)) <= 10.0, "<= 10"),
        ("epicentre error at first alert, 90 % (km)", float(np.percentile(epi1, 90)), True, ""),
        ("epicentre error, all picks, median (km)", float(np.median(epi2)), True, ""),
        ("Mpd - Mw at 4th P + 3 s, std", float(np.nanstd(mpd, ddof=1)), float(np.nanstd(mpd, ddof=1)) <= 0.4, "<= 0.4"),
        ("Mpd - Mw at 4th P + 3 s, mean (bias)", float(np.nanmean(mpd)), True, "(reported)"),
        ("ML - Mw at origin + 30 s, mean", float(np.nanmean(ml)), True, "(reported)"),
        ("ML - Mw at origin + 30 s, std", float(np.nanstd(ml, ddof=1)), True, "(reported)"),
        ("basic parameters ready after origin, max (s)", float(np.max(ready)), float(np.max(ready)) <= 30.0, "<= 30"),
        ("false events: spikes / burst / teleseism", float(sum(neg.values())), sum(neg.values()) == 0,
         f"0 ({neg['spikes']}/{neg['burst']}/{neg['teleseism']})"),
        ("slowest add() call, wall clock (s)", wall, True, ""),
    ]
    ok = True
    for name, value, passed, crit in checks:
        ok &= bool(passed)
        print(f"{name:44s} {value:10.3f}  {crit} {'' if passed else 'FAILED'}")
    print("all acceptance criteria met" if ok else "acceptance criterion FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
