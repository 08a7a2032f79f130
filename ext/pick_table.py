"""Picks of one event, checked once: the shared front end of the mine and regional locators.

:class:`Pick` is an onset (station index, phase, time, optional 1-sigma);
:func:`parse_picks` validates a sequence of them into a :class:`PickTable` (times
relative to the earliest, one pick per station and phase); the weighted median and
the azimuthal gap are the two statistics both locators report.  numpy only; inputs
are never modified.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .layered_traveltime import Model, Phase, first_arrival_arrays, parse_phase, positive

__all__ = ["Pick", "PickTable", "azimuthal_gap_deg", "parse_picks", "residuals_and_jacobian", "weighted_median_rows"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Pick:
    """An onset time: station index, phase, time (s, any epoch), optional 1-sigma (s)."""

    station: int
    phase: Phase | str
    time_s: float
    sigma_s: float | None = None


@dataclass(frozen=True, slots=True)
class PickTable:
    """Validated picks: station indices, phases, times relative to ``t_ref`` (s), 1-sigma (s)."""

    station: IntArray
    phase: tuple[Phase, ...]
    is_s: BoolArray
    time_s: FloatArray  # relative to t_ref
    sigma_s: FloatArray
    t_ref: float


def parse_picks(picks: Sequence[Pick | tuple[object, ...]], n_sta: int, default_sigma_s: float) -> PickTable:
    """At least 4 picks, one per station and phase, stations in ``[0, n_sta)``; errors name the pick."""
    if isinstance(picks, (str, bytes)) or not isinstance(picks, Sequence):
        raise ValueError(f"picks must be a sequence of Pick or (station, phase, time_s[, sigma_s]), got {type(picks).__name__}")
    if len(picks) < 4:
        raise ValueError(f"picks: at least 4 picks are needed for 4 unknowns (x, y, z, t0), got {len(picks)}")
    sta, ph, t, sg = [], [], [], []
    seen: set[tuple[int, Phase]] = set()
    for i, pk in enumerate(picks):
        if not isinstance(pk, Pick):
            if not isinstance(pk, tuple) or len(pk) not in (3, 4):
                raise ValueError(f"picks[{i}] must be a Pick or (station, phase, time_s[, sigma_s]), got {pk!r}")
            pk = Pick(*pk)  # type: ignore[arg-type]
        s = pk.station
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or not 0 <= int(s) < n_sta:
            raise ValueError(f"picks[{i}].station must be an integer in [0, {n_sta}), got {s!r}")
        phase = parse_phase(f"picks[{i}].phase", pk.phase)
        time = float(pk.time_s)
        if not math.isfinite(time):
            raise ValueError(f"picks[{i}].time_s must be finite, got {pk.time_s!r}")
        sigma = default_sigma_s if pk.sigma_s is None else positive(f"picks[{i}].sigma_s", pk.sigma_s)
        if (int(s), phase) in seen:
            raise ValueError(f"picks[{i}]: duplicate {phase.value} pick at station {int(s)}")
        seen.add((int(s), phase))
        sta.append(int(s))
        ph.append(phase)
        t.append(time)
        sg.append(sigma)
    times = np.array(t)
    t_ref = float(times.min())
    return PickTable(np.array(sta, dtype=np.intp), tuple(ph), np.array([p is Phase.S for p in ph]),
                  times - t_ref, np.array(sg), t_ref)


def weighted_median_rows(d: FloatArray, w: FloatArray) -> FloatArray:
    """Per row of ``d`` (N, M), the weighted median with weights ``w`` (M,)."""
    order = np.argsort(d, axis=1)
    cw = np.cumsum(w[order], axis=1)
    k = np.argmax(cw >= 0.5 * cw[:, -1:], axis=1)
    out: FloatArray = np.take_along_axis(d, order[np.arange(d.shape[0]), k][:, None], axis=1)[:, 0]
    return out


def azimuthal_gap_deg(epi: FloatArray, stations: FloatArray) -> float:
    """Largest azimuthal gap (deg) between ``stations`` (N, 2+) seen from ``epi`` (x, y)."""
    dx = stations[:, 0] - epi[0]
    dy = stations[:, 1] - epi[1]
    keep = np.hypot(dx, dy) > 1e-6
    az = np.sort(np.degrees(np.arctan2(dx[keep], dy[keep])) % 360.0)
    if az.size < 2:
        return 360.0
    gaps = np.diff(np.concatenate((az, [az[0] + 360.0])))
    return float(gaps.max())


def residuals_and_jacobian(model: Model, pk: PickTable, stations_xyz_m: FloatArray,
                           m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Residuals (s) of all picks at ``m = (x, y, z, t0)`` (m, m, m, s on the picks' axis)
    and d(residual)/dm, shape (n, 4): the Gauss-Newton step of both locators."""
    rcv = stations_xyz_m[pk.station]
    t = np.empty(pk.station.size)
    jac = np.empty((pk.station.size, 4))
    for phase, sel in ((Phase.P, ~pk.is_s), (Phase.S, pk.is_s)):
        if sel.any():
            src = np.broadcast_to(m[:3], (int(sel.sum()), 3))
            t[sel], jac[sel, :3] = first_arrival_arrays(model, phase, src, rcv[sel])
    jac[:, :3] *= -1.0
    jac[:, 3] = -1.0
    return pk.time_s - m[3] - t, jac
