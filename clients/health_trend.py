"""``quakewatch health ID --trend``: the tracked modes' natural frequencies over time and
against the covariate channels (temperature), from the windows the server stored, with
the health status at each change and the post-event tags of the period.

For every tracked mode (``M1``, ``M2``, ... of the baseline) the trend gives the windows
it was found in, its frequency statistics, and for each covariate the ordinary
least-squares line ``f = a + b c`` over the windows holding both: the sensitivity
``b`` (Hz per unit and % of the mean per unit), its standard error and ``r^2``.
Temperature is the usual environmental driver of frequency changes, the one the health
model normalises (Peeters & De Roeck 2001, Earthquake Eng. Struct. Dyn. 30(2): the Z24
bridge); a change that does not follow the covariate is what the novelty chart looks
for.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from quakewatch.v1 import health_pb2

from .client import Client, ClientOptions
from .health import _status
from .output import print_json

NS = 1_000_000_000
PAGE = 1000


def _all_pages(rpc: Any, request: Any, field: str, start_ns: int, end_ns: int) -> list[Any]:
    """Every item of a paged List call, ``request`` bounded to ``[start_ns, end_ns)`` (0: unbounded)."""
    if start_ns:
        request.start_time.FromNanoseconds(start_ns)
    if end_ns:
        request.end_time.FromNanoseconds(end_ns)
    out: list[Any] = []
    while True:
        r = rpc(request)
        out.extend(getattr(r, field))
        if not r.next_page_token:
            return out
        request.page_token = r.next_page_token


def fetch_results(c: Client, structure_id: str, start_ns: int, end_ns: int) -> list[health_pb2.ModalResult]:
    """Every stored window of the structure ending in ``[start_ns, end_ns)`` (0: unbounded)."""
    return _all_pages(c.health.ListModalResults, health_pb2.ListModalResultsRequest(
        structure_id=structure_id, page_size=PAGE), "results", start_ns, end_ns)


def fetch_assessments(c: Client, structure_id: str, start_ns: int, end_ns: int) -> list[health_pb2.Assessment]:
    """Every stored assessment of the structure (periodic and post-event) in ``[start_ns, end_ns)``."""
    return _all_pages(c.health.ListAssessments, health_pb2.ListAssessmentsRequest(
        structure_id=structure_id, page_size=PAGE), "assessments", start_ns, end_ns)


def status_history(assessments: list[health_pb2.Assessment]) -> dict[str, list[dict[str, Any]]]:
    """The periodic status at each change (the first assessment included) and the
    post-event tags, oldest first."""
    from .modal import iso

    changes: list[dict[str, Any]] = []
    tags: list[dict[str, Any]] = []
    previous = None
    for a in sorted(assessments, key=lambda x: (x.time_ns, x.assessment_id)):
        if a.kind == health_pb2.ASSESSMENT_KIND_POST_EVENT:
            tags.append({"time": iso(a.time_ns), "status": _status(a.status), "event_id": a.event_id,
                         "max_drift_ratio": a.max_drift_ratio, "reasons": list(a.reasons)})
        elif a.status != previous:
            changes.append({"time": iso(a.time_ns), "status": _status(a.status), "alarm": a.alarm,
                            "reasons": list(a.reasons)})
            previous = a.status
    return {"status_changes": changes, "post_event_tags": tags}


def _mode_key(mode_id: str) -> tuple[int, str]:
    m = re.fullmatch(r"[A-Za-z]*(\d+)", mode_id)
    return (int(m.group(1)) if m else 1 << 30, mode_id)


def linear_fit(x: np.ndarray, y: np.ndarray) -> dict[str, float] | None:
    """Least-squares ``y = a + b x``: slope, intercept, the slope's standard error and
    ``r^2``; None with fewer than 3 points or a constant ``x``."""
    n = x.size
    if n < 3:
        return None
    xm, ym = float(np.mean(x)), float(np.mean(y))
    sxx = float(np.sum((x - xm) ** 2))
    if not sxx > 0:
        return None
    slope = float(np.sum((x - xm) * (y - ym))) / sxx
    intercept = ym - slope * xm
    sse = float(np.sum((y - intercept - slope * x) ** 2))
    sst = float(np.sum((y - ym) ** 2))
    return {"slope": slope, "intercept": intercept, "stderr": math.sqrt(sse / (n - 2) / sxx),
            "r2": 1.0 - sse / sst if sst > 0 else 1.0, "n": n}


def trend(results: list[health_pb2.ModalResult], assessments: list[health_pb2.Assessment] | None = None
          ) -> dict[str, Any]:
    """The trend document (JSON-ready) of the windows ``results`` and the ``assessments``
    (any order)."""
    from .modal import iso

    results = sorted(results, key=lambda x: (x.window_end_ns, x.result_id))
    covariates = sorted({k for r in results for k in r.covariates})
    series: list[dict[str, Any]] = []
    for r in results:
        # a covariate without samples or a failed estimate (NaN) is left out, not fitted
        series.append({"end_time": iso(r.window_end_ns),
                       "covariates": {k: r.covariates[k] for k in covariates
                                      if k in r.covariates and math.isfinite(r.covariates[k])},
                       "frequencies_hz": {m.mode_id: m.frequency_hz for m in r.modes
                                          if m.mode_id and math.isfinite(m.frequency_hz)}})
    mode_ids = sorted({m for s in series for m in s["frequencies_hz"]}, key=_mode_key)
    modes: dict[str, Any] = {}
    for mid in mode_ids:
        f = np.array([s["frequencies_hz"][mid] for s in series if mid in s["frequencies_hz"]])
        mean = float(f.mean())
        sens: dict[str, Any] = {}
        for cov in covariates:
            pts = [(s["covariates"][cov], s["frequencies_hz"][mid]) for s in series
                   if mid in s["frequencies_hz"] and cov in s["covariates"]]
            fit = linear_fit(np.array([p[0] for p in pts]), np.array([p[1] for p in pts])) if pts else None
            sens[cov] = None if fit is None else {
                "hz_per_unit": fit["slope"], "stderr_hz_per_unit": fit["stderr"],
                "percent_per_unit": 100.0 * fit["slope"] / mean, "intercept_hz": fit["intercept"], "r2": fit["r2"],
                "windows": fit["n"]}
        modes[mid] = {"windows": int(f.size), "mean_hz": mean, "scatter_hz": float(f.std(ddof=1)) if f.size > 1 else 0.0,
                      "min_hz": float(f.min()), "max_hz": float(f.max()), "first_hz": float(f[0]), "last_hz": float(f[-1]),
                      "sensitivity": sens}
    ranges = {}
    for cov in covariates:
        v = [s["covariates"][cov] for s in series if cov in s["covariates"]]
        if v:
            ranges[cov] = {"min": min(v), "max": max(v)}
    return {"windows": len(results), "start_time": series[0]["end_time"] if series else None,
            "end_time": series[-1]["end_time"] if series else None, "covariates": ranges, "modes": modes,
            **status_history(assessments or []), "series": series}


def print_trend(structure_id: str, doc: dict[str, Any]) -> None:
    if not doc["windows"]:
        print(f"{structure_id}: no stored window in the period")
        return
    covs = ", ".join(f"{k} {v['min']:.4g} .. {v['max']:.4g}" for k, v in doc["covariates"].items()) or "none"
    print(f"{structure_id}: {doc['windows']} windows ending {doc['start_time']} .. {doc['end_time']}; covariates: {covs}")
    for change in doc["status_changes"]:
        why = f": {'; '.join(change['reasons'])}" if change["reasons"] else ""
        print(f"  {change['time']} status {change['status']}{why}")
    for tag in doc["post_event_tags"]:
        print(f"  {tag['time']} post-event tag {tag['status']} (event {tag['event_id'][:12]}, "
              f"max drift ratio {tag['max_drift_ratio']:.3g})")
    if not doc["modes"]:
        print("  no tracked mode (the baseline is not trained yet)")
        return
    print(f"  {'mode':>4} {'windows':>7} {'mean Hz':>10} {'scatter Hz':>10} {'min .. max Hz':>21} {'last Hz':>9}  sensitivity")
    for mid, m in doc["modes"].items():
        parts = []
        for cov, s in m["sensitivity"].items():
            parts.append(f"{cov}: -" if s is None else
                         f"{cov}: {s['percent_per_unit']:+.3f} +/- {100 * s['stderr_hz_per_unit'] / m['mean_hz']:.2g} %/unit "
                         f"(r2 {s['r2']:.2f})")
        print(f"  {mid:>4} {m['windows']:>7d} {m['mean_hz']:>10.4f} {m['scatter_hz']:>10.4f} "
              f"{m['min_hz']:>9.4f} .. {m['max_hz']:<9.4f} {m['last_hz']:>9.4f}  {'; '.join(parts) or '-'}")


def write_csv(doc: dict[str, Any], path: Path) -> None:
    """One row per window: end time, covariates, each tracked mode's frequency (blank when absent)."""
    covs, mids = list(doc["covariates"]), list(doc["modes"])
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["end_time", *covs, *(f"{m}_hz" for m in mids)])
        for s in doc["series"]:
            w.writerow([s["end_time"], *(s["covariates"].get(c, "") for c in covs),
                        *(s["frequencies_hz"].get(m, "") for m in mids)])


