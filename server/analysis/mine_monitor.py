"""The mine live path in the server: detected event -> catalogue -> grade -> alert.

:class:`MineMonitor` receives, on the event worker thread, every event detected on a
structure of kind ``mine`` as soon as its sensors have sent ``analysis_delay_s`` of data
past the first trigger (:class:`~.events.EventEngine`); it locates, sizes and classifies
it (:mod:`.mine_live`) against the mine's blasting schedule (:mod:`.mine_schedule`),
adds it to the catalogue with ``origin="live"`` (the detector's event id, so the
catalogue entry and ``EventService`` agree), re-evaluates the warning grade and
publishes every grade change as an :class:`~quakewatch.v1.alerts_pb2.Alert` on
``AlertService.Watch``.  The stored change and its audit entry come first: an alert a
watcher receives is already on record.  An event the array cannot locate or size is
logged with the reason and not catalogued.
"""

from __future__ import annotations

import json
import logging
import math
import time
from datetime import UTC, datetime

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from quakewatch.v1 import alerts_pb2

from ..settings import MineSettings
from ..storage.models import MineGradeChangeRecord, Structure
from .cap import CapArea, CapMessage, render
from .events import MineEventData
from .fanout import AlertHub
from .mine_catalog import MineCatalog
from .mine_live import ALGORITHM, LiveMineEvent, MineArrayOptions, analyse, sensors
from .mine_schedule import schedule_for
from .mine_store import record_live_event
from .mine_warning import WarningTable

__all__ = ["MineMonitor", "options"]

log = logging.getLogger(__name__)
NS = 1_000_000_000
SEVERITY = {"strong": "severe", "medium": "moderate", "weak": "minor", "none": "info"}
CAP_SEVERITY = {"strong": "Severe", "medium": "Moderate", "weak": "Minor", "none": "Minor"}


def options(cfg: MineSettings) -> MineArrayOptions:
    return MineArrayOptions(vp_mps=cfg.vp_mps, vs_mps=cfg.vs_mps, layers=cfg.layers, density_kgpm3=cfg.density_kgpm3, q_p=cfg.q_p,
                            q_s=cfg.q_s, highpass_hz=cfg.highpass_hz, min_stations=cfg.min_stations)


def _details(res: LiveMineEvent, data: MineEventData) -> dict[str, object]:
    loc, src, disc = res.location, res.source, res.discrimination
    assert loc is not None
    out: dict[str, object] = {
        "algorithm": ALGORITHM, "parameters": res.parameters, "trigger_time_ns": data.trigger_time_ns,
        "sigma_m": loc.sigma_radius_m, "std_m": loc.std_m.tolist(), "origin_time_std_s": loc.origin_time_std_s,
        "rms_s": loc.rms_s, "gap_deg": loc.gap_deg, "n_p": res.n_p, "n_s": res.n_s, "sensors": list(res.station_keys),
        "magnitude_type": "Mw", "reasons": list(res.reasons),
    }
    if src is not None:
        out |= {"moment_nm": src.moment_nm, "apparent_stress_pa": src.apparent_stress_pa, "n_spectra": src.n_stations}
    if disc is not None:
        out |= {"type": disc.label.value, "probability_blast": disc.probability_blast}
    return out


class MineMonitor:
    def __init__(self, engine: Engine, cfg: MineSettings, table: WarningTable, alerts: AlertHub) -> None:
        self.engine = engine
        self.cfg = cfg
        self.table = table
        self.alerts = alerts
        self.opts = options(cfg)
        self.analysed = 0
        self.catalogued = 0

    def event_ready(self, data: MineEventData) -> None:
        """Analyse one event (event worker thread); store it; publish the grade changes."""
        self.analysed += 1
        found = sensors(data.windows, data.first_trigger_ns)
        with Session(self.engine) as s:
            sched = schedule_for(s, data.structure_id, datetime.fromtimestamp(data.trigger_time_ns / NS, tz=UTC))
            row = s.get(Structure, data.structure_id)
            where = (row.latitude_deg, row.longitude_deg) if row is not None and row.has_location else (math.nan, math.nan)
        res = analyse(found, self.opts, sched)
        if not res.located or res.location is None or not math.isfinite(res.magnitude):
            log.info("mine event not catalogued mine=%s event=%s reasons=%s", data.structure_id, data.event_id, "; ".join(res.reasons))
            return
        loc, src = res.location, res.source
        cat = MineCatalog((data.event_id,), np.array([loc.origin_time_s]), loc.xyz_m[None, :].copy(), np.array([res.magnitude]),
                          np.array([src.energy_j if src is not None else math.nan]),
                          np.array([src.moment_nm if src is not None else math.nan]), (res.event_type,))
        changes = record_live_event(self.engine, data.tenant, data.structure_id, cat, json.dumps(_details(res, data)), self.table)
        self.catalogued += 1
        log.info("mine event mine=%s event=%s type=%s Mw=%.2f sigma_m=%.0f changes=%d", data.structure_id, data.event_id,
                 res.event_type, res.magnitude, loc.sigma_radius_m, len(changes))
        for c in changes:
            self.alerts.publish(data.tenant, grade_alert(data.structure_id, c, res, where, exercise=self.alerts.exercise))


def grade_alert(mine_id: str, c: MineGradeChangeRecord, res: LiveMineEvent,
                where: tuple[float, float] = (math.nan, math.nan), *, exercise: bool = False) -> alerts_pb2.Alert:
    """The alert of one stored grade change caused by a live event (``where``: the
    mine's latitude and longitude, for the CAP area)."""
    loc, src = res.location, res.source
    assert loc is not None
    ev = alerts_pb2.MineEventSummary(event_id=c.event_id, x_m=loc.x_m, y_m=loc.y_m, z_m=loc.z_m, sigma_m=loc.sigma_radius_m,
                                     magnitude=res.magnitude, magnitude_type="Mw",
                                     energy_j=src.energy_j if src is not None else math.nan, type=res.event_type)
    ev.origin_time.FromNanoseconds(round(loc.origin_time_s * NS))
    now = time.time()
    alert = alerts_pb2.Alert(
        alert_id=f"mine.grade:{c.id}", kind="mine.grade", structure_id=mine_id, event_id=c.event_id,
        severity=SEVERITY.get(c.grade, "info"), headline=f"mine {mine_id}: seismic risk warning {c.previous} -> {c.grade}",
        reasons=json.loads(c.reasons_json), latency_s=now - loc.origin_time_s,
        mine_grade=alerts_pb2.MineGradeAlert(previous=c.previous, grade=c.grade, rule_table=c.rule_table, event=ev))
    alert.time.FromNanoseconds(round(now * NS))
    lat, lon = where
    if math.isfinite(lat) and math.isfinite(lon):
        alert.cap_xml = render(CapMessage(
            identifier=alert.alert_id, sent=datetime.fromtimestamp(now, tz=UTC), event="Mine seismic risk (rockburst)",
            severity=CAP_SEVERITY.get(c.grade, "Minor"), urgency="Expected", certainty="Possible", headline=alert.headline,
            description="; ".join(alert.reasons), area=CapArea(mine_id, lat, lon, 2.0), category="Geo",
            parameters={"grade": c.grade, "previousGrade": c.previous, "ruleTable": c.rule_table, "eventId": c.event_id},
            exercise=exercise))
    alert.event_time.FromNanoseconds(round(loc.origin_time_s * NS))
    return alert
