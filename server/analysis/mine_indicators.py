"""Rolling seismic indicators of a mine (or a volume of it) at a time.

Issue "[7] Mine seismic monitoring" (REFERENCES.md, "Mine seismicity").  All
indicators leave blasts out (they describe the blasting, not the rock mass; events of unknown type count)
in the window ``(t - window, t]``, compared with the reference period
``(t - window - reference, t - window]`` cut into windows of the same length:

``n_events``, ``rate_per_day``
    Tremors in the window, and per day.
``energy_j``
    Seismic energy released in the window (events with an energy).
``frequency_deviation``, ``energy_deviation``
    How far the window's event count, and its log10 released energy, lie
    from the reference windows' mean, in reference standard deviations
    (Mendecki 1997, ch. "seismic monitoring": activity and energy deviations;
    energy on a log scale because released energy is heavy-tailed).  Only
    reference windows the catalogue covers count (they start at or after its
    first event); None with fewer than 7 of them (a week of daily windows) or
    no spread.
``b_value``, ``b_std``, ``mc``
    Aki-Utsu b and Shi & Bolt sigma of the window above ``mc``
    (:mod:`quakewatch.ext.gutenberg_richter`); ``mc`` fixed by the rule table,
    else MAXC (+0.2) on the window and reference together; None with fewer
    than ``min_events`` events above it.
``apparent_stress_pa``
    Median of ``mu E / M0`` over window events with both (Wyss & Brune 1968;
    REFERENCES.md).
``energy_index``
    Median of ``E / E(M0)`` over the window, with ``log10 E(M0) = c + d log10
    M0`` fitted on the reference events (van Aswegen & Butler 1993); None with
    fewer than 10 reference events with both.
``cumulative_apparent_volume_m3``
    Sum of ``M0^2 / (2 mu E)`` over the window (Mendecki 1997).

The source quantities (energy-moment fit, energy index, apparent volume) are
those of :mod:`quakewatch.ext.mine_source`, which also measures E and M0 from
waveforms.
``max_magnitude``
    Largest tremor magnitude in the window.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from quakewatch.ext.gutenberg_richter import b_value, completeness_maxc
from quakewatch.ext.mine_source import apparent_volume, energy_index, fit_energy_moment

from .mine_catalog import MineCatalog

__all__ = ["MineIndicators", "indicators"]

_MIN_REFERENCE_EI = 10


@dataclass(frozen=True)
class MineIndicators:
    time_s: float
    window_s: float
    reference_s: float
    n_events: int
    rate_per_day: float
    energy_j: float
    frequency_deviation: float | None
    energy_deviation: float | None
    b_value: float | None
    b_std: float | None
    mc: float | None
    apparent_stress_pa: float | None
    energy_index: float | None
    cumulative_apparent_volume_m3: float | None
    max_magnitude: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_MIN_REFERENCE_WINDOWS = 7


def _deviation(value: float, reference: list[float]) -> float | None:
    if len(reference) < _MIN_REFERENCE_WINDOWS:
        return None
    sd = float(np.std(reference, ddof=1))
    if not sd > 0:
        return None
    return (value - float(np.mean(reference))) / sd


def _log_energy(e: np.ndarray) -> float:
    total = float(np.nansum(e))
    return math.log10(total) if total > 0 else 0.0


def indicators(catalog: MineCatalog, t_s: float, *, window_s: float = 86400.0, reference_s: float = 30 * 86400.0,
               mc: float | None = None, min_events: int = 30, bin_width: float = 0.1, mu_pa: float = 3.0e10,
               coverage_start_s: float | None = None) -> MineIndicators:
    """The indicators of ``catalog`` at epoch time ``t_s`` (module docstring).

    ``coverage_start_s``: when the catalogue's coverage began (default: its first
    event), for a catalogue loaded from a longer one.
    """
    if not (window_s > 0 and reference_s >= 0 and mu_pa > 0 and min_events >= 2):
        raise ValueError("window_s and mu_pa must be > 0, reference_s >= 0, min_events >= 2")
    cat = catalog.tremors
    t = cat.time_s
    in_win = (t > t_s - window_s) & (t <= t_s)
    in_ref = (t > t_s - window_s - reference_s) & (t <= t_s - window_s)
    w = cat.select(in_win)
    n = len(w)
    n_ref_windows = int(reference_s // window_s)
    counts, energies = [], []
    start = coverage_start_s if coverage_start_s is not None else (
        float(catalog.time_s.min()) if len(catalog) else math.inf)  # the catalogue covers nothing before
    for k in range(n_ref_windows):
        hi = t_s - window_s * (k + 1)
        if hi - window_s < start:
            break
        sel = (t > hi - window_s) & (t <= hi)
        counts.append(float(sel.sum()))
        energies.append(_log_energy(cat.energy_j[sel]))
    mags_all = cat.magnitude[in_win | in_ref]
    mc_used = mc
    if mc_used is None and mags_all.size >= 2:
        mc_used = completeness_maxc(mags_all, bin_width=bin_width)
    b = b_std = None
    if mc_used is not None:
        above = w.magnitude[w.magnitude >= mc_used - 1e-6]
        if above.size >= min_events and np.ptp(above) > 0:
            fit = b_value(above, mc=mc_used, bin_width=bin_width)
            b, b_std = fit.b, fit.b_std
    both = np.isfinite(w.energy_j) & np.isfinite(w.moment_nm)
    e, m0 = w.energy_j[both], w.moment_nm[both]
    stress = float(np.median(mu_pa * e / m0)) if e.size else None
    volume = float(np.sum(apparent_volume(m0, e, mu_pa))) if e.size else None
    ref = cat.select(in_ref)
    rb = np.isfinite(ref.energy_j) & np.isfinite(ref.moment_nm)
    ei = None
    if rb.sum() >= _MIN_REFERENCE_EI and e.size and np.ptp(np.log10(ref.moment_nm[rb])) > 0:
        fit = fit_energy_moment(ref.energy_j[rb], ref.moment_nm[rb])
        ei = float(np.median(energy_index(e, m0, c=fit.c, d=fit.d)))
    return MineIndicators(
        time_s=float(t_s), window_s=float(window_s), reference_s=float(reference_s), n_events=n,
        rate_per_day=n / (window_s / 86400.0), energy_j=float(np.nansum(w.energy_j)),
        frequency_deviation=_deviation(float(n), counts), energy_deviation=_deviation(_log_energy(w.energy_j), energies),
        b_value=b, b_std=b_std, mc=mc_used, apparent_stress_pa=stress, energy_index=ei,
        cumulative_apparent_volume_m3=volume, max_magnitude=float(w.magnitude.max()) if n else None,
    )
