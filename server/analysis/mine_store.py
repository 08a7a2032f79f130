"""A mine's catalogue and warning grade in the database (``MineService``).

Issue "[7] Mine seismic monitoring".  Importing events stores the new ones
(an ``event_id`` already stored is left as it is) and evaluates the grade
after each new tremor in time order, starting from the last stored grade;
every change is stored with the event that caused it and its reasons, and
audited (``mine.grade``), in the same transaction as the events.  Status
queries load only the events the indicators look at (window + reference).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ..auth import Access, check_structure_access
from ..errors import FailedPrecondition, NotFound
from ..storage import audit
from ..storage.models import MineEventRecord, MineGradeChangeRecord, Structure, as_utc
from ..storage.tokens import Principal
from .mine_catalog import MineCatalog
from .mine_warning import Grade, GradeChange, MineGrade, WarningTable, status, timeline

__all__ = ["Actor", "export_catalog", "import_catalog", "list_events", "mine_row", "mine_status", "record_live_event"]


_IN_LIST_MAX = 500  # bound parameters per query stay far below SQLite's limit


def mine_row(s: Session, p: Principal, mine_id: str, access: Access) -> Structure:
    row = s.get(Structure, mine_id)
    if row is None:
        raise NotFound(f"mine_id: {mine_id!r} is not a registered structure", field="mine_id")
    check_structure_access(p, row.tenant, access, mine_id)
    if row.kind != "mine":
        raise FailedPrecondition(f"mine_id: structure {mine_id!r} is a {row.kind}, not a mine", field="mine_id")
    return row


def _catalog(rows: list[MineEventRecord]) -> MineCatalog:
    rows = sorted(rows, key=lambda r: (as_utc(r.time), r.event_id))
    nan = float("nan")
    return MineCatalog(
        tuple(r.event_id for r in rows), np.array([as_utc(r.time).timestamp() for r in rows], dtype=float),
        np.array([[r.x_m, r.y_m, r.z_m] for r in rows], dtype=float).reshape(-1, 3),
        np.array([r.magnitude for r in rows], dtype=float),
        np.array([nan if r.energy_j is None else r.energy_j for r in rows], dtype=float),
        np.array([nan if r.moment_nm is None else r.moment_nm for r in rows], dtype=float), tuple(r.type for r in rows))


def _span(table: WarningTable) -> timedelta:
    return table.window + table.reference


def _change_row(mine_id: str, c: GradeChange, table: str) -> MineGradeChangeRecord:
    return MineGradeChangeRecord(mine_id=mine_id, time=datetime.fromtimestamp(c.time_s, tz=UTC), event_id=c.event_id,
                                 previous=c.previous.value, grade=c.grade.value, reasons_json=json.dumps(list(c.reasons)),
                                 rule_table=table)


@dataclass(frozen=True)
class Actor:
    """Who writes: a caller's token, or the server itself (``role="system"``)."""

    id: str
    role: str
    tenant: str | None

    @classmethod
    def of(cls, p: Principal) -> Actor:
        return cls(p.token_id, p.role.value, p.tenant)


def _add_events(s: Session, who: Actor, mine_id: str, cat: MineCatalog, table: WarningTable, *, origin: str,
                details: dict[str, str] | None = None) -> tuple[int, list[MineGradeChangeRecord]]:
    """Store the new events of ``cat``; evaluate, store and audit the grade changes (no commit)."""
    label = f"{table.id} v{table.version}"
    q = select(MineEventRecord.event_id).where(MineEventRecord.mine_id == mine_id)
    if len(cat) <= _IN_LIST_MAX:  # a live event or a small file: look those up, not the whole catalogue
        q = q.where(col(MineEventRecord.event_id).in_(cat.event_id))
    stored = set(s.exec(q).all())
    new = [i for i in range(len(cat)) if cat.event_id[i] not in stored]
    for i in new:
        e, m0 = float(cat.energy_j[i]), float(cat.moment_nm[i])
        s.add(MineEventRecord(mine_id=mine_id, event_id=cat.event_id[i], time=datetime.fromtimestamp(float(cat.time_s[i]), tz=UTC),
                              x_m=float(cat.xyz_m[i, 0]), y_m=float(cat.xyz_m[i, 1]), z_m=float(cat.xyz_m[i, 2]),
                              magnitude=float(cat.magnitude[i]), energy_j=None if np.isnan(e) else e,
                              moment_nm=None if np.isnan(m0) else m0, type=cat.type[i], origin=origin,
                              details_json=(details or {}).get(cat.event_id[i], "{}")))
    s.flush()
    changes: list[MineGradeChangeRecord] = []
    if new:
        first = datetime.fromtimestamp(float(min(cat.time_s[i] for i in new)), tz=UTC)
        rows = list(s.exec(select(MineEventRecord).where(MineEventRecord.mine_id == mine_id,
                                                         col(MineEventRecord.time) > first - _span(table))).all())
        start = s.exec(select(func.min(MineEventRecord.time)).where(MineEventRecord.mine_id == mine_id)).one()
        last = s.exec(select(MineGradeChangeRecord).where(MineGradeChangeRecord.mine_id == mine_id)
                      .order_by(col(MineGradeChangeRecord.id).desc()).limit(1)).first()
        initial = Grade(last.grade) if last is not None else Grade.NONE
        found = timeline(_catalog(rows), table, only={cat.event_id[i] for i in new}, initial=initial,
                         coverage_start_s=as_utc(start).timestamp())
        for c in found:
            row = _change_row(mine_id, c, label)
            s.add(row)
            changes.append(row)
            audit.add(s, actor=who.id, role=who.role, tenant=who.tenant, action="mine.grade", target=mine_id,
                      details={"event_id": c.event_id, "from": c.previous.value, "to": c.grade.value,
                               "reasons": list(c.reasons), "rule_table": label})
    return len(new), changes


