"""The timeline of a drill: every product time-stamped and judged against its clock.

A milestone is met when its product came at most ``clock_s`` seconds after the origin;
a product that never came is not met. Plan actions carry their plan deadline as the
clock and are met when acknowledged or done before it; ones still open when the drill
ends are reported as open (``met`` None) while their deadline lies ahead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from .scenario import Clocks

__all__ = ["FAILURE_PRODUCTS", "MINE_PRODUCTS", "NS", "PRODUCTS", "PRODUCTS_BY_KIND", "Milestone", "Timeline", "iso_time",
           "plot_timeline", "render_markdown", "timestamp", "wall_seconds"]

NS = 1_000_000_000


def timestamp(wall_s: float) -> Timestamp:
    """A protobuf timestamp of a wall-clock (or data) time in seconds."""
    t = Timestamp()
    t.FromNanoseconds(round(wall_s * NS))
    return t


def iso_time(wall_s: float) -> str:
    return datetime.fromtimestamp(wall_s, tz=UTC).isoformat(timespec="seconds")


def wall_seconds(t: datetime) -> float:
    """Seconds since the epoch of a stored time (naive = UTC, as SQLite returns them)."""
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


#: milestone -> (product, clock attribute of :class:`Clocks`), by drill kind
PRODUCTS: dict[str, tuple[str, str]] = {
    "event_opened": ("first detection at a monitored structure", "warning_s"),
    "warning": ("first early-warning alert", "warning_s"),
    "parameters": ("automatic basic-parameter report", "parameters_s"),
    "intensity_rapid": ("first intensity measured at a structure (event closed)", "intensity_rapid_s"),
    "intensity_full": ("intensity measured at every structure that recorded the event", "intensity_full_s"),
    "loss_estimate": ("loss estimate (conditioned on the structures' records)", "loss_s"),
    "response_level": ("response level decided and the plan activated", "loss_s"),
    "dispatch_plan": ("relief dispatch plan", "relief_s"),
}
MINE_PRODUCTS: dict[str, tuple[str, str]] = {
    "event_opened": ("first detection on the mine array", "warning_s"),
    "mine_grade": ("mine warning-grade change from the located tremor", "mine_grade_s"),
    "response_level": ("the mine plan's level decided and the plan activated", "loss_s"),
}
FAILURE_PRODUCTS: dict[str, tuple[str, str]] = {
    "health_flagged": ("the structure's health no longer GREEN after the damage (data time)", "health_flag_s"),
    "response_level": ("the owner's plan activated at that status", "loss_s"),
}
PRODUCTS_BY_KIND = {"earthquake": PRODUCTS, "mine_tremor": MINE_PRODUCTS, "structural_failure": FAILURE_PRODUCTS}


@dataclass
class Milestone:
    name: str
    product: str
    clock_s: float | None
    at_s: float | None = None  # seconds after the origin
    met: bool | None = None
    detail: str = ""


class Timeline:
    """Products of one drill, in seconds after the (scenario) origin time."""

    def __init__(self, clocks: Clocks, origin_s: float, kind: str = "earthquake") -> None:
        self.clocks, self.origin_s = clocks, origin_s
        self.milestones: dict[str, Milestone] = {
            name: Milestone(name, product, float(getattr(clocks, clock)))
            for name, (product, clock) in PRODUCTS_BY_KIND[kind].items()}

    def mark(self, name: str, wall_s: float, detail: str = "") -> None:
        """The product ``name`` came at wall-clock ``wall_s`` (the first time counts)."""
        m = self.milestones[name]
        if m.at_s is None:
            m.at_s = wall_s - self.origin_s
            m.met = m.clock_s is None or m.at_s <= m.clock_s
            m.detail = detail

    def note(self, name: str, detail: str) -> None:
        """Why a product did not come (kept only while it has not come)."""
        m = self.milestones[name]
        if m.at_s is None:
            m.detail = detail

    def action(self, action_id: str, task: str, deadline_s: float, status: str, done_s: float | None, end_s: float) -> None:
        """A plan action: deadline and completion in wall-clock seconds; ``end_s`` = end of the drill."""
        m = Milestone(f"action:{action_id}", task, deadline_s - self.origin_s)
        if done_s is not None and status in ("acknowledged", "done"):
            m.at_s, m.met = done_s - self.origin_s, done_s <= deadline_s
            m.detail = status
        else:
            m.met = False if end_s > deadline_s else None
            m.detail = f"{status}: not acknowledged during the drill" + ("" if m.met is False else " (deadline still ahead)")
        self.milestones[m.name] = m

    def as_list(self) -> list[dict[str, Any]]:
        return [asdict(m) for m in self.milestones.values()]

    def summary(self) -> dict[str, int]:
        ms = list(self.milestones.values())
        return {"milestones": len(ms), "met": sum(m.met is True for m in ms), "missed": sum(m.met is False for m in ms),
                "open": sum(m.met is None for m in ms)}


def _fmt_s(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.1f} s" if abs(v) < 120 else f"{v / 60:.1f} min" if abs(v) < 7200 else f"{v / 3600:.1f} h"


def render_markdown(report: dict[str, Any]) -> str:
    """The drill report as Markdown: what happened, then every milestone against its clock."""
    sc = report["scenario"]
    s = report["summary"]
    if report.get("earthquake"):
        ev = report["earthquake"]
        what = (f"Earthquake: Mw {ev['mw']:.1f} at {ev['lat']:.3f} N {ev['lon']:.3f} E, depth {ev['depth_km']:.0f} km; "
                f"{len(report.get('structures', []))} monitored structures streamed through the drill server.")
    elif report.get("failure"):
        f = report["failure"]
        what = (f"Structural failure: {f['stiffness_loss']:.0%} stiffness loss of {report.get('structure', '?')} "
                f"{f['after_s']:.0f} s into a record streamed at full speed (times in data time).")
    else:
        tr = report.get("tremor") or {}
        what = (f"Mine tremor: Mw {tr.get('mw', float('nan')):.1f} at ({tr.get('x_m', 0):.0f}, {tr.get('y_m', 0):.0f}, "
                f"{tr.get('z_m', 0):.0f}) m in mine {report.get('mine', '?')}, streamed from its array through the drill server.")
    lines = [f"# EXERCISE - drill report: {sc['name']}", "",
             f"Scenario `{sc['id']}` ({sc['file']}); drill {report['drill_id']}; origin {report.get('origin_time', '-')} "
             f"(scenario clock {sc['clock_time']}).", what, "",
             f"**{s['met']} of {s['milestones']} milestones met their clock, {s['missed']} missed, {s['open']} open.**", "",
             "| milestone | product | clock | came after | met | detail |", "| --- | --- | --- | --- | --- | --- |"]
    for m in report["milestones"]:
        met = {True: "yes", False: "**no**", None: "open"}[m["met"]]
        lines.append(f"| {m['name']} | {m['product']} | {_fmt_s(m['clock_s'])} | {_fmt_s(m['at_s'])} | {met} | {m['detail']} |")
    if report.get("results"):
        lines += ["", "## Products", ""]
        lines += [f"- {k}: {v}" for k, v in report["results"].items()]
    lines += ["", "Every alert of this drill carried `exercise` and the CAP status Exercise; everything lives in the "
              "drill server's own database and archive, never in a live one."]
    return "\n".join(lines) + "\n"


def plot_timeline(report: dict[str, Any], path: str | Path) -> Path:
    """The timeline as a PNG (optional extra: matplotlib): every milestone's time after the
    origin (dot; open ones at the end of the drill, hollow) against its clock (bar), on a
    logarithmic axis from seconds to hours, so that drills can be compared at a glance."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - optional extra
        raise RuntimeError("the timeline plot needs matplotlib: pip install 'quakewatch[plot]'") from exc

    ms = report["milestones"]
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(ms) + 1.5))
    y = list(range(len(ms)))[::-1]
    for yi, m in zip(y, ms, strict=True):
        if m["clock_s"] is not None and m["clock_s"] > 0:
            ax.barh(yi, m["clock_s"], left=0.5, height=0.5, color="#dde6f0", edgecolor="#8aa2bd")
        if m["at_s"] is not None:
            colour = "#2a7d2a" if m["met"] else "#c0392b"
            ax.plot(max(m["at_s"], 0.5), yi, "o", color=colour)
        else:  # never came: missed (red) or still open (grey), drawn at its clock
            ax.plot(m["clock_s"] if m["clock_s"] else 0.5, yi, "o", mfc="none", color="#c0392b" if m["met"] is False else "#888888")
    ax.set_xscale("log")
    ax.set_yticks(y, [m["name"] for m in ms], fontsize=8)
    ax.set_xlabel("seconds after the origin (bar: the clock; dot: the product, green met, red late; hollow: never came)")
    ax.set_title(f"EXERCISE - {report['scenario']['name']}", fontsize=10)
    ax.grid(axis="x", which="both", alpha=0.3)
    out = Path(path)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out
