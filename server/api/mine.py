"""MineService servicer: a mine's catalogue and its graded seismic risk warning."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime

import grpc
from sqlalchemy.engine import Engine

from quakewatch.v1 import mine_pb2, mine_pb2_grpc

from ..analysis import mine_store
from ..analysis.mine_catalog import read_catalog, write_catalog
from ..analysis.mine_schedule import import_schedule, read_schedule
from ..analysis.mine_warning import WarningTable, load_table
from ..errors import InvalidInput, ResourceExhausted
from ..settings import MineSettings
from ..storage.models import MineEventRecord, MineGradeChangeRecord
from ..storage.tokens import Principal
from .context import current_principal


def _change_pb(row: MineGradeChangeRecord) -> mine_pb2.GradeChange:
    out = mine_pb2.GradeChange(event_id=row.event_id, previous=row.previous, grade=row.grade,
                               reasons=json.loads(row.reasons_json), rule_table=row.rule_table)
    out.time.FromDatetime(row.time if row.time.tzinfo else row.time.replace(tzinfo=UTC))
    return out


def _event_pb(row: MineEventRecord) -> mine_pb2.MineEvent:
    nan = float("nan")
    out = mine_pb2.MineEvent(event_id=row.event_id, x_m=row.x_m, y_m=row.y_m, z_m=row.z_m, magnitude=row.magnitude, type=row.type,
                             energy_j=nan if row.energy_j is None else row.energy_j,
                             moment_nm=nan if row.moment_nm is None else row.moment_nm, origin=row.origin, details_json=row.details_json)
    out.time.FromDatetime(row.time if row.time.tzinfo else row.time.replace(tzinfo=UTC))
    return out


class MineServicer(mine_pb2_grpc.MineServiceServicer):
    def __init__(self, engine: Engine, cfg: MineSettings, table: WarningTable | None = None) -> None:
        self.engine = engine
        self.cfg = cfg
        self.table: WarningTable = table or load_table(cfg.rules)  # validated at start-up: a bad table stops the server

    def _import(self, p: Principal, request: mine_pb2.ImportCatalogRequest) -> mine_pb2.ImportCatalogResponse:
        cat = read_catalog(request.catalog_csv, "catalog_csv")
        if len(cat) > self.cfg.max_import_events:
            raise ResourceExhausted(f"catalog_csv: at most {self.cfg.max_import_events} events per call, got {len(cat)}",
                                    field="catalog_csv")
        added, already, changes = mine_store.import_catalog(self.engine, p, request.mine_id, cat, self.table)
        return mine_pb2.ImportCatalogResponse(added=added, already_stored=already, changes=[_change_pb(c) for c in changes])

    async def ImportCatalog(self, request: mine_pb2.ImportCatalogRequest, context: grpc.aio.ServicerContext) -> mine_pb2.ImportCatalogResponse:
        return await asyncio.to_thread(self._import, current_principal(), request)

    async def GetMineStatus(self, request: mine_pb2.GetMineStatusRequest, context: grpc.aio.ServicerContext) -> mine_pb2.MineStatus:
        p = current_principal()
        at = request.time.ToDatetime(tzinfo=UTC) if request.HasField("time") else datetime.now(UTC)
        n = request.changes or 10
        if n > 1000:
            raise InvalidInput(f"changes: at most 1000, got {n}", field="changes")
        volume = None
        if request.HasField("volume"):
            v = request.volume
            volume = (v.x_min_m, v.x_max_m, v.y_min_m, v.y_max_m, v.z_min_m, v.z_max_m)
            for axis, lo, hi in (("x", v.x_min_m, v.x_max_m), ("y", v.y_min_m, v.y_max_m), ("z", v.z_min_m, v.z_max_m)):
                if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                    raise InvalidInput(f"volume.{axis}_min_m/{axis}_max_m: need finite min < max, got {lo}, {hi}", field=f"volume.{axis}_min_m")
        grade, events, changes = await asyncio.to_thread(mine_store.mine_status, self.engine, p, request.mine_id, self.table, at, n, volume)
        out = mine_pb2.MineStatus(mine_id=request.mine_id, grade=grade.grade.value, reasons=list(grade.reasons),
                                  rule_table=grade.table, events=events, indicators_json=json.dumps(grade.indicators.as_dict()),
                                  changes=[_change_pb(c) for c in changes])
        out.time.FromDatetime(at)
        return out

    async def ExportCatalog(self, request: mine_pb2.ExportCatalogRequest, context: grpc.aio.ServicerContext) -> mine_pb2.ExportCatalogResponse:
        p = current_principal()
        start = request.start_time.ToDatetime(tzinfo=UTC) if request.HasField("start_time") else None
        end = request.end_time.ToDatetime(tzinfo=UTC) if request.HasField("end_time") else None
        cat = await asyncio.to_thread(mine_store.export_catalog, self.engine, p, request.mine_id, start, end)
        return mine_pb2.ExportCatalogResponse(catalog_csv=write_catalog(cat), events=len(cat))

    async def ImportBlastingSchedule(self, request: mine_pb2.ImportBlastingScheduleRequest,
                                     context: grpc.aio.ServicerContext) -> mine_pb2.ImportBlastingScheduleResponse:
        p = current_principal()
        windows = read_schedule(request.schedule_csv, "schedule_csv")
        if len(windows) > self.cfg.max_import_events:
            raise ResourceExhausted(f"schedule_csv: at most {self.cfg.max_import_events} windows per call, got {len(windows)}",
                                    field="schedule_csv")
        added = await asyncio.to_thread(import_schedule, self.engine, p, request.mine_id, windows)
        return mine_pb2.ImportBlastingScheduleResponse(added=added)

    async def ListEvents(self, request: mine_pb2.ListMineEventsRequest, context: grpc.aio.ServicerContext) -> mine_pb2.ListMineEventsResponse:
        p = current_principal()
        limit = request.limit or 100
        if limit > 10_000:
            raise InvalidInput(f"limit: at most 10000, got {limit}", field="limit")
        start = request.start_time.ToDatetime(tzinfo=UTC) if request.HasField("start_time") else None
        end = request.end_time.ToDatetime(tzinfo=UTC) if request.HasField("end_time") else None
        rows = await asyncio.to_thread(mine_store.list_events, self.engine, p, request.mine_id, start, end, limit)
        return mine_pb2.ListMineEventsResponse(events=[_event_pb(r) for r in rows])
