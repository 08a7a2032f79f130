"""``quakewatch alerts``: follow the alerts the server raises (early warnings, mine warning grades)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from quakewatch.v1 import alerts_pb2

from .client import Client, ClientOptions
from .events import follow
from .output import to_dict

NS = 1_000_000_000


def add_parser(sub: Any, client_args: Any) -> None:
    al = sub.add_parser("alerts", help="follow alerts live: earthquake early warnings and reports, mine warning-grade changes")
    client_args(al)
    al.add_argument("--structure-id", default="", help="only this structure")
    al.add_argument("--kind", action="append", default=[], metavar="KIND", help="only this kind (repeatable): eew, report, mine.grade")
    al.add_argument("--cap", action="store_true", help="print each alert as its CAP 1.2 XML document")
    al.add_argument("--count", type=int, default=0, help="stop after this many alerts (0 = never)")
    al.add_argument("--timeout", type=float, default=0.0, help="stop after this many seconds (0 = never)")


def alert_line(a: alerts_pb2.Alert) -> str:
    t = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(a.time.ToNanoseconds() / NS))
    parts = [f"{t}Z", f"{a.severity:<8}", a.headline]
    if a.HasField("eew"):
        e = a.eew
        parts.append(f"{e.magnitude_type} {e.magnitude:.1f} at {e.latitude_deg:.3f}N {e.longitude_deg:.3f}E, {e.epicentral_km:.0f} km away; "
                     f"intensity {e.predicted_intensity:.1f}; update {e.update}")
    if a.HasField("report"):
        r = a.report
        parts.append(f"{r.magnitude_type} {r.magnitude:.1f} +/- {r.magnitude_std:.1f}; depth {r.depth_km:.0f} km; "
                     f"{r.n_stations} structures; epicentre +/- {r.epicentre_std_km:.1f} km")
    if a.HasField("mine_grade"):
        e = a.mine_grade.event
        parts.append(f"event {e.event_id[:12]} {e.type} {e.magnitude_type} {e.magnitude:.1f} at ({e.x_m:.0f}, {e.y_m:.0f}, "
                     f"{e.z_m:.0f}) m +/- {e.sigma_m:.0f} m")
    parts.append(f"{a.latency_s:.1f} s after the event")
    return "  ".join(parts) + "".join(f"\n    because {r}" for r in a.reasons)


def alerts_command(a: argparse.Namespace, o: ClientOptions) -> int:
    if a.count < 0 or a.timeout < 0:
        print("error: --count and --timeout must be >= 0", file=sys.stderr)
        return 2
    seen = 0

    def handle(msg: alerts_pb2.Alert) -> bool:
        nonlocal seen
        sys.stdout.write(msg.cap_xml if a.cap and msg.cap_xml else (json.dumps(to_dict(msg)) if a.json else alert_line(msg)) + "\n")
        sys.stdout.flush()
        seen += 1
        return bool(a.count and seen >= a.count)

    with Client(o) as c:
        follow(c.alerts.Watch(alerts_pb2.WatchAlertsRequest(structure_id=a.structure_id, kinds=a.kind), timeout=a.timeout or None), handle)
    return 0
