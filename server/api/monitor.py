"""MonitorService servicer: live per-channel quality from the ingest state.

Status is assembled in a worker thread (database reads); the ingest arrays it reads
are only ever replaced or updated element-wise by the event loop, so a reader sees
each value either before or after a block, never torn.
"""

from __future__ import annotations

import asyncio
import time

import grpc
from google.protobuf import json_format
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from quakewatch.v1 import common_pb2, monitor_pb2, monitor_pb2_grpc

from .. import registry
from ..ingest.manager import IngestManager, StructureRuntime
from ..ingest.quality import assess
from ..settings import QualitySettings
from ..storage.models import ChannelStatusSnapshot, Structure
from ..storage.tokens import Principal
from .context import current_principal
from .convert import ts_ns

_STATE = {
    "NO_DATA": common_pb2.QUALITY_STATE_NO_DATA,
    "OK": common_pb2.QUALITY_STATE_OK,
    "DEGRADED": common_pb2.QUALITY_STATE_DEGRADED,
    "FAILED": common_pb2.QUALITY_STATE_FAILED,
}
_RANK = {common_pb2.QUALITY_STATE_NO_DATA: 0, common_pb2.QUALITY_STATE_OK: 1, common_pb2.QUALITY_STATE_DEGRADED: 2, common_pb2.QUALITY_STATE_FAILED: 3}


def live_status(manager: IngestManager, cfg: QualitySettings, rt: StructureRuntime, now_ns: int) -> monitor_pb2.StructureStatus:
    """Status of a structure this process has ingested, from memory only (no database)."""
    out = monitor_pb2.StructureStatus(structure_id=rt.structure_id)
    drift = manager.drift_ppm(rt.structure_id)
    infos = rt.infos  # before the tracker: its arrays cover at least these channels
    qa = rt.tracker
    for info in infos:
        i = info.index
        v = assess(qa, i, float(qa.rate_hz[i]), now_ns, cfg, drift)
        out.channels.append(
            monitor_pb2.ChannelStatus(
                channel_id=info.channel_id,
                seed_id=str(info.seed),
                state=_STATE[v.state],
                reasons=list(v.reasons),
                samples=int(qa.samples[i]),
                last_sample_time=ts_ns(int(qa.end_ns[i])),
                gaps=int(qa.gaps[i]),
                gap_total_s=float(qa.gap_total_s[i]),
                overlaps=int(qa.overlaps[i]),
                clipped_samples=int(qa.clipped[i]),
                flatline_s=v.flatline_s,
                spikes=int(qa.spikes[i]),
                latency_s=float(qa.latency_s[i]),
                max_latency_s=float(qa.max_latency_s[i]),
                clock_drift_ppm=drift or 0.0,
                rms=float(qa.rms[i]),
                mean=float(qa.mean[i]),
                min=float(qa.minimum[i]),
                max=float(qa.maximum[i]),
                timing_quality=int(qa.timing_quality[i]),
            )
        )
    c = rt.counters
    out.blocks_accepted, out.blocks_rejected, out.samples_accepted = c.blocks_accepted, c.blocks_rejected, c.samples_accepted
    out.last_block_time.CopyFrom(ts_ns(c.last_block_ns))
    out.last_rejection = c.last_rejection
    _roll_up(out)
    return out


def _roll_up(out: monitor_pb2.StructureStatus) -> None:
    states = [c.state for c in out.channels]
    out.state = max(states, key=lambda s: _RANK[s]) if states else common_pb2.QUALITY_STATE_NO_DATA


def structure_status(manager: IngestManager, engine: Engine, cfg: QualitySettings, structure: Structure, seed_ids: dict[str, str]) -> monitor_pb2.StructureStatus:
    """Status of one structure: live when this process has ingested it, else the last snapshot."""
    rt = manager.runtimes.get(structure.structure_id)
    if rt is not None:
        return live_status(manager, cfg, rt, time.time_ns())
    out = monitor_pb2.StructureStatus(structure_id=structure.structure_id)
    with Session(engine) as s:
        snaps = {r.channel_id: r for r in s.exec(select(ChannelStatusSnapshot).where(ChannelStatusSnapshot.structure_id == structure.structure_id))}
    for cid, seed in sorted(seed_ids.items()):
        snap = snaps.get(cid)
        if snap is not None:
            out.channels.append(json_format.Parse(snap.status_json, monitor_pb2.ChannelStatus()))
        else:
            out.channels.append(monitor_pb2.ChannelStatus(channel_id=cid, seed_id=seed, state=common_pb2.QUALITY_STATE_NO_DATA))
    _roll_up(out)
    return out


class MonitorServicer(monitor_pb2_grpc.MonitorServiceServicer):
    def __init__(self, engine: Engine, manager: IngestManager, cfg: QualitySettings) -> None:
        self.engine = engine
        self.manager = manager
        self.cfg = cfg

    def _status(self, p: Principal, structure_id: str) -> monitor_pb2.StructureStatus:
        row, chans = registry.get_structure(self.engine, p, structure_id)
        return structure_status(self.manager, self.engine, self.cfg, row, {c.channel_id: c.seed_id for c in chans})

    async def GetStructureStatus(self, request: monitor_pb2.GetStructureStatusRequest, context: grpc.aio.ServicerContext) -> monitor_pb2.GetStructureStatusResponse:
        status = await asyncio.to_thread(self._status, current_principal(), request.structure_id)
        return monitor_pb2.GetStructureStatusResponse(status=status)

    async def ListStructureStatuses(self, request: monitor_pb2.ListStructureStatusesRequest, context: grpc.aio.ServicerContext) -> monitor_pb2.ListStructureStatusesResponse:
        p = current_principal()

        def work() -> list[monitor_pb2.StructureStatus]:
            return [self._status(p, r.structure_id) for r in registry.list_structures(self.engine, p)]

        return monitor_pb2.ListStructureStatusesResponse(statuses=await asyncio.to_thread(work))
