"""Post-event tag of a structure: inter-storey drift from its floor sensors, the
frequency shift of its fundamental mode, the limit table (:mod:`.tagging`).

Floor sensors are the horizontal acceleration channels (dip within 10 degrees of
horizontal) of the event's windows; channels are grouped by direction (azimuth modulo
180 degrees, to 10 degrees) and by height; several sensors at one height and direction
are averaged.  Each direction with at least two levels gives storey drift ratios
(:func:`quakewatch.ext.drift.interstorey_drift`, with the event's pre-event samples for
the baseline); the tag takes, per storey, the larger of the directions.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import numpy as np

from quakewatch.ext.drift import DEFAULT_HIGHPASS_HZ, interstorey_drift
from quakewatch.v1 import health_pb2

from .detector import NS, Window
from .tagging import tag_after_event

_STATUS = {"GREEN": health_pb2.HEALTH_STATUS_GREEN, "YELLOW": health_pb2.HEALTH_STATUS_YELLOW,
           "RED": health_pb2.HEALTH_STATUS_RED}


def storey_drifts(windows: list[Window], onset_ns: int, highpass_hz: float | None = None) -> tuple[np.ndarray | None, list[str]]:
    """Largest drift ratio per storey over the directions, and notes on what was used."""
    best: np.ndarray | None = None
    notes: list[str] = []
    for w in windows:
        groups: dict[int, dict[float, list[int]]] = {}
        for i, c in enumerate(w.channels):
            if c.units != "acceleration_mps2" or abs(c.dip_deg) > 10:
                continue
            direction = int(round((c.azimuth_deg % 180.0) / 10.0)) % 18
            groups.setdefault(direction, {}).setdefault(round(c.height_m, 3), []).append(i)
        pre_s = max(0.0, (onset_ns - w.start_ns) / NS)
        for direction, levels in sorted(groups.items()):
            if len(levels) < 2:
                continue
            heights = np.array(sorted(levels))
            acc = np.stack([w.data[levels[h]].mean(axis=0) for h in heights])
            hp = highpass_hz if highpass_hz is not None and highpass_hz < 0.45 * w.rate_hz else DEFAULT_HIGHPASS_HZ
            res = interstorey_drift(acc, heights, w.rate_hz, pre_event_s=pre_s if pre_s > 0 else None, highpass_hz=hp)
            notes.append(f"azimuth {direction * 10} deg: {len(heights)} levels, max drift ratio "
                         f"{res.max_drift_ratio:.3g} at storey {res.critical_storey + 1}")
            ratios = np.asarray(res.drift_ratio)
            if best is None or best.size != ratios.size:
                best = ratios if best is None or ratios.max() > best.max() else best
            else:
                best = np.maximum(best, ratios)
    return best, notes


def post_event_assessment(structure_id: str, event_id: str, onset_ns: int, inputs: dict[str, Any],
                          frequency_shift: float | None, result_id: str) -> health_pb2.Assessment:
    """The POST_EVENT assessment for one event (drift now, frequency shift once known)."""
    drifts, notes = storey_drifts(inputs["windows"], onset_ns, inputs.get("highpass_hz"))
    system, code = inputs["system"], inputs["code"]
    reasons: list[str] = []
    status = health_pb2.HEALTH_STATUS_UNKNOWN
    prov: dict[str, Any] = {"drift_notes": notes, "code": code, "system": system,
                            "drift_highpass_hz": inputs.get("highpass_hz") or DEFAULT_HIGHPASS_HZ}
    if system and drifts is None and frequency_shift is None:
        reasons.append("no drift: the structure has no sensors at two or more heights in one direction "
                       "(a free-field station only); the tag waits for the frequency shift")
    elif system:
        tag = tag_after_event(drift_ratios=drifts, system=system, code=code, frequency_shift=frequency_shift)
        status = _STATUS[str(tag.status.value if hasattr(tag.status, "value") else tag.status).upper()]
        reasons = list(tag.reasons)
        prov["rules_version"] = tag.rules_version
    else:
        reasons.append(f"no drift limit table for a structure of kind {inputs['kind']!r}; "
                       "set health.drift_system for it")
    if frequency_shift is None:
        reasons.append("frequency shift: pending the first analysis window after the event")
    a = health_pb2.Assessment(
        assessment_id=uuid.uuid5(uuid.NAMESPACE_URL, f"post-event/{event_id}").hex, structure_id=structure_id,
        kind=health_pb2.ASSESSMENT_KIND_POST_EVENT, status=status, reasons=reasons, time_ns=onset_ns,
        event_id=event_id, max_drift_ratio=float(drifts.max()) if drifts is not None else 0.0,
        frequency_shift=frequency_shift or 0.0, result_id=result_id, provenance_json=json.dumps(prov))
    a.create_time.GetCurrentTime()
    return a
