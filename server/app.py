"""The QuakeWatch server: ``create_server(settings) -> (server, port)``.

Start-up order: take the data-directory lock, migrate the database, recover the
archive journal (undoing a torn commit), then open the gRPC port. Shutdown
(SIGTERM): stop accepting calls and let streams drain for ``grace_s``, commit and
sync everything pending in the archive, stop the scheduler, release the locks.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import time
from pathlib import Path

import grpc
import numpy as np
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection
from sqlmodel import Session, col, select

from quakewatch.v1 import alerts_pb2, alerts_pb2_grpc, decision_pb2, decision_pb2_grpc, drills_pb2, drills_pb2_grpc, mine_pb2, mine_pb2_grpc
from quakewatch.v1 import health_pb2 as shm_pb2
from quakewatch.v1 import health_pb2_grpc as shm_pb2_grpc
from quakewatch.v1 import audit_pb2, audit_pb2_grpc, events_pb2, events_pb2_grpc, ingest_pb2, ingest_pb2_grpc, monitor_pb2, monitor_pb2_grpc, registry_pb2, registry_pb2_grpc

from .analysis.events import EventEngine
from .analysis.detector import Window
from .analysis.eew import EewEngine, Site
from .analysis.health import HealthEngine
from .analysis.fanout import AlertHub
from .analysis.mine_monitor import MineMonitor
from .drills.manager import DrillManager
from .analysis.mine_warning import load_table
from .api.alerts import AlertServicer
from .api.audit import AuditServicer
from .api.events import EventServicer
from .api.decision import DecisionServicer
from .api.drills import DrillServicer
from .api.mine import MineServicer
from .api.health import HealthServicer
from .api.ingest import IngestServicer
from .api.interceptors import ServiceInterceptor, TokenCache
from .api.monitor import MonitorServicer, live_status
from .api.registry import RegistryServicer
from .errors import FailedPrecondition
from .ingest.archive import ArchiveWriter
from .ingest.manager import IngestManager
from .jobs.lock import SchedulerLock
from .jobs.scheduler import Scheduler
from .settings import Settings
from .storage import migrate
from .storage.engine import make_engine, upsert
from .storage.models import Channel, ChannelStatusSnapshot, Structure, utcnow

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    ingest_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name,
    registry_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name,
    monitor_pb2.DESCRIPTOR.services_by_name["MonitorService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
    events_pb2.DESCRIPTOR.services_by_name["EventService"].full_name,
    shm_pb2.DESCRIPTOR.services_by_name["HealthService"].full_name,
    decision_pb2.DESCRIPTOR.services_by_name["DecisionService"].full_name,
    mine_pb2.DESCRIPTOR.services_by_name["MineService"].full_name,
    alerts_pb2.DESCRIPTOR.services_by_name["AlertService"].full_name,
    drills_pb2.DESCRIPTOR.services_by_name["DrillService"].full_name,
)



def _site(st: Structure) -> Site | None:
    """An early-warning site of a structure, None when it has no registered location."""
    return Site(st.structure_id, st.tenant, st.longitude_deg, st.latitude_deg, st.elevation_m) if st.has_location else None

class DataDirLock:
    """One server per data directory: the archive and its journal have one writer."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "server.lock"
        self._fd = -1

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FailedPrecondition(f"data_dir: {self.path.parent} is in use by another QuakeWatch server") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