@audit.retry_chain_conflicts
def import_catalog(engine: Engine, p: Principal, mine_id: str, cat: MineCatalog,
                   table: WarningTable) -> tuple[int, int, list[MineGradeChangeRecord]]:
    """Store the new events; evaluate, store and audit the grade changes they cause."""
    with Session(engine) as s:
        mine_row(s, p, mine_id, Access.WRITE)
        added, changes = _add_events(s, Actor.of(p), mine_id, cat, table, origin="import")
        audit.add(s, actor=p.token_id, role=p.role.value, tenant=p.tenant, action="mine.import", target=mine_id,
                  details={"added": added, "already_stored": len(cat) - added})
        s.commit()
        for row in changes:
            s.refresh(row)
        return added, len(cat) - added, changes


@audit.retry_chain_conflicts
def record_live_event(engine: Engine, tenant: str, mine_id: str, cat: MineCatalog, details_json: str,
                      table: WarningTable) -> list[MineGradeChangeRecord]:
    """Store one event located by the server (``origin="live"``) and the grade changes it causes."""
    who = Actor("mine-monitor", "system", tenant)
    with Session(engine) as s:
        _, changes = _add_events(s, who, mine_id, cat, table, origin="live", details={cat.event_id[0]: details_json})
        s.commit()
        for row in changes:
            s.refresh(row)
        return changes


def mine_status(engine: Engine, p: Principal, mine_id: str, table: WarningTable, at: datetime,
                n_changes: int, volume: tuple[float, float, float, float, float, float] | None = None,
                ) -> tuple[MineGrade, int, list[MineGradeChangeRecord]]:
    """Grade and indicators at ``at`` (of the events inside ``volume`` = x0, x1, y0, y1,
    z0, z1 when given), the number of events, the latest changes of the mine (newest first)."""
    with Session(engine) as s:
        mine_row(s, p, mine_id, Access.READ)
        q = select(MineEventRecord).where(MineEventRecord.mine_id == mine_id, col(MineEventRecord.time) > at - _span(table),
                                          col(MineEventRecord.time) <= at)
        if volume is not None:
            x0, x1, y0, y1, z0, z1 = volume
            q = q.where(col(MineEventRecord.x_m).between(x0, x1), col(MineEventRecord.y_m).between(y0, y1),
                        col(MineEventRecord.z_m).between(z0, z1))
        rows = list(s.exec(q).all())
        n = s.exec(select(func.count()).select_from(MineEventRecord).where(MineEventRecord.mine_id == mine_id)).one()
        start = s.exec(select(func.min(MineEventRecord.time)).where(MineEventRecord.mine_id == mine_id)).one()
        changes = list(s.exec(select(MineGradeChangeRecord).where(MineGradeChangeRecord.mine_id == mine_id)
                              .order_by(col(MineGradeChangeRecord.id).desc()).limit(n_changes)).all())
    cov = as_utc(start).timestamp() if start is not None else None
    return status(_catalog(rows), table, at.timestamp(), coverage_start_s=cov), int(n), changes


def _events(mine_id: str, start: datetime | None, end: datetime | None) -> Any:
    """The query of a mine's events in [start, end)."""
    q = select(MineEventRecord).where(MineEventRecord.mine_id == mine_id)
    if start is not None:
        q = q.where(col(MineEventRecord.time) >= start)
    if end is not None:
        q = q.where(col(MineEventRecord.time) < end)
    return q


def list_events(engine: Engine, p: Principal, mine_id: str, start: datetime | None, end: datetime | None,
                limit: int) -> list[MineEventRecord]:
    """Stored events, newest first."""
    with Session(engine) as s:
        mine_row(s, p, mine_id, Access.READ)
        q = _events(mine_id, start, end)
        return list(s.exec(q.order_by(col(MineEventRecord.time).desc(), col(MineEventRecord.event_id)).limit(limit)).all())


def export_catalog(engine: Engine, p: Principal, mine_id: str, start: datetime | None, end: datetime | None) -> MineCatalog:
    with Session(engine) as s:
        mine_row(s, p, mine_id, Access.READ)
        return _catalog(list(s.exec(_events(mine_id, start, end)).all()))


def change_dict(row: MineGradeChangeRecord) -> dict[str, Any]:
    return {"time": as_utc(row.time).isoformat(), "event_id": row.event_id, "from": row.previous, "to": row.grade,
            "reasons": json.loads(row.reasons_json), "rule_table": row.rule_table}
