"""What an event was: ground-motion metrics per channel, GB/T 17742-2020 intensity per
three-component station, peak response per sensor array, and a classification with
its reasons.

Stations
    Within one detector window (the channels one stream carries), acceleration channels
    are grouped by ``array_id`` (or, without one, by SEED station and location). A group
    with exactly one vertical component (dip within 10 deg of +/-90, or orientation
    ``Z``/``U``/``3``) and two horizontal ones is a station. It is *free field* when all
    three sit at ground level (floor 0 and height 0).
Classification (rules applied in this order; the features are reported as reasons)
    * blast: a mine or tunnel, mean frequency ``f_m`` above 10 Hz and significant duration
      D5-95 below 2 s (waveform only: no blasting schedule is known here);
    * local impact: fewer than half of the motion channels triggered, the strongest
      array at least 3x the median array peak, and D5-95 below 3 s;
    * earthquake: at least half of the motion channels triggered, D5-95 of at least
      2 s and ``f_m`` below 15 Hz;
    * unknown otherwise.
    ``f_m = 1 / T_m``, with the mean period ``T_m`` of Rathje et al. (1998): Fourier
    amplitudes ``C_i`` weighted as ``sum(C_i^2 / f_i) / sum(C_i^2)`` over 0.25-20 Hz.

References
----------
Rathje, E. M., Abrahamson, N. A., Bray, J. D. (1998). Simplified frequency content
    estimates of earthquake ground motions. J. Geotech. Geoenviron. Eng. 124(2).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from quakewatch.ext import motion
from quakewatch.v1 import events_pb2

from .detector import NS, ChannelMeta, DetectedEvent, Window

PERIODS_S = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
BLAST_MIN_FM_HZ, BLAST_MAX_D595_S = 10.0, 2.0
IMPACT_MIN_CONCENTRATION, IMPACT_MAX_D595_S = 3.0, 3.0
QUAKE_MIN_D595_S, QUAKE_MAX_FM_HZ = 2.0, 15.0


def code_version() -> str:
    try:
        return version("quakewatch")
    except PackageNotFoundError:  # running from a source tree
        return "unknown"


def _is_vertical(m: ChannelMeta) -> bool:
    return abs(abs(m.dip_deg) - 90.0) <= 10.0 or m.orientation.upper() in ("Z", "U", "3")


def _station_key(m: ChannelMeta) -> str:
    if m.array_id:
        return m.array_id
    parts = m.seed_id.split(".")
    return ".".join(parts[1:3]) if len(parts) == 4 else m.channel_id


@dataclass(frozen=True)
class Station:
    name: str
    window: Window
    rows: tuple[int, int, int]  # horizontal, horizontal, vertical
    free_field: bool


def stations(windows: list[Window]) -> list[Station]:
    out = []
    for w in windows:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, m in enumerate(w.channels):
            if m.units == "acceleration_mps2":
                groups[_station_key(m)].append(i)
        for name, rows in sorted(groups.items()):
            vert = [i for i in rows if _is_vertical(w.channels[i])]
            hor = [i for i in rows if i not in vert]
            if len(vert) == 1 and len(hor) == 2:
                ground = all(w.channels[i].floor == 0 and w.channels[i].height_m == 0 for i in rows)
                out.append(Station(name, w, (hor[0], hor[1], vert[0]), ground))
    return out


def _finite(v: float) -> float:
    """Intensity indices of zero motion are -inf: reported as 0 (the intensity itself is 1.0)."""
    return v if np.isfinite(v) else 0.0


def _pre_event_s(w: Window, onset_ns: int) -> float | None:
    """Seconds of the window before the onset (its mean is the baseline); None when none."""
    pre = (onset_ns - w.start_ns) / NS
    return pre if pre >= 2.0 / w.rate_hz else None


def station_intensities(windows: list[Window], onset_ns: int) -> list[events_pb2.StationIntensity]:
    """GB/T 17742-2020 intensity of every station, each window's pre-onset mean as baseline."""
    out = []
    for st in stations(windows):
        d = st.window.data
        if d.shape[1] < 2 or st.window.rate_hz <= 20.0:  # the 10 Hz corner needs fs > 20 Hz
            continue
        r = motion.instrumental_intensity(d[st.rows[0]], d[st.rows[1]], d[st.rows[2]], st.window.rate_hz, pre_event_s=_pre_event_s(st.window, onset_ns))
        out.append(
            events_pb2.StationIntensity(
                station=st.name,
                channel_ids=[st.window.channels[i].channel_id for i in st.rows],
                intensity=r.intensity,
                degree=r.degree,
                pga_mps2=r.pga_mps2,
                pgv_mps=r.pgv_mps,
                i_pga=_finite(r.i_pga),
                i_pgv=_finite(r.i_pgv),
                mmi=float(motion.mmi_worden2012(r.pgv_mps, "pgv_mps")),
                free_field=st.free_field,
            )
        )
    return out


