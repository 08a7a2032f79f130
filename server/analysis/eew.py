"""Earthquake early warning across the monitored structures (issue "[8] Regional
association, rapid parameters and earthquake early warning").

The structures' sensors form a network.  Each structure is a station at its registered
longitude, latitude and elevation:

1. **Pick.**  When a structure's detector opens an event (array coincidence, on the
   event loop), its onset is refined by a three-component AIC pick
   (:func:`quakewatch.ext.onset_picker.pick_onset`) on the structure's free-field
   sensor (or its first three-component sensor) in ``[trigger - pick_before_s, now]``;
   the STA/LTA trigger itself is the fallback.
2. **Associate and locate** (:class:`quakewatch.ext.pick_association.PickAssociator`):
   picks of at least ``min_stations`` structures that fit one hypocentre in the 1-D
   model form a network event; spikes, a burst on one structure and teleseisms never do.
3. **Magnitude** (:mod:`quakewatch.ext.early_magnitude`): Pd of the vertical
   displacement in the first ``min(3 s, available)`` of P at every associated
   structure, refreshed every second while its event is open; network value and
   spread, type ``Mpd`` (Wu & Zhao 2006).
4. **Report.**  ``report_delay_s`` after the origin, the automatic basic-parameter report
   (kind ``report``) goes to every tenant with structures: the located hypocentre with
   its uncertainties and ML (Hutton & Boore 1987 calibration, single-station values
   from the simulated Wood-Anderson peaks of structures at 10 km or more once they have
   recorded ``ml_after_s_s`` past the S wave; at least ``report_min_ml_stations``), or
   Mpd when too few; only for magnitudes of ``report_min_magnitude`` and more.
5. **Warn** (:mod:`quakewatch.ext.eew_prediction`): when the solution passes the alert
   filter (stations, RMS, magnitude), every registered structure whose predicted
   intensity reaches ``target_min_intensity`` gets an :class:`Alert` of kind ``eew``:
   predicted intensity, S-wave arrival time and warning time at that structure, with
   the network solution; later solutions are sent as updates (``update`` counts, CAP
   ``msgType`` Update) when the magnitude moves by ``update_magnitude_step`` or more
   stations join.

All of it runs on one worker thread, in pick order; the event loop only copies the
windows it hands over.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from quakewatch.ext.early_magnitude import (
    local_magnitude,
    magnitude_from_pd,
    network_magnitude,
    p_wave_parameters,
)
from quakewatch.ext.eew_prediction import SitePrediction, alert_decision, predict_sites
from quakewatch.ext.layered_traveltime import travel_time
from quakewatch.ext.onset_picker import pick_onset
from quakewatch.ext.pick_association import CandidateEvent, PickAssociator
from quakewatch.ext.regional_location import (
    RegionalLocation,
    RegionalLocator,
    StationPick,
    project,
)
from quakewatch.ext.regional_velocity import load_velocity_model
from quakewatch.v1 import alerts_pb2

from ..settings import EewSettings
from .cap import SENDER, CapArea, CapMessage, cap_time, render
from .characterize import Station
from .characterize import stations as three_component
from .detector import Window
from .fanout import AlertHub

__all__ = ["EewEngine", "Site"]

log = logging.getLogger(__name__)
NS = 1_000_000_000
P_WINDOW_S = 3.0  # Wu & Zhao (2006): the first 3 s of P
P_MIN_WINDOW_S = 0.5
REPORT_GIVE_UP_S = 40  # a late magnitude (more stations, the S waves) may still reach the threshold
FORGET_S = 600.0  # network events older than this (origin, data time) are dropped
ML_MIN_KM = 10.0  # the Hutton & Boore (1987) calibration starts here


@dataclass(frozen=True)
class Site:
    structure_id: str
    tenant: str
    lon_deg: float
    lat_deg: float
    elevation_m: float


@dataclass
class _NetEvent:
    uid: str
    stations: dict[str, float] = field(default_factory=dict)  # structure -> P pick time (s)
    pd_m: dict[str, float] = field(default_factory=dict)  # structure -> Pd
    ml: dict[str, float] = field(default_factory=dict)  # structure -> single-station ML
    mpd: tuple[float, float] = (math.nan, math.nan)  # latest network Mpd and its sd
    report_timer: threading.Timer | None = None
    reported: bool = False
    candidate: CandidateEvent | None = None
    update: int = 0
    sent_magnitude: float = math.nan
    sent_stations: int = 0
    first_sent: datetime | None = None


def _severity(intensity: float) -> tuple[str, str]:
    """(our severity, CAP severity) from a predicted intensity (GB/T 17742 degrees)."""
    if intensity >= 8.5:
        return "extreme", "Extreme"
    if intensity >= 6.5:
        return "severe", "Severe"
    if intensity >= 4.5:
        return "moderate", "Moderate"
    return "minor", "Minor"


class EewEngine:
    """Network picks -> events -> magnitude -> per-structure warnings."""

    def __init__(self, cfg: EewSettings, alerts: AlertHub) -> None:
        self.cfg = cfg
        self.alerts = alerts
        self.sites: dict[str, Site] = {}  # stations: located structures that stream
        self.targets: dict[str, Site] = {}  # warned: every located structure, streaming or not
        self._lock = threading.Lock()
        self._assoc: PickAssociator | None = None
        self._events: dict[int, _NetEvent] = {}
        self._station_event: dict[str, int] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qw-eew")
        self._model = load_velocity_model(cfg.velocity_model)
        self._pd_rel = cfg.magnitude_relation()  # Wu & Zhao (2006) unless a regional calibration is configured
        self.picks = 0
        self.alerts_sent = 0
        self._next_report_ns = 2**62  # data time at which the next report is due
        self._latest_ns = 0  # the latest data time seen (a replay may run ahead of the worker)

    # -- inventory (event loop) ---------------------------------------------------
    def site_changed(self, structure_id: str, site: Site | None) -> None:
        """A structure was (re)loaded; None: it is gone or has no location (not a station)."""
        with self._lock:
            if site is None:
                changed = self.sites.pop(structure_id, None) is not None
            else:
                changed = self.sites.get(structure_id) != site
                self.sites[structure_id] = site
            if changed:
                self._assoc = None  # rebuilt on the next pick with the new inventory
        self.target_changed(structure_id, site)

    def target_changed(self, structure_id: str, site: Site | None) -> None:
        """A registered structure's location (None: gone or no location): warning targets
        include structures whose sensors do not stream (an owner without a data link is
        warned all the same)."""
        with self._lock:
            if site is None:
                self.targets.pop(structure_id, None)
            else:
                self.targets[structure_id] = site

    def shutdown(self) -> None:
        for ev in list(self._events.values()):
            if ev.report_timer is not None:
                ev.report_timer.cancel()
        self._pool.shutdown(wait=True)

    # -- input (event loop) ----------------------------------------------------------
    def opened(self, structure_id: str, trigger_ns: int, windows: Callable[[], list[Window]]) -> None:
        if structure_id in self.sites:  # the windows are copied only for a structure that is a station
            self._pool.submit(self._guard, self._pick, structure_id, trigger_ns, windows())

    def data(self, end_ns: int) -> None:
        """A block ending at ``end_ns`` arrived (event loop): reports that are due go out."""
        if end_ns > self._latest_ns:
            self._latest_ns = end_ns
        if end_ns >= self._next_report_ns:  # unlocked read: the common case is "not yet"
            with self._lock:
                if end_ns < self._next_report_ns:
                    return
                self._next_report_ns = 2**62
            self._pool.submit(self._guard, self._due_reports, end_ns)

    def updated(self, structure_id: str, trigger_ns: int, windows: list[Window]) -> None:
        # queued behind the structure's pick (one worker, in order): whether the pick joined
        # a network event is decided there, not here
        if structure_id in self.sites:
            self._pool.submit(self._guard, self._refresh, structure_id, windows)

    def closed(self, structure_id: str, windows: list[Window]) -> None:
        """A structure's event closed (its whole record, post-event time included): the
        last chance for its Pd and ML."""
        self.updated(structure_id, 0, windows)

    @staticmethod
    def _guard(fn: Callable[..., None], *args: object) -> None:
        try:
            fn(*args)
        except Exception:  # one bad structure must not stop the warning for the others
            log.exception("early-warning task failed")

    # -- worker ----------------------------------------------------------------------
    def _associator(self) -> PickAssociator:
        if self._assoc is None:
            with self._lock:
                sites = list(self.sites.values())
            lon = float(np.mean([s.lon_deg for s in sites]))
            lat = float(np.mean([s.lat_deg for s in sites]))
            self._assoc = PickAssociator(lon, lat, radius_km=self.cfg.radius_km, min_stations=self.cfg.min_stations,
                                         locator=RegionalLocator(self._model),
                                         stations=[(s.structure_id, s.lon_deg, s.lat_deg, s.elevation_m) for s in sites])
            self._events.clear()
            self._station_event.clear()
        return self._assoc

    @staticmethod
    def _sensor(windows: list[Window]) -> Station | None:
        """The structure's free-field three-component sensor, else its first one."""
        found = three_component(windows)
        return next((s for s in found if s.free_field), found[0]) if found else None

    def _pick(self, structure_id: str, trigger_ns: int, windows: list[Window]) -> None:
        site = self.sites.get(structure_id)
        if site is None:
            return
        t_pick, sigma = trigger_ns / NS, self.cfg.trigger_sigma_s
        st = self._sensor(windows)
        if st is not None:
            fs, start_ns = st.window.rate_hz, st.window.start_ns
            i0 = max(0, round((trigger_ns / NS - self.cfg.pick_before_s - start_ns / NS) * fs))
            seg = st.window.data[list(st.rows), i0:]
            if seg.shape[1] >= 16:
                try:
                    on = pick_onset(seg, fs)
                    if not on.at_edge and on.snr >= self.cfg.min_snr:
                        t_pick, sigma = start_ns / NS + (i0 + on.index) / fs, max(on.sigma_s, 1.0 / fs)
                except ValueError:
                    pass
        self.picks += 1
        for key in [k for k, e in self._events.items()
                    if e.candidate is not None and e.candidate.location.origin_time_s < t_pick - FORGET_S]:
            old = self._events.pop(key)
            if old.report_timer is not None:
                old.report_timer.cancel()
            self._station_event = {sid: k for sid, k in self._station_event.items() if k != key}
        log.debug("eew pick structure=%s trigger=%.2f pick=%.2f sigma=%.3f lag_s=%.2f", structure_id, trigger_ns / NS, t_pick, sigma,
                  time.time() - t_pick)
        pick = StationPick(structure_id, site.lon_deg, site.lat_deg, site.elevation_m, t_pick, "P", sigma)
        for cand in self._associator().add(pick):
            ev = self._events.setdefault(cand.event_id, _NetEvent(uuid.uuid4().hex))
            ev.candidate = cand
            if ev.report_timer is None:
                # the report goes out when any structure's data reach origin + report_delay_s
                # (data()); the timer only covers data that stop before (in real time: the
                # same moment)
                due_s = cand.location.origin_time_s + self.cfg.report_delay_s
                with self._lock:
                    self._next_report_ns = min(self._next_report_ns, round(due_s * NS))
                if self._latest_ns >= round(due_s * NS):  # the data are already past it: after the queued work
                    self._pool.submit(self._guard, self._due_reports, self._latest_ns)
                delay = max(self.cfg.report_delay_s, due_s - time.time())
                ev.report_timer = threading.Timer(delay, self._pool.submit, args=(self._guard, self._report, ev))
                ev.report_timer.daemon = True
                ev.report_timer.start()
            for pk in cand.picks:
                ev.stations[pk.station_id] = pk.time_s
                self._station_event[pk.station_id] = cand.event_id
            if structure_id in ev.stations and st is not None:
                self._pd(ev, structure_id, st)
            self._evaluate(ev)

    def _refresh(self, structure_id: str, windows: list[Window]) -> None:
        ev = self._events.get(self._station_event.get(structure_id, -1))
        if ev is None or ev.candidate is None:
            return
        st = self._sensor(windows)
        if st is None:
            return
        before = len(ev.pd_m)
        self._pd(ev, structure_id, st)
        self._ml(ev, structure_id, st)

        if len(ev.pd_m) != before or ev.update == 0 or self.cfg.refresh_updates:
            self._evaluate(ev)

    def _pd(self, ev: _NetEvent, structure_id: str, st: Station) -> None:
        t_p = ev.stations.get(structure_id)
        if t_p is None:
            return
        acc_z, fs, start_ns = st.window.data[st.rows[2]], st.window.rate_hz, st.window.start_ns
        p_index = round((t_p - start_ns / NS) * fs)
        if not 0 < p_index < acc_z.size:
            return
        # only P: the window ends before the S wave predicted from the current solution
        window = P_WINDOW_S
        site, cand = self.sites.get(structure_id), ev.candidate
        if site is not None and cand is not None:
            window = min(window, self._s_time(cand.location, site)[0] - t_p)
        if window < P_MIN_WINDOW_S:
            return
        try:
            par = p_wave_parameters(acc_z, fs, p_index, window_s=window, min_window_s=P_MIN_WINDOW_S)
        except ValueError:
            return  # less than the minimum window of P so far
        ev.pd_m[structure_id] = par.pd_m

    def _evaluate(self, ev: _NetEvent) -> None:
        cand = ev.candidate
        if cand is None or not ev.pd_m:
            return
        loc = cand.location
        ids = [s for s in ev.pd_m if s in self.sites]
        if not ids:
            return
        x, y = project(loc.lon_deg, loc.lat_deg, np.array([self.sites[s].lon_deg for s in ids]),
                       np.array([self.sites[s].lat_deg for s in ids]))
        hyp_km = np.hypot(np.hypot(x, y) / 1000.0, loc.depth_km)
        mags = magnitude_from_pd(np.array([ev.pd_m[s] for s in ids]), hyp_km, self._pd_rel)
        net = network_magnitude(mags, self._pd_rel)
        ev.mpd = (net.value, net.std)
        now = time.time()
        with self._lock:
            sites = list(self.targets.values())
        pred = predict_sites(loc, net.value, np.array([s.lon_deg for s in sites]), np.array([s.lat_deg for s in sites]),
                             site_elevation_m=np.array([s.elevation_m for s in sites]), now_s=now,
                             magnitude_std=max(net.std, self.cfg.min_magnitude_std), magnitude_type=net.magnitude_type,
                             model=self._model)
        decision = alert_decision(loc, net.value, pred, min_stations=self.cfg.min_stations,
                                  min_magnitude=self.cfg.min_magnitude, min_intensity=self.cfg.target_min_intensity)
        if not decision.alert:
            log.debug("eew event=%s no alert: %s", ev.uid, "; ".join(decision.reasons))
            return
        moved = not math.isfinite(ev.sent_magnitude) or abs(net.value - ev.sent_magnitude) >= self.cfg.update_magnitude_step
        if ev.update and not (moved or loc.n_stations >= ev.sent_stations + self.cfg.update_station_step):
            return
        ev.update += 1
        ev.sent_magnitude, ev.sent_stations = net.value, loc.n_stations
        sent = datetime.fromtimestamp(now, tz=UTC)
        if ev.update == 1:
            ev.first_sent = sent
        for k, s in enumerate(sites):
            if not pred.intensity[k] >= self.cfg.target_min_intensity:
                continue
            self.alerts.publish(s.tenant, self._alert(ev, s, k, pred, net.value, net.std, loc, sent))
            self.alerts_sent += 1
        log.info("eew event=%s update=%d M%s %.1f stations=%d lon=%.3f lat=%.3f depth=%.1f", ev.uid, ev.update,
                 net.magnitude_type, net.value, loc.n_stations, loc.lon_deg, loc.lat_deg, loc.depth_km)

    def _s_time(self, loc: RegionalLocation, site: Site) -> tuple[float, float]:
        """Predicted S arrival (s) and hypocentral distance (km) at a structure."""
        x, y = project(loc.lon_deg, loc.lat_deg, np.array([site.lon_deg]), np.array([site.lat_deg]))
        src = np.array([[0.0, 0.0, -loc.depth_km * 1000.0]])
        rcv = np.array([[float(x[0]), float(y[0]), site.elevation_m]])
        hyp_km = float(np.linalg.norm(rcv - src)) / 1000.0
        return loc.origin_time_s + float(travel_time(self._model, src, rcv, "S")[0]), hyp_km

    def _ml(self, ev: _NetEvent, structure_id: str, st: Station) -> None:
        """Single-station ML once the structure has recorded ``ml_after_s_s`` past the S wave."""
        site, cand = self.sites.get(structure_id), ev.candidate
        if site is None or cand is None or structure_id in ev.ml:
            return
        w = st.window
        ts, hyp_km = self._s_time(cand.location, site)
        if w.end_ns / NS < ts + self.cfg.ml_after_s_s or not ML_MIN_KM <= hyp_km:
            log.debug("eew no ML yet structure=%s data_end-ts=%.1f hyp_km=%.1f", structure_id, w.end_ns / NS - ts, hyp_km)
            return
        t_p = ev.stations.get(structure_id, cand.location.origin_time_s)
        pre = (t_p - w.start_ns / NS)
        try:
            got = local_magnitude(w.data[st.rows[0]], w.data[st.rows[1]], w.rate_hz, hyp_km,
                                  pre_event_s=pre if pre > 2.0 / w.rate_hz else None)
        except ValueError:
            return
        if math.isfinite(got.value):
            ev.ml[structure_id] = got.value

    def _due_reports(self, end_ns: int) -> None:
        """Send the reports due by data time ``end_ns``; re-arm :meth:`data` for the next one."""
        pending = []
        for ev in self._events.values():
            if ev.reported or ev.candidate is None:
                continue
            due_ns = round((ev.candidate.location.origin_time_s + self.cfg.report_delay_s) * NS)
            if due_ns <= end_ns:
                self._report(ev)
                if not ev.reported and end_ns > due_ns + REPORT_GIVE_UP_S * NS:
                    ev.reported = True  # never reached the report magnitude
            if not ev.reported:
                pending.append(due_ns if due_ns > end_ns else end_ns + NS)  # below the threshold: look again a second later
        with self._lock:
            self._next_report_ns = min([self._next_report_ns, *pending])

    def _report(self, ev: _NetEvent) -> None:
        """The automatic basic-parameter report (once per event), to every tenant with structures."""
        cand = ev.candidate
        if ev.reported or cand is None:
            return
        loc = cand.location
        ml = np.array(list(ev.ml.values()))
        if ml.size >= self.cfg.report_min_ml_stations:
            med = float(np.median(ml))
            mag, mag_std, mtype, n_mag = med, max(1.4826 * float(np.median(np.abs(ml - med))), 0.1), "ML", int(ml.size)
        else:
            (mag, mag_std), mtype, n_mag = ev.mpd, "Mpd", len(ev.pd_m)
        if not (math.isfinite(mag) and mag >= self.cfg.report_min_magnitude):
            return
        ev.reported = True
        if ev.report_timer is not None:
            ev.report_timer.cancel()
        now = time.time()
        sent = datetime.fromtimestamp(now, tz=UTC)
        r = alerts_pb2.QuakeReport(
            network_event_id=ev.uid, origin_time_std_s=loc.origin_time_std_s, longitude_deg=loc.lon_deg, latitude_deg=loc.lat_deg,
            depth_km=loc.depth_km, depth_std_km=loc.depth_std_km, depth_fixed=loc.depth_fixed, epicentre_std_km=loc.epicentre_std_km,
            magnitude=mag, magnitude_type=mtype, magnitude_std=mag_std, magnitude_stations=n_mag, n_stations=loc.n_stations,
            n_phases=loc.n_phases, rms_s=loc.rms_s, gap_deg=loc.gap_deg, after_origin_s=now - loc.origin_time_s)
        r.origin_time.FromNanoseconds(round(loc.origin_time_s * NS))
        headline = (f"Automatic report: {mtype} {mag:.1f} earthquake at {loc.lat_deg:.3f}N {loc.lon_deg:.3f}E, "
                    f"depth {loc.depth_km:.0f} km{' (fixed)' if loc.depth_fixed else ''}")
        reasons = [f"located by {loc.n_stations} structures ({loc.n_phases} phases, rms {loc.rms_s:.2f} s, gap {loc.gap_deg:.0f} deg); "
                   f"epicentre +/- {loc.epicentre_std_km:.1f} km",
                   f"{mtype} from {n_mag} structures" + (" (Hutton & Boore 1987 calibration)" if mtype == "ML" else f" ({self._pd_rel.name})")]
        cap = render(CapMessage(
            identifier=f"report-{ev.uid}", sent=sent, event="Earthquake", severity="Unknown", urgency="Past", certainty="Observed",
            headline=headline, description="; ".join(reasons), area=CapArea("epicentral area", loc.lat_deg, loc.lon_deg, 50.0),
            parameters={"magnitude": f"{mag:.1f}", "magnitudeType": mtype, "depthKm": f"{loc.depth_km:.1f}",
                        "originTime": cap_time(datetime.fromtimestamp(loc.origin_time_s, tz=UTC))},
            exercise=self.alerts.exercise))
        with self._lock:
            tenants = frozenset(x.tenant for x in self.targets.values())
        out = alerts_pb2.Alert(alert_id=f"report-{ev.uid}", kind="report", structure_id="", event_id=ev.uid, severity="info",
                               headline=headline, reasons=reasons, latency_s=now - loc.origin_time_s, cap_xml=cap, report=r)
        out.time.FromDatetime(sent)
        out.event_time.FromNanoseconds(round(loc.origin_time_s * NS))
        self.alerts.publish(tenants, out)
        log.info("eew report event=%s %s %.1f after_origin_s=%.1f", ev.uid, mtype, mag, now - loc.origin_time_s)

    def _alert(self, ev: _NetEvent, s: Site, k: int, pred: SitePrediction, mag: float, mag_std: float,
               loc: RegionalLocation, sent: datetime) -> alerts_pb2.Alert:
        """The message for one structure (and its CAP 1.2 twin)."""
        inten, warn = float(pred.intensity[k]), float(pred.warning_s[k])
        sev, cap_sev = _severity(inten)
        ident = f"eew-{ev.uid}-{ev.update}-{s.structure_id}"
        e = alerts_pb2.EewAlert(
            network_event_id=ev.uid, update=ev.update, longitude_deg=loc.lon_deg, latitude_deg=loc.lat_deg,
            depth_km=loc.depth_km, epicentre_std_km=loc.epicentre_std_km, depth_fixed=loc.depth_fixed, magnitude=mag,
            magnitude_type=pred.magnitude_type, magnitude_std=mag_std, n_stations=loc.n_stations,
            epicentral_km=float(pred.epicentral_km[k]), predicted_intensity=inten, intensity_std=float(pred.intensity_std[k]),
            warning_time_s=warn, intensity_model=pred.intensity_model)
        e.origin_time.FromNanoseconds(round(loc.origin_time_s * NS))
        e.s_arrival_time.FromNanoseconds(round(float(pred.s_arrival_s[k]) * NS))
        when = f"S waves in {warn:.0f} s" if warn > 0 else "S waves arriving now"
        headline = f"Earthquake early warning: {pred.magnitude_type} {mag:.1f}, intensity {inten:.1f} expected at {s.structure_id}; {when}"
        reasons = [f"{loc.n_stations} structures located the event {pred.epicentral_km[k]:.0f} km away "
                   f"(depth {loc.depth_km:.0f} km{' fixed' if loc.depth_fixed else ''}, rms {loc.rms_s:.2f} s)",
                   f"{pred.magnitude_type} {mag:.1f} +/- {mag_std:.1f} from the first seconds of P ({self._pd_rel.name})",
                   f"intensity {inten:.1f} +/- {float(pred.intensity_std[k]):.1f} predicted ({pred.intensity_model})"]
        first = ev.first_sent or sent
        cap = render(CapMessage(
            identifier=ident, sent=sent, event="Earthquake", severity=cap_sev, urgency="Immediate", certainty="Likely",
            headline=headline, description="; ".join(reasons),
            instruction="Drop, cover and hold on; stop trains and lifts; close valves.",
            msg_type="Update" if ev.update > 1 else "Alert",
            references=f"{SENDER},eew-{ev.uid}-1-{s.structure_id},{cap_time(first)}" if ev.update > 1 else "",
            area=CapArea(s.structure_id, s.lat_deg, s.lon_deg, 0.5), onset=datetime.fromtimestamp(float(pred.s_arrival_s[k]), tz=UTC),
            parameters={"magnitude": f"{mag:.1f}", "magnitudeType": pred.magnitude_type,
                        "originTime": cap_time(datetime.fromtimestamp(loc.origin_time_s, tz=UTC)),
                        "predictedIntensity": f"{inten:.1f}", "warningTimeSeconds": f"{warn:.1f}"},
            exercise=self.alerts.exercise))
        out = alerts_pb2.Alert(alert_id=ident, kind="eew", structure_id=s.structure_id, event_id=ev.uid, severity=sev,
                               headline=headline, reasons=reasons, latency_s=sent.timestamp() - loc.origin_time_s, cap_xml=cap, eew=e)
        out.time.FromDatetime(sent)
        out.event_time.FromNanoseconds(round(loc.origin_time_s * NS))
        return out