def plot_trend(structure_id: str, doc: dict[str, Any], path: Path) -> None:
    """Frequency of each tracked mode (relative to its mean) against time, and against the
    first covariate with its fitted line."""
    from datetime import datetime

    from matplotlib.figure import Figure

    covs = list(doc["covariates"])
    fig = Figure(figsize=(10, 7 if covs else 4), layout="constrained")
    axes = fig.subplots(2 if covs else 1, 1, squeeze=False)[:, 0]
    for mid, m in doc["modes"].items():
        pts = [(datetime.fromisoformat(s["end_time"].replace("Z", "+00:00")), s["frequencies_hz"][mid])
               for s in doc["series"] if mid in s["frequencies_hz"]]
        axes[0].plot([p[0] for p in pts], [100 * (p[1] / m["mean_hz"] - 1) for p in pts], ".-", ms=3, lw=0.6,
                     label=f"{mid} ({m['mean_hz']:.3f} Hz)")
    # periods after a change to YELLOW / RED, shaded until the next change
    changes = [(datetime.fromisoformat(c["time"].replace("Z", "+00:00")), c["status"]) for c in doc["status_changes"]]
    last = datetime.fromisoformat(doc["end_time"].replace("Z", "+00:00")) if doc["end_time"] else None
    for (when, status), nxt in zip(changes, [c[0] for c in changes[1:]] + [last]):
        if status in ("YELLOW", "RED") and nxt is not None and nxt > when:
            axes[0].axvspan(when, nxt, color="gold" if status == "YELLOW" else "red", alpha=0.2, lw=0)
    for tag in doc["post_event_tags"]:
        axes[0].axvline(datetime.fromisoformat(tag["time"].replace("Z", "+00:00")), color="k", ls=":", lw=1)
    axes[0].set_xlabel("window end (UTC)")
    axes[0].set_ylabel("frequency - mean (%)")
    axes[0].set_title(f"{structure_id}: tracked modes")
    axes[0].legend(fontsize="small")
    if covs:
        cov = covs[0]
        for mid, m in doc["modes"].items():
            pts = [(s["covariates"][cov], s["frequencies_hz"][mid]) for s in doc["series"]
                   if mid in s["frequencies_hz"] and cov in s["covariates"]]
            x = np.array([p[0] for p in pts])
            line = axes[1].plot(x, [100 * (p[1] / m["mean_hz"] - 1) for p in pts], ".", ms=3, label=mid)[0]
            s = m["sensitivity"].get(cov)
            if s is not None:
                xs = np.array([x.min(), x.max()])
                axes[1].plot(xs, 100 * ((s["intercept_hz"] + s["hz_per_unit"] * xs) / m["mean_hz"] - 1), "-",
                             color=line.get_color(), lw=1)
        axes[1].set_xlabel(cov)
        axes[1].set_ylabel("frequency - mean (%)")
        axes[1].legend(fontsize="small")
    fig.savefig(path, dpi=120)