def summary_fields(msg: events_pb2.Event, *, stations: list[events_pb2.StationIntensity]) -> None:
    """Station intensities and the event's largest (free-field stations first)."""
    del msg.stations[:]
    msg.stations.extend(stations)
    pool = [s for s in stations if s.free_field] or stations
    if pool:
        best = max(pool, key=lambda s: s.intensity)
        msg.max_intensity, msg.max_degree = best.intensity, best.degree


def _mean_frequency_hz(acc: np.ndarray, rate_hz: float) -> float:
    """1 / T_m (Rathje et al. 1998) over 0.25-20 Hz; 0 when there is no energy there."""
    if acc.size < 4:
        return 0.0
    amp = np.abs(np.fft.rfft(acc - acc.mean()))
    f = np.fft.rfftfreq(acc.size, 1.0 / rate_hz)
    band = (f >= 0.25) & (f <= min(20.0, rate_hz / 2))
    c2 = amp[band] ** 2
    total = c2.sum()
    if total <= 0:
        return 0.0
    return float(total / (c2 / f[band]).sum())


def characterize(msg: events_pb2.Event, ev: DetectedEvent, structure_kind: str) -> None:
    """Fill the metrics, intensities, array peaks, classification and provenance of a closed event."""
    windows = ev.windows
    periods = np.array(PERIODS_S)
    strongest: tuple[float, float, float] = (0.0, 0.0, 0.0)  # pga, fm, d5-95
    array_peaks: dict[str, tuple[float, int, float]] = {}
    for w in windows:
        for i, m in enumerate(w.channels):
            if m.units != "acceleration_mps2":
                continue
            acc = w.data[i]
            if acc.size < 2:
                continue
            met = motion.channel_metrics(acc, w.rate_hz, periods_s=periods, pre_event_s=_pre_event_s(w, ev.trigger_time_ns))
            msg.channels.append(
                events_pb2.ChannelMotion(
                    channel_id=m.channel_id,
                    seed_id=m.seed_id,
                    array_id=m.array_id,
                    orientation=m.orientation,
                    trigger_time_ns=ev.first_trigger_ns.get(m.channel_id, 0),
                    peak_sta_lta=ev.peak_sta_lta.get(m.channel_id, 0.0),
                    pga_mps2=met.pga_mps2,
                    pgv_mps=met.pgv_mps,
                    pgd_m=met.pgd_m,
                    arias_mps=met.arias_mps,
                    cav_mps=met.cav_mps,
                    d5_75_s=met.d5_75_s,
                    d5_95_s=met.d5_95_s,
                    psa_mps2=met.spectrum.psa_mps2.tolist(),
                )
            )
            if met.pga_mps2 > strongest[0]:
                strongest = (met.pga_mps2, _mean_frequency_hz(acc, w.rate_hz), met.d5_95_s)
            key = m.array_id or m.channel_id
            prev = array_peaks.get(key, (0.0, m.floor, m.height_m))
            array_peaks[key] = (max(prev[0], met.pga_mps2), m.floor, m.height_m)
    msg.periods_s.extend(PERIODS_S)
    msg.max_pga_mps2 = strongest[0]
    summary_fields(msg, stations=station_intensities(windows, ev.trigger_time_ns))
    _arrays(msg, array_peaks)
    cls, reasons = classify(
        structure_kind,
        triggered=len(ev.first_trigger_ns),
        n_channels=ev.n_channels,
        fm_hz=strongest[1],
        d5_95_s=strongest[2],
        array_peaks=[p[0] for p in array_peaks.values()],
    )
    msg.classification = cls
    msg.reasons.extend(reasons)
    start = min((w.start_ns for w in windows), default=ev.trigger_time_ns)
    msg.provenance.CopyFrom(
        events_pb2.Provenance(
            algorithm="recursive STA/LTA + array coincidence; GB/T 17742-2020 Annex A intensity; Nigam-Jennings response spectra",
            code_version=code_version(),
            parameters_json=json.dumps({"threshold_channels": ev.threshold, "periods_s": list(PERIODS_S), "damping": 0.05}),
            input_start_ns=start,
            input_end_ns=ev.end_time_ns,
        )
    )


