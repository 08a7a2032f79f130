"""Stored modal results and health assessments (protobuf JSON rows, keyset paging)."""

from __future__ import annotations

from google.protobuf import json_format
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from quakewatch.v1 import health_pb2

from ..storage.models import AssessmentRecord, ModalResultRecord, Structure
from ..storage.tokens import Principal
from . import paging

_KIND: dict[int, str] = {health_pb2.ASSESSMENT_KIND_PERIODIC: "periodic", health_pb2.ASSESSMENT_KIND_POST_EVENT: "post_event"}


def status_name(status: int) -> str:
    return health_pb2.HealthStatus.Name(status).removeprefix("HEALTH_STATUS_").lower()


def save_result(engine: Engine, tenant: str, msg: health_pb2.ModalResult) -> bool:
    """Insert a modal result; False when its structure was deleted meanwhile."""
    with Session(engine) as s:
        if s.get(Structure, msg.structure_id) is None:
            return False
        s.add(ModalResultRecord(result_id=msg.result_id, structure_id=msg.structure_id, tenant=tenant,
                                window_end_ns=msg.window_end_ns, n_modes=len(msg.modes),
                                result_json=json_format.MessageToJson(msg, indent=None)))
        s.commit()
    return True


def save_assessment(engine: Engine, tenant: str, msg: health_pb2.Assessment) -> bool:
    """Insert or replace an assessment; False when its structure was deleted meanwhile."""
    with Session(engine) as s:
        if s.get(Structure, msg.structure_id) is None:
            return False
        row = s.get(AssessmentRecord, msg.assessment_id) or AssessmentRecord(
            assessment_id=msg.assessment_id, structure_id=msg.structure_id, tenant=tenant, kind="", status="",
            time_ns=0, assessment_json="{}")
        row.kind = _KIND.get(msg.kind, "periodic")
        row.status = status_name(msg.status)
        row.time_ns = msg.time_ns
        row.assessment_json = json_format.MessageToJson(msg, indent=None)
        s.add(row)
        s.commit()
    return True


def _result(row: ModalResultRecord) -> health_pb2.ModalResult:
    return json_format.Parse(row.result_json, health_pb2.ModalResult())


def _assessment(row: AssessmentRecord) -> health_pb2.Assessment:
    return json_format.Parse(row.assessment_json, health_pb2.Assessment())


def results_of(engine: Engine, structure_id: str, limit: int, *, oldest_first: bool = True) -> list[health_pb2.ModalResult]:
    """A structure's modal results in window order (no access check: server-internal)."""
    with Session(engine) as s:
        order = col(ModalResultRecord.window_end_ns)
        q = select(ModalResultRecord).where(ModalResultRecord.structure_id == structure_id)
        q = q.order_by(order.asc() if oldest_first else order.desc()).limit(limit)
        return [_result(r) for r in s.exec(q)]


def recent_assessments(engine: Engine, structure_id: str, kind: str, limit: int) -> list[health_pb2.Assessment]:
    """The newest ``limit`` assessments of a kind, oldest first (server-internal)."""
    with Session(engine) as s:
        q = (select(AssessmentRecord).where(AssessmentRecord.structure_id == structure_id, AssessmentRecord.kind == kind)
             .order_by(col(AssessmentRecord.time_ns).desc(), col(AssessmentRecord.assessment_id).desc()).limit(limit))
        return [_assessment(r) for r in reversed(list(s.exec(q)))]


def latest_assessment(engine: Engine, structure_id: str, kind: str) -> health_pb2.Assessment | None:
    with Session(engine) as s:
        q = (select(AssessmentRecord).where(AssessmentRecord.structure_id == structure_id, AssessmentRecord.kind == kind)
             .order_by(col(AssessmentRecord.time_ns).desc(), col(AssessmentRecord.assessment_id).desc()).limit(1))
        row = s.exec(q).first()
        return _assessment(row) if row is not None else None


def list_results(engine: Engine, p: Principal, structure_id: str = "", start_ns: int = 0, end_ns: int = 0,
                 page_size: int = 0, page_token: str = "") -> tuple[list[health_pb2.ModalResult], str]:
    with Session(engine) as s:
        rows, token = paging.page(s, p, ModalResultRecord, "window_end_ns", "result_id", rpc="ListModalResults",
                                  structure_id=structure_id, start_ns=start_ns, end_ns=end_ns,
                                  page_size=page_size, page_token=page_token)
    return [_result(r) for r in rows], token


def list_assessments(engine: Engine, p: Principal, structure_id: str = "", start_ns: int = 0, end_ns: int = 0,
                     page_size: int = 0, page_token: str = "", kind: int = 0) -> tuple[list[health_pb2.Assessment], str]:
    where = (AssessmentRecord.kind == _KIND[kind],) if kind in _KIND else ()
    with Session(engine) as s:
        rows, token = paging.page(s, p, AssessmentRecord, "time_ns", "assessment_id", rpc="ListAssessments",
                                  structure_id=structure_id, start_ns=start_ns, end_ns=end_ns,
                                  page_size=page_size, page_token=page_token, where=where)
    return [_assessment(r) for r in rows], token


def count_results(engine: Engine, structure_id: str) -> int:
    from sqlalchemy import func

    with Session(engine) as s:
        q = select(func.count()).select_from(ModalResultRecord).where(ModalResultRecord.structure_id == structure_id)
        return int(s.exec(q).one())
