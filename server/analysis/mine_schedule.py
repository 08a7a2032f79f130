"""A mine's blasting schedule: CSV import, storage and the windows an event is judged by.

Issue "[7] Mine seismic monitoring" ("blast / tremor discrimination from the blasting
schedule (an input)").  Columns (header row; ``#`` lines are comments)::

    start,end,x_m,y_m,z_m,radius_m[,face_id]

``start`` / ``end`` are ISO 8601 with a zone or epoch seconds (``end > start``);
``x_m, y_m, z_m`` the face in the mine's local frame (east, north, up) and
``radius_m`` how far from it the charges lie (> 0).  Every face of the schedule is a
known face for the discrimination, whatever its time (a blast off schedule at a known
face is still more likely a blast).  Importing replaces nothing: windows are added.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from quakewatch.ext.blast_discrimination import BlastingWindow

from ..auth import Access
from ..errors import InvalidInput
from ..storage import audit
from ..storage.models import MineBlastingWindow, as_utc
from ..storage.tokens import Principal
from .mine_catalog import parse_number, parse_time, read_rows
from .mine_store import mine_row

__all__ = ["COLUMNS", "import_schedule", "read_schedule", "schedule_for"]

COLUMNS = ("start", "end", "x_m", "y_m", "z_m", "radius_m", "face_id")
_REQUIRED = COLUMNS[:6]
#: faces are looked up in the windows of this period around an event
FACE_MEMORY = timedelta(days=90)


def read_schedule(source: str | Path, label: str | None = None) -> list[BlastingWindow]:
    """Parse a schedule CSV (a :class:`~pathlib.Path` or the text)."""
    label, header, rows = read_rows(source, label or "schedule", "schedule_csv", COLUMNS, _REQUIRED)
    c = {h: i for i, h in enumerate(header)}
    out = []
    for k, r in rows:
        where = f"{label}: row {k}"
        start, end = parse_time(r[c["start"]], where), parse_time(r[c["end"]], where)
        if not end > start:
            raise InvalidInput(f"{where}: end must be after start", field="end")
        xyz = tuple(parse_number(r[c[n]], where, n) for n in ("x_m", "y_m", "z_m"))
        radius = parse_number(r[c["radius_m"]], where, "radius_m", positive=True)
        out.append(BlastingWindow(start, end, (xyz[0], xyz[1], xyz[2]), radius, r[c["face_id"]].strip() if "face_id" in c else ""))
    return out


def import_schedule(engine: Engine, p: Principal, mine_id: str, windows: list[BlastingWindow]) -> int:
    """Store the windows (audited ``mine.schedule``); the number added."""
    with Session(engine) as s:
        mine_row(s, p, mine_id, Access.WRITE)
        for w in windows:
            s.add(MineBlastingWindow(mine_id=mine_id, start_time=datetime.fromtimestamp(w.start_s, tz=UTC),
                                     end_time=datetime.fromtimestamp(w.end_s, tz=UTC), face_id=w.face_id,
                                     x_m=w.face_xyz_m[0], y_m=w.face_xyz_m[1], z_m=w.face_xyz_m[2], radius_m=w.radius_m))
        audit.add(s, actor=p.token_id, role=p.role.value, tenant=p.tenant, action="mine.schedule", target=mine_id,
                  details={"windows": len(windows)})
        s.commit()
    return len(windows)


def schedule_for(s: Session, mine_id: str, at: datetime) -> list[BlastingWindow]:
    """The windows of the ``FACE_MEMORY`` before and after ``at`` (times and faces)."""
    rows = s.exec(select(MineBlastingWindow).where(MineBlastingWindow.mine_id == mine_id,
                                                   col(MineBlastingWindow.start_time) >= at - FACE_MEMORY,
                                                   col(MineBlastingWindow.start_time) <= at + FACE_MEMORY)).all()
    return [BlastingWindow(as_utc(r.start_time).timestamp(), as_utc(r.end_time).timestamp(), (r.x_m, r.y_m, r.z_m),
                           r.radius_m, r.face_id) for r in rows]
