"""``quakewatch health ID`` and ``quakewatch modal --structure-id ID``: the server's
structural-health products for one structure."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from quakewatch.v1 import health_pb2

from .client import Client, ClientOptions
from .output import print_json, to_dict

NS = 1_000_000_000


def _status(value: int) -> str:
    return health_pb2.HealthStatus.Name(value).removeprefix("HEALTH_STATUS_")


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def result_json(r: health_pb2.ModalResult) -> dict[str, Any]:
    """A stored window in the shape of ``quakewatch modal FILE --json`` (plus mode ids)."""
    from .modal import iso

    return {
        "result_id": r.result_id,
        "structure_id": r.structure_id,
        "mode_ids": [m.mode_id for m in r.modes],
        "frequencies_hz": [m.frequency_hz for m in r.modes],
        "std_frequencies_hz": [_finite(m.std_frequency_hz) for m in r.modes],
        "damping_ratios": [m.damping_ratio for m in r.modes],
        "std_damping_ratios": [_finite(m.std_damping_ratio) for m in r.modes],
        "mode_shapes": [[_finite(v) for v in m.mode_shape] for m in r.modes],
        "mac_to_baseline": [m.mac_to_baseline for m in r.modes],
        "channels": list(r.channel_ids),
        "harmonics_hz": list(r.harmonics_hz),
        "dead_channels": list(r.dead_channel_ids),
        "mpc": [m.mpc for m in r.modes],
        "n_poles": [m.n_poles for m in r.modes],
        "covariates": dict(r.covariates),
        "provenance": json.loads(r.provenance_json or "{}"),
        "fs_hz": r.sample_rate_hz,
        "start_time": iso(r.window_start_ns),
        "end_time": iso(r.window_end_ns),
    }


def health_command(a: argparse.Namespace, o: ClientOptions) -> int:
    with Client(o) as c:
        r = c.health.GetStructureHealth(health_pb2.GetStructureHealthRequest(structure_id=a.structure_id))
    if a.json:
        out = to_dict(r)
        out["status"] = _status(r.status)
        out["latest_modal_result"] = result_json(r.latest_modal_result) if r.latest_modal_result.result_id else None
        print_json(out)
        return 0
    print(f"{r.structure_id}: {_status(r.status)}")
    for reason in r.reasons:
        print(f"  - {reason}")
    b = r.baseline
    print(f"baseline: {b.windows_collected}/{b.windows_required} windows, {'trained' if b.trained else 'training'}")
    m = r.latest_modal_result
    if m.result_id:
        from .modal import iso

        print(f"latest window {iso(m.window_start_ns)} .. {iso(m.window_end_ns)}: {len(m.modes)} modes")
        for mode in sorted(m.modes, key=lambda x: x.frequency_hz):
            std = f" +/- {mode.std_frequency_hz:.4f}" if math.isfinite(mode.std_frequency_hz) else ""
            print(f"  {mode.mode_id or '-':>4}  {mode.frequency_hz:9.4f}{std} Hz  damping {100 * mode.damping_ratio:5.2f} %"
                  f"  MAC {mode.mac_to_baseline:.3f}")
    if r.latest_post_event.assessment_id:
        p = r.latest_post_event
        print(f"latest post-event tag ({p.event_id[:12]}): {_status(p.status)}, max drift ratio {p.max_drift_ratio:.3g}")
    return 0


def modal_structure_command(a: argparse.Namespace, o: ClientOptions) -> int:
    """The stored window of ``--structure-id``: the latest, or the one holding ``--start``
    (an ISO time; windows are looked up among those ending within a day after it)."""
    from .modal import UsageError, parse_time

    req = health_pb2.ListModalResultsRequest(structure_id=a.structure_id, page_size=1)
    start_ns = None
    if a.start:
        try:
            when = parse_time("--start", a.start)
        except UsageError as exc:
            raise SystemExit(str(exc)) from None
        if when is None or when[0] != "ns":
            raise SystemExit("--start: give an ISO time for a stored window (seconds count from the start of a file)")
        start_ns = int(when[1])
        req.start_time.FromNanoseconds(start_ns + 1)
        req.end_time.FromNanoseconds(start_ns + 86_400 * NS)
        req.page_size = 1000
    with Client(o) as c:
        r = c.health.ListModalResults(req)
    results = list(r.results)
    if start_ns is not None:
        results = [x for x in results if x.window_start_ns <= start_ns][-1:]
    if not results:
        print(f"error: no stored modal result for {a.structure_id}" + (f" at {a.start}" if a.start else ""), file=sys.stderr)
        return 1
    doc = result_json(results[0])
    if a.json:
        print_json(doc)
    else:
        print(f"{doc['structure_id']} window {doc['start_time']} .. {doc['end_time']} at {doc['fs_hz']:g} Hz")
        for k, f in enumerate(doc["frequencies_hz"]):
            sd = doc["std_frequencies_hz"][k]
            print(f"  {doc['mode_ids'][k] or '-':>4}  {f:9.4f}{'' if sd is None else f' +/- {sd:.4f}'} Hz"
                  f"  damping {100 * doc['damping_ratios'][k]:5.2f} %")
    return 0
