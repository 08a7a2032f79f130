"""The built-in headquarters of an unattended earthquake drill: the loss estimate from
what the network measured (the automatic report's hypocentre and magnitude, not the
scenario's truth), conditioned on the structures' records, and the relief dispatch of
the displaced people's needs (Sphere norms) from the scenario's depots to its townships."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from quakewatch.v1 import decision_pb2

from .timeline import NS, iso_time, timestamp

if TYPE_CHECKING:
    from .runner import DrillRun

__all__ = ["dispatch_relief", "estimate"]


async def estimate(run: DrillRun, c: Any, origin_s: float) -> decision_pb2.LossEstimate:
    assert run.report_alert is not None
    r = run.report_alert.report
    doc = yaml.safe_load((run.base / str(run.sc.loss)).read_text(encoding="utf-8"))
    doc["rupture"] = {"lon": r.longitude_deg, "lat": r.latitude_deg, "depth_km": max(r.depth_km, 1.0),
                      "mw": min(max(r.magnitude, 3.0), 9.5)}  # what the network measured, not the scenario's truth
    doc["time_of_day"] = run.sc.time_of_day
    doc["origin_time"] = iso_time(r.origin_time.ToNanoseconds() / NS)
    req = decision_pb2.EstimateLossRequest(scenario=yaml.safe_dump(doc), include_assets=True,
                                           observed_start_time=timestamp(origin_s - 30.0), observed_end_time=timestamp(time.time()))
    est = await c.decision.EstimateLoss(req)
    run.results["rupture_used"] = doc["rupture"]
    return est


async def dispatch_relief(run: DrillRun, c: Any, est: decision_pb2.LossEstimate) -> None:
    from quakewatch.server.decision.openquake_job import associate
    from quakewatch.server.decision.relief import relief_needs

    assert run.sc.dispatch is not None
    depots = (run.base / run.sc.dispatch.depots).read_text(encoding="utf-8")
    towns = list(csv.DictReader(io.StringIO((run.base / run.sc.dispatch.townships).read_text(encoding="utf-8"))))
    commodities = next(csv.reader(io.StringIO(depots)))[3:]
    assets = json.loads(est.document_json).get("assets", [])
    # the displaced of every asset go to the nearest township (great circle)
    nearest, _ = associate(np.array([a["lon"] for a in assets], dtype=float), np.array([a["lat"] for a in assets], dtype=float),
                           np.array([float(t["lon"]) for t in towns]), np.array([float(t["lat"]) for t in towns]), np.inf)
    homeless = np.array([float(a["casualties"].get("homeless", 0.0)) for a in assets])
    displaced = np.bincount(nearest, weights=homeless, minlength=len(towns))
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["id", "lon", "lat", *commodities])
    for t, people in zip(towns, displaced, strict=True):
        if people >= 1.0:
            needs = relief_needs(float(people), 3.0).by_commodity
            w.writerow([t["id"], t["lon"], t["lat"], *(f"{needs[cm].quantity:.0f}" if cm in needs else "0" for cm in commodities)])
    await c.decision.PlanDispatch(decision_pb2.PlanDispatchRequest(depots_csv=depots, demands_csv=out.getvalue()))
    run.results["displaced_by_township"] = {t["id"]: round(float(p), 1) for t, p in zip(towns, displaced, strict=True)}