def _arrays(msg: events_pb2.Event, peaks: dict[str, tuple[float, int, float]]) -> None:
    if not peaks:
        return
    base_key = min(peaks, key=lambda k: (peaks[k][2], peaks[k][1], k))
    base = peaks[base_key][0] if peaks[base_key][2] <= 0 and peaks[base_key][1] <= 0 else 0.0
    for key, (peak, floor, height) in sorted(peaks.items(), key=lambda kv: (kv[1][2], kv[1][1], kv[0])):
        msg.arrays.append(
            events_pb2.ArrayResponse(array_id=key, floor=floor, height_m=height, peak_acceleration_mps2=peak, amplification=peak / base if base > 0 else 0.0)
        )


def classify(kind: str, *, triggered: int, n_channels: int, fm_hz: float, d5_95_s: float, array_peaks: list[float]) -> tuple[events_pb2.EventClass, list[str]]:
    """Event class and the reasons (rules in the module docstring)."""
    frac = triggered / n_channels if n_channels else 0.0
    med = float(np.median(array_peaks)) if array_peaks else 0.0
    conc = max(array_peaks) / med if med > 0 else 1.0
    facts = f"{triggered} of {n_channels} motion channels triggered; mean frequency {fm_hz:.1f} Hz; D5-95 {d5_95_s:.1f} s; strongest array {conc:.1f}x the median"
    if kind in ("mine", "tunnel") and fm_hz > BLAST_MIN_FM_HZ and d5_95_s < BLAST_MAX_D595_S:
        return events_pb2.EVENT_CLASS_BLAST, [f"short ({d5_95_s:.1f} s < {BLAST_MAX_D595_S:g} s) high-frequency ({fm_hz:.1f} Hz > {BLAST_MIN_FM_HZ:g} Hz) motion in a {kind}: blast-like; no blasting schedule known", facts]
    if frac < 0.5 and conc >= IMPACT_MIN_CONCENTRATION and d5_95_s < IMPACT_MAX_D595_S:
        return events_pb2.EVENT_CLASS_LOCAL_IMPACT, [f"motion concentrated on one array ({conc:.1f}x the median) and short ({d5_95_s:.1f} s): a local impact", facts]
    if frac >= 0.5 and d5_95_s >= QUAKE_MIN_D595_S and fm_hz < QUAKE_MAX_FM_HZ:
        return events_pb2.EVENT_CLASS_EARTHQUAKE, [f"the whole array shook ({frac:.0%} of channels) for {d5_95_s:.1f} s at {fm_hz:.1f} Hz: earthquake-like", facts]
    return events_pb2.EVENT_CLASS_UNKNOWN, ["no rule matched", facts]

