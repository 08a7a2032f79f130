"""SQLModel tables.

Every schema change comes with an Alembic migration in ``migrations/versions``;
``tests/test_storage.py`` checks that the migrated schema matches these models.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(t: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives back naive UTC)."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _ts() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class StructureBase(SQLModel):
    name: str = ""
    kind: str = Field(default="other", max_length=16)
    longitude_deg: float = 0.0
    latitude_deg: float = 0.0
    elevation_m: float = 0.0
    tenant: str = Field(max_length=64, index=True)
    network_code: str = Field(default="QW", max_length=2)
    station_code: str = Field(max_length=5)
    description: str = ""
    # the slowest mode's frequency when known (Hz); 0: found in each record
    lowest_mode_hz: float = 0.0

    @property
    def has_location(self) -> bool:
        """A location was registered ((0, 0), the proto default, means none)."""
        return math.isfinite(self.longitude_deg) and math.isfinite(self.latitude_deg) and (self.longitude_deg, self.latitude_deg) != (0.0, 0.0)


class Structure(StructureBase, table=True):
    __tablename__ = "structure"
    # one SDS station directory per structure (archive/YEAR/NET/STA/...)
    __table_args__ = (UniqueConstraint("network_code", "station_code", name="uq_structure_network_station"),)
    structure_id: str = Field(primary_key=True, max_length=64)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ChannelBase(SQLModel):
    array_id: str = ""
    seed_id: str = Field(default="", max_length=32)
    azimuth_deg: float = 0.0
    dip_deg: float = 0.0
    orientation: str = Field(default="", max_length=4)
    x_m: float = 0.0
    y_m: float = 0.0
    z_m: float = 0.0
    floor: int = 0
    height_m: float = 0.0
    units: str = Field(default="acceleration_mps2", max_length=24)
    sensitivity: float = 1.0
    sample_rate_hz: float = 0.0
    clip_level: float = 0.0


class Channel(ChannelBase, table=True):
    __tablename__ = "channel"
    __table_args__ = (Index("ix_channel_seed_id", "seed_id", unique=True),)
    structure_id: str = Field(primary_key=True, foreign_key="structure.structure_id", max_length=64, ondelete="CASCADE")
    channel_id: str = Field(primary_key=True, max_length=64)


class ApiToken(SQLModel, table=True):
    """A bearer token. Only the SHA-256 of its secret part is stored."""

    __tablename__ = "api_token"
    token_id: str = Field(primary_key=True, max_length=32)
    secret_sha256: str = Field(max_length=64)
    role: str = Field(max_length=16)
    tenant: str | None = Field(default=None, max_length=64)
    description: str = ""
    created_at: datetime = _ts()
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class AuditEntry(SQLModel, table=True):
    """One link of the append-only, hash-chained audit trail (see ``audit.py``)."""

    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    time: datetime = _ts()
    actor: str = Field(max_length=64)
    role: str = Field(max_length=16)
    tenant: str = Field(default="", max_length=64)
    action: str = Field(max_length=64)
    target: str = Field(default="", max_length=256)
    details_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)


class ChannelStatusSnapshot(SQLModel, table=True):
    """Last known quality state of a channel, flushed periodically from the ingest
    process so that status survives restarts and can be read by other replicas."""

    __tablename__ = "channel_status"
    structure_id: str = Field(primary_key=True, foreign_key="structure.structure_id", max_length=64, ondelete="CASCADE")
    channel_id: str = Field(primary_key=True, max_length=64)
    status_json: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = _ts()


class EventRecord(SQLModel, table=True):
    """A detected event (``analysis/events.py``). The whole ``quakewatch.v1.Event``
    message, provenance included, is kept as protobuf JSON in ``event_json``; the
    columns beside it are what queries filter and sort on."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_structure_trigger", "structure_id", "trigger_time_ns"),)
    event_id: str = Field(primary_key=True, max_length=32)
    structure_id: str = Field(foreign_key="structure.structure_id", max_length=64, ondelete="CASCADE")
    tenant: str = Field(max_length=64, index=True)
    state: str = Field(max_length=8)
    classification: str = Field(default="unknown", max_length=16)
    trigger_time_ns: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    end_time_ns: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    max_intensity: float = 0.0
    max_pga_mps2: float = 0.0
    event_json: str = Field(sa_column=Column(Text, nullable=False))
    opened_at: datetime = _ts()
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class ModalResultRecord(SQLModel, table=True):
    """One analysis window's modal identification (``analysis/health.py``): the whole
    ``quakewatch.v1.ModalResult`` as protobuf JSON, query columns beside it."""

    __tablename__ = "modal_result"
    __table_args__ = (Index("ix_modal_result_structure_end", "structure_id", "window_end_ns"),)
    result_id: str = Field(primary_key=True, max_length=32)
    structure_id: str = Field(foreign_key="structure.structure_id", max_length=64, ondelete="CASCADE")
    tenant: str = Field(max_length=64, index=True)
    window_end_ns: int = Field(sa_column=Column(BigInteger, nullable=False))
    n_modes: int = 0
    result_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts()