class QuakeWatchServer:
    """A running service; same start/stop/wait interface as ``grpc.aio.Server``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._dir_lock = DataDirLock(settings.data_dir)
        self._dir_lock.acquire()
        try:
            self.engine = make_engine(settings.database_url)
            migrate.upgrade(self.engine)
            self.archive = ArchiveWriter(settings.archive_dir, settings.journal_dir, settings.archive_record_length, sync_mode=settings.archive_sync)
            self.archive.commit_max_delay_s = settings.commit_max_delay_s
            self.archive.recover()
            self.ingest = IngestManager(self.engine, settings, self.archive)
            self.ingest.load_durable_state()
            self.events = EventEngine(self.engine, settings.events)
            stale = self.events.close_stale()
            if stale:
                log.warning("closed %d event(s) left open by the previous run", stale)
            self.shm = HealthEngine(self.engine, settings.health)
            self.events.on_closed = self._event_closed
            self.alerts = AlertHub(exercise=settings.exercise)
            mine_table = load_table(settings.mine.rules)  # validated at start-up: a bad table stops the server
            self.mines = MineMonitor(self.engine, settings.mine, mine_table, self.alerts)
            if settings.mine.live:
                self.events.on_mine_event = self.mines.event_ready
                self.events.mine_delay_s = settings.mine.analysis_delay_s
            self.eew: EewEngine | None = EewEngine(settings.eew, self.alerts) if settings.eew.enabled else None
            if self.eew is not None:
                self.events.on_opened = self.eew.opened
                self.events.on_updated = self.eew.updated
                self.events.on_data = self.eew.data
                with Session(self.engine) as db:
                    for st in db.exec(select(Structure)):
                        self.eew.target_changed(st.structure_id, _site(st))
            self.ingest.on_block = self._on_block
            self.ingest.on_structure = self._on_structure
            self.health = health_aio.HealthServicer()
            self.grpc = grpc.aio.server(
                interceptors=[ServiceInterceptor(TokenCache(self.engine))],
                options=[
                    ("grpc.max_receive_message_length", settings.max_message_bytes),
                    ("grpc.max_send_message_length", settings.max_message_bytes),
                    ("grpc.so_reuseport", 0),
                ],
            )
            ingest_pb2_grpc.add_IngestServiceServicer_to_server(IngestServicer(self.ingest, settings.limits.max_inflight_blocks, self.engine), self.grpc)
            registry_pb2_grpc.add_RegistryServiceServicer_to_server(RegistryServicer(self.engine, settings.network_code, self._registry_changed), self.grpc)
            monitor_pb2_grpc.add_MonitorServiceServicer_to_server(MonitorServicer(self.engine, self.ingest, settings.quality), self.grpc)
            audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(self.engine), self.grpc)
            events_pb2_grpc.add_EventServiceServicer_to_server(EventServicer(self.engine, self.events.hub), self.grpc)
            shm_pb2_grpc.add_HealthServiceServicer_to_server(HealthServicer(self.engine, settings.health), self.grpc)
            decision_pb2_grpc.add_DecisionServiceServicer_to_server(DecisionServicer(self.engine, settings), self.grpc)
            mine_pb2_grpc.add_MineServiceServicer_to_server(MineServicer(self.engine, settings.mine, mine_table), self.grpc)
            alerts_pb2_grpc.add_AlertServiceServicer_to_server(AlertServicer(self.engine, self.alerts), self.grpc)
            self.drills = DrillManager(settings.data_dir, settings.decision_dir, settings.listen,
                                       {"tls_cert": settings.tls_cert, "tls_key": settings.tls_key, "tls_client_ca": settings.tls_client_ca})
            drills_pb2_grpc.add_DrillServiceServicer_to_server(DrillServicer(self.drills), self.grpc)
            health_pb2_grpc.add_HealthServicer_to_server(self.health, self.grpc)
            reflection.enable_server_reflection((*SERVICE_NAMES, reflection.SERVICE_NAME, "grpc.health.v1.Health"), self.grpc)
            self.port = self._bind()
            self.loopback_port = self._bind_loopback() if settings.loopback_port else self.port
            self.scheduler = Scheduler(SchedulerLock(self.engine, settings.data_dir))
            self.scheduler.add_interval("channel-status-snapshot", self.snapshot_status, settings.status_flush_s)
            if settings.retention_days:
                self.scheduler.add_interval("archive-retention", self.apply_retention, 3600.0)
            self.scheduler.add_interval("plan-escalation", self.escalate_plans, settings.decision.escalation_interval_s)
            self.scheduler.add_interval("plan-notification", self.send_notifications, settings.decision.notification_interval_s)
        except BaseException:
            self._dir_lock.release()
            raise
        self._stopped = asyncio.Event()
        self._snapshot_ns = 0

    def _on_block(self, structure_id: str, channel_ids: tuple[str, ...], start_ns: int, rate_hz: float, samples: np.ndarray) -> None:
        self.events.submit(structure_id, channel_ids, start_ns, rate_hz, samples)
        self.shm.submit(structure_id, channel_ids, start_ns, rate_hz, samples)

    def _event_closed(self, structure_id: str, event: events_pb2.Event, windows: list[Window]) -> None:
        self.shm.event_closed(structure_id, event, windows)
        if self.eew is not None:
            self.eew.closed(structure_id, windows)

    def _on_structure(self, structure_id: str, loaded: tuple[Structure, list[Channel]] | None) -> None:
        self.events.structure_loaded(structure_id, loaded)
        self.shm.structure_loaded(structure_id, loaded)
        if self.eew is not None:
            self.eew.site_changed(structure_id, _site(loaded[0]) if loaded is not None else None)

    async def _registry_changed(self, structure_id: str, deleted: bool) -> None:
        await self.ingest.registry_changed(structure_id, deleted)
        if self.eew is not None:  # also structures that never streamed: they are warned too
            st = None if deleted else await asyncio.to_thread(self._read_structure, structure_id)
            self.eew.target_changed(structure_id, _site(st) if st is not None else None)

    def _read_structure(self, structure_id: str) -> Structure | None:
        with Session(self.engine) as db:
            return db.get(Structure, structure_id)

    def _bind(self) -> int:
        s = self.settings
        if s.tls_cert is not None and s.tls_key is not None:
            creds = grpc.ssl_server_credentials(
                [(s.tls_key.read_bytes(), s.tls_cert.read_bytes())],
                root_certificates=s.tls_client_ca.read_bytes() if s.tls_client_ca else None,
                require_client_auth=s.tls_client_ca is not None,
            )
            port = self.grpc.add_secure_port(s.listen, creds)
        else:
            port = self.grpc.add_insecure_port(s.listen)
        if port == 0:
            raise FailedPrecondition(f"listen: cannot bind {s.listen}")
        return port

    def _bind_loopback(self) -> int:
        port = self.grpc.add_insecure_port("127.0.0.1:0")
        if port == 0:
            raise FailedPrecondition("loopback_port: cannot bind 127.0.0.1")
        return port

    async def start(self) -> None:
        self.archive.start()
        if self.settings.scheduler:
            await self.scheduler.start()
        await self.grpc.start()
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("quakewatch serving port=%d data_dir=%s db=%s", self.port, self.settings.data_dir, self.engine.url.render_as_string(hide_password=True))

    async def stop(self, grace: float | None = None) -> None:
        """Drain streams (up to ``grace`` seconds), flush the archive, release everything."""
        if self._stopped.is_set():
            return
        await self.health.enter_graceful_shutdown()
        await self.drills.shutdown()  # the drill servers this one runs
        self.events.hub.close_all()  # Watch streams end; ingest streams drain
        self.alerts.close_all()
        if self.eew is not None:
            self.eew.shutdown()
        await self.grpc.stop(self.settings.grace_s if grace is None else grace)
        await asyncio.to_thread(self.events.shutdown)
        await asyncio.to_thread(self.shm.shutdown)
        await self.scheduler.stop()  # first: the retention job shares the archive's files
        await self.archive.close()
        self.engine.dispose()
        self._dir_lock.release()
        self._stopped.set()
        log.info("quakewatch stopped")

    async def wait_for_termination(self) -> None:
        await self._stopped.wait()

    # -- jobs -------------------------------------------------------------------------
    async def escalate_plans(self) -> None:
        """Record the escalations of plan actions whose deadline passed (audited)."""
        from .decision.activation_store import escalate_open

        events = await asyncio.to_thread(escalate_open, self.engine)
        for e in events:
            log.warning("plan action overdue action=%s escalated_to=%s due=%s count=%d", e.action_id, e.to_role, e.due.isoformat(), e.count)

    async def send_notifications(self) -> None:
        """Send the plan notifications that are due (webhooks, e-mail; audited when they end)."""
        from datetime import UTC, datetime

        from .decision.mail import smtp_mailer
        from .decision.notify import deliver_due

        d = self.settings.decision
        sent = await asyncio.to_thread(deliver_due, self.engine, datetime.now(UTC), max_attempts=d.notification_attempts,
                                       timeout_s=d.notification_timeout_s,
                                       mailer=smtp_mailer(d.smtp) if d.smtp is not None else None)
        for x in sent:
            if x.status == "pending":
                log.warning("plan notification not delivered id=%s address=%s attempt=%d error=%s", x.notification_id,
                            x.address, x.attempts, x.error)

    async def snapshot_status(self) -> None:
        """Persist the status of every structure that received data since the last
        snapshot, so that it survives a restart. Built on the event loop one structure
        at a time (memory only, yielding in between); written by one bulk upsert in a
        worker thread. A long GIL-holding job in a thread would stall the loop's I/O."""
        since, self._snapshot_ns = self._snapshot_ns, time.time_ns()
        rows: list[dict[str, object]] = []
        now = utcnow()
        for sid, rt in list(self.ingest.runtimes.items()):
            if rt.counters.last_block_ns < since:
                continue
            status = live_status(self.ingest, self.settings.quality, rt, time.time_ns())
            rows += [
                {"structure_id": sid, "channel_id": c.channel_id, "status_json": json_format.MessageToJson(c, indent=None), "updated_at": now}
                for c in status.channels
            ]
            await asyncio.sleep(0)
        if rows:
            await asyncio.to_thread(self._write_snapshots, rows)

    def _write_snapshots(self, rows: list[dict[str, object]]) -> None:
        with Session(self.engine) as s:
            live = set(s.exec(select(Structure.structure_id).where(col(Structure.structure_id).in_({r["structure_id"] for r in rows}))))
            rows = [r for r in rows if r["structure_id"] in live]  # deleted meanwhile: nothing to keep
            if rows:
                upsert(s, ChannelStatusSnapshot, rows, ["structure_id", "channel_id"], ["status_json", "updated_at"])
                s.commit()

    async def apply_retention(self) -> None:
        days = self.settings.retention_days
        if days:
            n = await asyncio.to_thread(self.archive.delete_older_than, days)
            if n:
                log.info("retention deleted_files=%d older_than_days=%g", n, days)


async def create_server(settings: Settings) -> tuple[QuakeWatchServer, int]:
    """Build a server bound to ``settings.listen`` (use port 0 in tests); call ``start()``."""
    server = QuakeWatchServer(settings)
    return server, server.port