def trend_command(a: argparse.Namespace, o: ClientOptions) -> int:
    from .modal import UsageError, parse_time

    try:
        bounds = []
        for option, text in (("--since", a.since), ("--until", a.until)):
            when = parse_time(option, text)
            if when is not None and when[0] != "ns":
                raise UsageError(f"{option}: give an ISO time, e.g. 2026-11-01T00:00:00Z")
            bounds.append(int(when[1]) if when is not None else 0)
        for option, path in (("--plot", a.plot), ("--csv", a.csv)):
            if path is not None and not path.parent.is_dir():
                raise UsageError(f"{option}: directory {path.parent} does not exist")
        if a.plot is not None:
            try:
                import matplotlib.figure  # noqa: F401  (optional extra: fail before the query)
            except ImportError:
                raise UsageError("--plot: needs matplotlib, an optional extra (pip install matplotlib)") from None
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with Client(o) as c:
        doc = trend(fetch_results(c, a.structure_id, *bounds), fetch_assessments(c, a.structure_id, *bounds))
    doc = {"structure_id": a.structure_id, **doc}
    if a.csv is not None:
        write_csv(doc, a.csv)
    if a.plot is not None:
        plot_trend(a.structure_id, doc, a.plot)
    if a.json:
        print_json(doc)
    else:
        print_trend(a.structure_id, doc)
    return 0
