"""A mine event from its waveforms: picks, location, source size and blast/tremor class.

Issue "[7] Mine seismic monitoring", the live path.  Input: the windows the detector
buffered for an open event on a structure of kind ``mine`` (every channel's samples
from ``pre_event_s`` before the first trigger to now, physical units) and each
channel's trigger-on time.  Steps, each a kernel of ``quakewatch.ext``:

1. **Stations.**  Channels are grouped into sensors by ``array_id`` (a sensor's
   components share it; a channel with none is a sensor of its own).  Positions are
   the channels' ``x_m, y_m, z_m`` (the mine's local frame: east, north, up).
   Components are rotated to east/north/up from their ``azimuth_deg`` / ``dip_deg``
   (vertical when the orientation code is ``Z`` or ``|dip| > 45``, SEED dip -90 = up;
   an ``E`` component registered with azimuth 0 is taken as the SEED 90).  Acceleration is
   integrated to velocity (causal high-pass first: :data:`INTEGRATION_HIGHPASS_HZ`).
2. **P picks** (:func:`quakewatch.ext.onset_picker.pick_onset`): three-component AIC
   in ``[trigger - p_before_s, trigger + p_after_s]`` of each triggered sensor, after a
   causal Butterworth high-pass (``highpass_hz``, order 4; causal so that no energy
   leaks ahead of the onset); kept when the SNR is at least ``min_snr``.
3. **Location** (:mod:`quakewatch.ext.mine_location`): P picks with their AIC
   uncertainty, robust first pass, outliers rejected; then **S picks** on the
   horizontal components in a window around the predicted S time, between the P pick
   and the S prediction plus the same margin, and a second location from P and S.
4. **Size** (:mod:`quakewatch.ext.mine_source`): per sensor, P (up to the S pick) and
   S (``s_window_s``) velocity spectra -> seismic moment, corner frequency and radiated
   energy; combined over sensors; magnitude is the moment magnitude ``Mw`` (Hanks &
   Kanamori 1979), stated as such.
5. **Class** (:mod:`quakewatch.ext.blast_discrimination`): blasting schedule and known
   faces, first-motion polarity, S/P ratio, spectral content, ripple firing: blast,
   tremor or unknown with per-feature reasons.

A failure at any step is a result with ``located = False`` and the reason, never an
exception: an event the array cannot locate is still an event (its catalogue entry
waits for a human), and the next event must be analysed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, sosfilt

from quakewatch.ext.blast_discrimination import (BlastDiscrimination, BlastingWindow, EventOrigin, Quantity,
                                                 StationRecord, discriminate)
from quakewatch.ext.mine_location import MineLocation, MineLocator, Pick
from quakewatch.ext.mine_source import EventSource, StationSource, combine, source_parameters
from quakewatch.ext.layered_traveltime import ConstantVelocity, LayeredVelocity, Model, travel_time
from quakewatch.ext.onset_picker import pick_onset

from .detector import ChannelMeta, Window

__all__ = ["LiveMineEvent", "MineArrayOptions", "Sensor", "analyse", "sensors"]

FloatArray = npt.NDArray[np.float64]
NS = 1_000_000_000
INTEGRATION_HIGHPASS_HZ = 2.0
#: S onsets come out of the P coda, emergent after attenuation: their picks are late by
#: a millisecond or two (the AIC takes the largest change of variance, not the first
#: motion) and, as in the usual weighting classes, count as twice as uncertain as P.
S_SIGMA_FACTOR = 2.0
#: a P spectrum needs the S-P time to span a few periods of the corner: the fit starts
#: at 2 / T, so shorter windows never see the plateau and overestimate the moment
P_MIN_WINDOW_S = 0.1
#: spectral windows start this fraction of their length before the pick: the Tukey
#: taper of ``source_parameters`` (5 % at each end) must not eat the onset, where a
#: Brune pulse has most of its velocity (cutting it leaves a spurious low-frequency
#: plateau: a moment several times too large)
TAPER_LEAD = 0.1
MIN_WINDOW_S = 0.2
ALGORITHM = "mine-live/1: 3-C AIC picks, grid search + robust least squares, Brune spectra, blast score"


@dataclass(frozen=True)
class MineArrayOptions:
    """The numbers of the live analysis (``MineSettings`` carries them)."""

    vp_mps: float = 5800.0
    vs_mps: float = 3350.0
    # flat layers (top depth below z = 0 in m, vp, vs), shallowest first; empty: constant vp_mps / vs_mps
    layers: tuple[tuple[float, float, float], ...] = ()

    def model(self) -> Model:
        if not self.layers:
            return ConstantVelocity(self.vp_mps, self.vs_mps)
        return LayeredVelocity(tuple(top for top, _, _ in self.layers[1:]), tuple(vp for _, vp, _ in self.layers),
                               tuple(vs for _, _, vs in self.layers))

    def speeds_at(self, z_m: float) -> tuple[float, float]:
        """P and S speed at a point (the source's layer)."""
        if not self.layers:
            return self.vp_mps, self.vs_mps
        vp, vs = self.layers[0][1:]
        for top, lvp, lvs in self.layers[1:]:
            if -z_m >= top:  # z is up; depths are below z = 0
                vp, vs = lvp, lvs
        return vp, vs
    density_kgpm3: float = 2700.0
    highpass_hz: float = 5.0
    p_before_s: float = 0.2
    p_after_s: float = 0.03
    min_snr: float = 3.0
    pick_sigma_floor_s: float = 0.001
    min_stations: int = 5
    s_window_s: float = 0.8
    q_p: float | None = None
    q_s: float | None = None


@dataclass(frozen=True, eq=False)
class Sensor:
    """One sensor: position, 3-C velocity (east, north, up) and its trigger time."""

    key: str
    xyz_m: FloatArray
    enu_mps: FloatArray  # (3, n); a missing component is zeros
    fs_hz: float
    start_s: float  # epoch seconds of sample 0
    trigger_s: float | None
    components: int


@dataclass(frozen=True)
class LiveMineEvent:
    """What the live analysis found; ``located`` False means only ``reasons`` are meaningful."""

    located: bool
    reasons: tuple[str, ...]
    location: MineLocation | None = None
    source: EventSource | None = None
    discrimination: BlastDiscrimination | None = None
    n_p: int = 0
    n_s: int = 0
    station_keys: tuple[str, ...] = ()
    parameters: dict[str, object] = field(default_factory=dict)

    @property
    def magnitude(self) -> float:
        return self.source.moment_magnitude if self.source is not None else math.nan

    @property
    def event_type(self) -> str:
        return self.discrimination.label.value if self.discrimination is not None else "unknown"


def _direction(m: ChannelMeta) -> FloatArray:
    """Unit vector (east, north, up) of a component's positive motion."""
    if m.orientation.upper().startswith("Z") or abs(m.dip_deg) > 45.0:
        return np.array([0.0, 0.0, -1.0 if m.dip_deg > 45.0 else 1.0])  # SEED dip: -90 is up
    az = math.radians(m.azimuth_deg if m.azimuth_deg or not m.orientation.upper().startswith("E") else 90.0)
    return np.array([math.sin(az), math.cos(az), 0.0])


def _velocity(x: FloatArray, fs: float, units: str) -> FloatArray | None:
    if units == "velocity_mps":
        return x
    if units == "acceleration_mps2":
        sos = butter(2, INTEGRATION_HIGHPASS_HZ, btype="highpass", fs=fs, output="sos")
        return np.cumsum(sosfilt(sos, x - x[0])) / fs
    return None  # displacement or non-motion: not used


def sensors(windows: Sequence[Window], first_trigger_ns: dict[str, int]) -> list[Sensor]:
    """Group the event's channels into sensors (module docstring, step 1)."""
    groups: dict[str, list[tuple[ChannelMeta, FloatArray, Window]]] = {}
    for w in windows:
        for i, m in enumerate(w.channels):
            if m.is_motion:
                groups.setdefault(m.array_id or m.channel_id, []).append((m, w.data[i], w))
    out = []
    for key, chans in sorted(groups.items()):
        fs = chans[0][2].rate_hz
        chans = [c for c in chans if c[2].rate_hz == fs]
        start_ns = max(c[2].start_ns for c in chans)
        n = min(c[1].size - round((start_ns - c[2].start_ns) * fs / NS) for c in chans)
        if n < 16:
            continue
        enu = np.zeros((3, n))
        used = 0
        for m, x, w in chans:
            off = round((start_ns - w.start_ns) * fs / NS)
            v = _velocity(np.asarray(x[off:off + n], dtype=np.float64), fs, m.units)
            if v is not None:
                enu += _direction(m)[:, None] * v[None, :]
                used += 1
        if not used:
            continue
        trig = [first_trigger_ns[m.channel_id] for m, _, _ in chans if m.channel_id in first_trigger_ns]
        m0 = chans[0][0]
        out.append(Sensor(key, np.array([m0.x_m, m0.y_m, m0.z_m], dtype=np.float64), enu, fs, start_ns / NS, min(trig) / NS if trig else None, used))
    return out


def _highpass(x: FloatArray, fs: float, f_hz: float) -> FloatArray:
    sos = butter(4, min(f_hz, 0.45 * fs), btype="highpass", fs=fs, output="sos")
    return sosfilt(sos, x - x[:, :1], axis=1)


def _pick(s: Sensor, rows: FloatArray, t_lo: float, t_hi: float, opts: MineArrayOptions,
          floor_s: float) -> tuple[float, float] | None:
    i0 = max(0, math.floor((t_lo - s.start_s) * s.fs_hz))
    i1 = min(rows.shape[1], math.ceil((t_hi - s.start_s) * s.fs_hz))
    if i1 - i0 < 16:
        return None
    try:
        on = pick_onset(rows[:, i0:i1], s.fs_hz)
    except ValueError:
        return None
    if on.at_edge or not on.snr >= opts.min_snr:
        return None
    return s.start_s + (i0 + on.index) / s.fs_hz, max(on.sigma_s, floor_s)


def _sources(sel: list[Sensor], loc: MineLocation, p_t: dict[int, float], s_t: dict[int, float], s_pred: FloatArray,
             opts: MineArrayOptions) -> list[StationSource]:
    out = []
    src = loc.xyz_m
    vp, vs = opts.speeds_at(loc.z_m)
    for i, s in enumerate(sel):
        r = float(np.linalg.norm(s.xyz_m - src))
        if not r > 0:
            continue
        v = s.enu_mps.T
        tp = p_t.get(i)
        ts = s_t.get(i, float(s_pred[i]))
        spans = []
        end_s = s.start_s + v.shape[0] / s.fs_hz
        length = min(opts.s_window_s, (end_s - ts) / (1.0 - TAPER_LEAD))  # what has arrived, up to s_window_s
        if length < MIN_WINDOW_S:
            continue
        if tp is not None:
            p_len = min(length, (ts - tp) / (1.0 - TAPER_LEAD))  # P until S arrives
            if p_len >= P_MIN_WINDOW_S:
                spans.append(("P", tp - TAPER_LEAD * p_len, tp + (1.0 - TAPER_LEAD) * p_len, vp, opts.q_p))
        spans.append(("S", ts - TAPER_LEAD * length, ts + (1.0 - TAPER_LEAD) * length, vs, opts.q_s))
        for phase, a, b, c, q in spans:
            i0, i1 = round((a - s.start_s) * s.fs_hz), round((b - s.start_s) * s.fs_hz)
            if i0 < 0 or i1 > v.shape[0] or i1 - i0 < 32:
                continue
            try:
                out.append(source_parameters(v[i0:i1], s.fs_hz, distance_m=r, phase=phase, velocity_mps=c,
                                             density_kgpm3=opts.density_kgpm3, q=q, shear_velocity_mps=vs))
            except ValueError:
                continue
    return out


def analyse(found: Sequence[Sensor], opts: MineArrayOptions, schedule: Sequence[BlastingWindow] = (),
            bounds_m: npt.ArrayLike | None = None) -> LiveMineEvent:
    """Picks, location, size and class of one event (module docstring)."""
    sel = [s for s in found if s.trigger_s is not None and np.isfinite(s.xyz_m).all()]
    params: dict[str, object] = {"vp_mps": opts.vp_mps, "vs_mps": opts.vs_mps, "layers": [list(x) for x in opts.layers],
                                 "highpass_hz": opts.highpass_hz, "min_snr": opts.min_snr}
    if len(sel) < opts.min_stations:
        return LiveMineEvent(False, (f"{len(sel)} triggered sensors with positions, {opts.min_stations} needed to locate",),
                             parameters=params)
    rows = [_highpass(s.enu_mps, s.fs_hz, opts.highpass_hz) for s in sel]
    picks: list[Pick] = []
    p_t: dict[int, float] = {}
    for i, (s, x) in enumerate(zip(sel, rows, strict=True)):
        assert s.trigger_s is not None
        got = _pick(s, x, s.trigger_s - opts.p_before_s, s.trigger_s + opts.p_after_s, opts, opts.pick_sigma_floor_s)
        if got is not None:
            p_t[i] = got[0]
            picks.append(Pick(i, "P", got[0], got[1]))
    if len(picks) < opts.min_stations:
        return LiveMineEvent(False, (f"{len(picks)} P picks with SNR >= {opts.min_snr:g}, {opts.min_stations} needed",),
                             n_p=len(picks), parameters=params)
    model = opts.model()
    locator = MineLocator(np.array([s.xyz_m for s in sel]), model=model, bounds_m=bounds_m)
    try:
        loc = locator.locate(picks)
    except ValueError as exc:
        return LiveMineEvent(False, (f"location failed: {exc}",), n_p=len(picks), parameters=params)
    s_pred = loc.origin_time_s + travel_time(model, loc.xyz_m[None, :], locator.stations_xyz_m, "S")
    p_pred = loc.origin_time_s + travel_time(model, loc.xyz_m[None, :], locator.stations_xyz_m, "P")
    s_t: dict[int, float] = {}
    for i, (s, x) in enumerate(zip(sel, rows, strict=True)):
        tp = p_t.get(i, float(p_pred[i]))
        margin = max(0.5 * (float(s_pred[i]) - tp), 3.0 / s.fs_hz * 8)
        got = _pick(s, x[:2], max(tp + 2.0 / s.fs_hz, float(s_pred[i]) - margin), float(s_pred[i]) + margin, opts,
                    S_SIGMA_FACTOR * opts.pick_sigma_floor_s)
        if got is not None:
            s_t[i] = got[0]
            picks.append(Pick(i, "S", got[0], got[1]))
    if s_t:
        try:
            loc = locator.locate(picks)
        except ValueError:
            s_t = {}
    used = {(pk.station, str(pk.phase)) for pk, u in zip(picks, loc.used, strict=False) if u}
    p_t = {i: t for i, t in p_t.items() if (i, "P") in used}  # outliers feed neither the spectra nor the class
    s_t = {i: t for i, t in s_t.items() if (i, "S") in used}
    reasons = [f"located from {len(p_t)} P and {len(s_t)} S picks; rms {loc.rms_s * 1e3:.1f} ms; "
               f"1-sigma radius {loc.sigma_radius_m:.0f} m; {len(loc.outliers)} outlier picks"]
    s_pred = loc.origin_time_s + travel_time(model, loc.xyz_m[None, :], locator.stations_xyz_m, "S")
    st_src = _sources(sel, loc, p_t, s_t, s_pred, opts)
    ev_src = combine(st_src) if st_src else None
    if ev_src is None:
        reasons.append("no spectrum fitted: size unknown")
    else:
        reasons.append(f"Mw {ev_src.moment_magnitude:.2f} (moment {ev_src.moment_nm:.3g} N m from {ev_src.n_stations} "
                       f"spectra), radiated energy {ev_src.energy_j:.3g} J")
    records = []
    for i, s in enumerate(sel):
        if i in p_t:
            records.append(StationRecord(s.xyz_m, s.enu_mps, s.fs_hz, s.start_s, p_t[i], s_t.get(i), Quantity.VELOCITY))
    disc = None
    try:
        disc = discriminate(EventOrigin.from_location(loc), records, schedule)
        reasons.append(f"{disc.label.value} (P(blast) {disc.probability_blast:.2f}): " + "; ".join(str(r) for r in disc.reasons))
    except ValueError as exc:
        reasons.append(f"blast/tremor not decided: {exc}")
    return LiveMineEvent(True, tuple(reasons), loc, ev_src, disc, len(p_t), len(s_t), tuple(s.key for s in sel), params)