class AssessmentRecord(SQLModel, table=True):
    """A health assessment, periodic or post-event (``quakewatch.v1.Assessment`` JSON)."""

    __tablename__ = "health_assessment"
    __table_args__ = (Index("ix_assessment_structure_time", "structure_id", "time_ns"),)
    assessment_id: str = Field(primary_key=True, max_length=32)
    structure_id: str = Field(foreign_key="structure.structure_id", max_length=64, ondelete="CASCADE")
    tenant: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)
    status: str = Field(max_length=8)
    time_ns: int = Field(sa_column=Column(BigInteger, nullable=False))
    assessment_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts()


class LossEstimateRecord(SQLModel, table=True):
    """A stored loss estimate: summary columns for queries, the document (without per-asset
    rows, which live compressed in the data directory) and its provenance."""

    __tablename__ = "loss_estimate"
    estimate_id: str = Field(primary_key=True, max_length=32)
    tenant: str | None = Field(default=None, max_length=64, index=True)
    created_by: str = Field(max_length=64)
    name: str = Field(max_length=256)
    response_level: str = Field(max_length=4)
    pager_alert: str = Field(max_length=8)
    fatalities: float
    economic_loss: float
    displaced: float
    n_assets: int
    realisations: int
    observations: int = 0
    summary_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts()


class PlanActivation(SQLModel, table=True):
    """An emergency plan activated for an event: the plan text it was decided with (so
    escalations and revisions keep using that version), the level and the checklist.

    ``actions_json`` holds the action items; every change bumps ``revision`` and is
    written only if the row still has the revision it was read at (optimistic
    concurrency: two acknowledgements at once cannot lose one)."""

    __tablename__ = "plan_activation"
    activation_id: str = Field(primary_key=True, max_length=32)
    tenant: str | None = Field(default=None, max_length=64, index=True)
    created_by: str = Field(max_length=64)
    plan_id: str = Field(max_length=128)
    plan_version: str = Field(max_length=64)
    plan_sha256: str = Field(max_length=64)
    plan_text: str = Field(sa_column=Column(Text, nullable=False))
    level: str = Field(max_length=4)
    origin_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revision: int = 1
    open: bool = Field(default=True, index=True)
    situation_json: str = Field(sa_column=Column(Text, nullable=False))
    decision_json: str = Field(sa_column=Column(Text, nullable=False))
    actions_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    # made on an exercise (drill) server: its notifications are recorded, never sent
    exercise: bool = False


class PlanNotification(SQLModel, table=True):
    """One message of an activation to one of its plan's notification targets: the
    durable outbox (written in the activation's transaction, delivered by a periodic job,
    at least once; ``notification_id`` is the receiver's idempotency key).

    ``status``: ``pending`` (to be sent at ``next_attempt_at``), ``delivered``,
    ``failed`` (gave up after the last attempt), ``suppressed`` (exercise server) or
    ``undeliverable`` (no gateway for the channel)."""

    __tablename__ = "plan_notification"
    __table_args__ = (Index("ix_plan_notification_due", "status", "next_attempt_at"),)
    notification_id: str = Field(primary_key=True, max_length=32)
    activation_id: str = Field(max_length=32, index=True)
    tenant: str | None = Field(default=None, max_length=64)
    kind: str = Field(max_length=16)
    role: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=512)
    payload_json: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)
    attempts: int = 0
    last_error: str = Field(default="", max_length=512)
    next_attempt_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime = _ts()
    delivered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class DispatchRecord(SQLModel, table=True):
    """A dispatch plan as computed (the document, gzip-free: shipments are small)."""

    __tablename__ = "dispatch_plan"
    dispatch_id: str = Field(primary_key=True, max_length=32)
    tenant: str | None = Field(default=None, max_length=64, index=True)
    created_by: str = Field(max_length=64)
    objective: float
    n_shipments: int
    unmet_total: float
    document_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts()


class MineEventRecord(SQLModel, table=True):
    """One event of a mine's catalogue (located tremor or blast)."""

    __tablename__ = "mine_event"
    mine_id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=64)
    time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    x_m: float
    y_m: float
    z_m: float
    magnitude: float
    energy_j: float | None = None
    moment_nm: float | None = None
    type: str = Field(max_length=8)
    created_at: datetime = _ts()
    # "import" (a catalogue file) or "live" (located from the mine array's stream)
    origin: str = Field(default="import", max_length=8)
    # live events: uncertainty, picks, size and class with their reasons (mine_monitor.py)
    details_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))


class MineBlastingWindow(SQLModel, table=True):
    """One scheduled blast of a mine: time window and face (local frame, metres)."""

    __tablename__ = "mine_blasting_window"
    id: int | None = Field(default=None, primary_key=True)
    mine_id: str = Field(max_length=64, index=True)
    start_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    end_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    face_id: str = Field(default="", max_length=64)
    x_m: float
    y_m: float
    z_m: float
    radius_m: float
    created_at: datetime = _ts()


class MineGradeChangeRecord(SQLModel, table=True):
    """A change of a mine's warning grade (an alert), with the event that caused it."""

    __tablename__ = "mine_grade_change"
    id: int | None = Field(default=None, primary_key=True)
    mine_id: str = Field(max_length=64, index=True)
    time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    event_id: str = Field(max_length=64)
    previous: str = Field(max_length=8)
    grade: str = Field(max_length=8)
    reasons_json: str = Field(sa_column=Column(Text, nullable=False))
    rule_table: str = Field(max_length=128)
    created_at: datetime = _ts()
