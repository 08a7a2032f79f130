"""Service settings: one validated object, built at the edge (CLI or caller) and passed
in. Nothing here reads the environment at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, FilePath, ValidationError, model_validator


class IngestLimits(BaseModel):
    """Limits enforced on every SampleBlock; a violation rejects the block with a reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_block_bytes: int = Field(4 * 1024 * 1024, gt=0, description="size of `data`")
    max_channels: int = Field(256, gt=0, description="channels per block")
    max_block_duration_s: float = Field(60.0, gt=0, description="n_samples / sample_rate_hz")
    min_sample_rate_hz: float = Field(0.01, gt=0)
    max_sample_rate_hz: float = Field(20_000.0, gt=0)
    max_future_s: float = Field(30.0, ge=0, description="how far a block's end may lie ahead of the server clock")
    max_past_days: float = Field(20_000.0, gt=0, description="how far in the past a block may start (default reaches 1971: real archives replay)")
    max_samples_per_s: float = Field(
        2_000_000.0, gt=0, description="sustained samples/s per structure, all its streams together (token bucket, burst = 10 s)"
    )
    overlap_tolerance_samples: float = Field(0.5, ge=0, description="allowed overlap with the previous block")
    max_inflight_blocks: int = Field(1024, gt=0, description="accepted blocks awaiting durability per stream")
    max_streams_per_structure: int = Field(64, gt=0, description="distinct stream_id values per structure")


class QualitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    flatline_s: float = Field(10.0, gt=0, description="constant for this long = dead channel")
    spike_factor: float = Field(20.0, gt=0)
    latency_warn_s: float = Field(30.0, gt=0)
    clock_drift_warn_ppm: float = Field(100.0, gt=0)
    gap_tolerance_samples: float = Field(0.5, ge=0)
    clip_window_s: float = Field(600.0, gt=0, description="clipping seen this recently marks the channel FAILED")


#: Microseismic monitoring in mines: geophones at 1-10 kHz, events of 10-500 Hz lasting
#: well under a second, so a short STA, a kHz band and short pre/post windows (the
#: 0.5 s STA and 0.5-20 Hz band of the defaults suit earthquakes at structures).
MINE_DETECTION: dict[str, Any] = {"sta_s": 0.02, "lta_s": 2.0, "band_hz": (5.0, 500.0), "trigger_on": 5.0,
                                  "trigger_off": 1.5, "pre_event_s": 2.0, "post_event_s": 2.0, "max_event_s": 60.0}


class EventSettings(BaseModel):
    """Event detection on every structure's stream (``analysis/detector.py``).

    Each channel is band-passed (causal Butterworth, ``band_hz``), its recursive
    STA/LTA is computed, and a channel triggers when the ratio rises above
    ``trigger_on`` and releases below ``trigger_off``. An event opens when the number
    of triggered channels reaches ``max(coincidence_min_channels, ceil(coincidence_fraction
    * n))`` (capped at ``n``, the channels streamed); it closes ``post_event_s`` after the
    count falls below that again, or after ``max_event_s``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    sta_s: float = Field(0.5, gt=0, description="short-term average window")
    lta_s: float = Field(10.0, gt=0, description="long-term average window (also the warm-up after a gap)")
    trigger_on: float = Field(5.0, gt=1, description="STA/LTA ratio that switches a channel on")
    trigger_off: float = Field(1.5, gt=0, description="ratio below which it switches off")
    band_hz: tuple[float, float] = Field((0.5, 20.0), description="trigger band-pass corners; the upper is capped at 0.45 fs")
    coincidence_min_channels: int = Field(2, ge=1)
    coincidence_fraction: float = Field(0.25, gt=0, le=1)
    pre_event_s: float = Field(20.0, ge=0, description="samples kept before the trigger for metrics")
    post_event_s: float = Field(5.0, ge=0, description="quiet time after the coincidence ends before the event closes")
    max_event_s: float = Field(300.0, gt=0)
    update_interval_s: float = Field(1.0, gt=0, description="period of intensity updates while an event is open")
    max_backlog_blocks: int = Field(1_000, gt=0, description="tasks waiting in the event worker beyond which intensity updates are skipped")
    kind_overrides: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {"mine": dict(MINE_DETECTION)},
        description="per structure kind, settings that replace the ones above (e.g. mines: short STA, kHz band)")

    @model_validator(mode="after")
    def _check(self) -> EventSettings:
        if self.sta_s >= self.lta_s:
            raise ValueError(f"sta_s ({self.sta_s}) must be shorter than lta_s ({self.lta_s})")
        if self.trigger_off >= self.trigger_on:
            raise ValueError(f"trigger_off ({self.trigger_off}) must be below trigger_on ({self.trigger_on})")
        lo, hi = self.band_hz
        if not 0 < lo < hi:
            raise ValueError(f"band_hz must satisfy 0 < low < high, got {self.band_hz}")
        for kind, over in self.kind_overrides.items():
            if "kind_overrides" in over:
                raise ValueError(f"kind_overrides.{kind}: cannot nest kind_overrides")
            try:
                self.for_kind(kind)
            except ValidationError as exc:
                raise ValueError(f"kind_overrides.{kind}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
        return self

    def for_kind(self, kind: str) -> EventSettings:
        """The settings of a structure of ``kind`` (``kind_overrides`` applied)."""
        over = self.kind_overrides.get(kind)
        if not over:
            return self
        return EventSettings.model_validate({**self.model_dump(exclude={"kind_overrides"}), **over, "kind_overrides": {}})


class HealthSettings(BaseModel):
    """Continuous structural health (``analysis/health.py``).

    Every ``window_s`` of data (aligned to sample time) is identified by automated
    SSI-cov; the first ``baseline_windows`` results train the baseline (tracked modes and
    the novelty model); later windows get a periodic assessment.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    window_s: float = Field(1800.0, ge=10, description="analysis window (30 min is usual for OMA)")
    min_window_fraction: float = Field(0.5, gt=0, le=1, description="a window with gaps, or cut short, is identified if it holds this fraction of its samples")
    min_channels: int = Field(1, ge=1, description="motion channels needed in a stream for identification")
    max_order: int = Field(100, ge=4, le=400, description="largest SSI-cov model order")
    weighting: Literal["none", "cva"] = Field("none", description="SSI-cov weighting: 'cva' lowers the frequency scatter by "
                                              "10-25 % for a third more time (but a spurious noise-band mode in 2 % of test records); it applies to windows whose channels are all "
                                              "references (16 at 100 Hz), others are identified unweighted")
    jackknife_blocks: int = Field(20, ge=3, description="blocks per window for the uncertainty")
    lowest_mode_hz: float | None = Field(None, gt=0, description="the slowest mode's frequency (tall buildings, long bridges: 0.1-0.3 Hz); "
                                         "the correlation lags then span 0.6 of its period, 1.2 periods with fewer than 8 channels (default: 1 s of lags)")
    highpass_fraction: float = Field(0.1, ge=0, lt=1, description="when the slowest mode is known (lowest_mode_hz of the structure "
                                     "or of the server), motion channels are high-passed at this fraction of it before the "
                                     "covariances (causal Butterworth, order 2), against sensor drift; 0 turns it off")
    baseline_windows: int = Field(336, ge=50, description="windows of the training period (336 = one week of 30 min); the novelty model needs >= 50")
    tracking_window: float = Field(0.1, gt=0, lt=1, description="relative frequency window of mode tracking")
    tracking_min_mac: float = Field(0.8, gt=0, le=1, description="MAC needed to track a mode")
    lost_mode_windows: int = Field(6, ge=1, description="consecutive windows without a tracked mode before it is reported lost (YELLOW)")
    novelty_alpha: float = Field(0.01, gt=0, lt=0.5, description="per-window false-alarm rate of the T^2 threshold")
    max_backlog_batches: int = Field(64, ge=1, description="batches of 64 blocks the analysis may lag behind ingest before blocks are skipped")
    drift_code: str = Field("GB50011", description="drift limit table of post-event tags")
    drift_system: dict[str, str] = Field(
        default_factory=lambda: {"building": "rc_frame"},
        description="structural system (drift limit table row) by structure kind; kinds without one get no drift verdict",
    )


class SmtpSettings(BaseModel):
    """The mail server that plan notifications to ``email`` targets go through."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1, description="mail server (submission) host name")
    port: int = Field(587, ge=1, le=65535, description="587: submission with STARTTLS; 465: implicit TLS; 25: relay")
    security: Literal["starttls", "tls", "none"] = Field("starttls", description="starttls (upgrade after connecting), tls "
                                                          "(TLS from the start, port 465) or none (a relay on a trusted network)")
    from_address: str = Field(min_length=3, description="sender address of the notifications")
    username: str = Field("", description="login name; empty: no login")
    password_env: str = Field("", description="environment variable that holds the password (never the password itself)")
    ca_file: FilePath | None = Field(None, description="CA certificates (PEM) that sign the mail server's certificate, for a "
                                 "server with a private CA; default: the system's")

    @model_validator(mode="after")
    def _login_encrypted(self) -> SmtpSettings:
        if self.username and self.security == "none":
            raise ValueError("username: a login needs security starttls or tls (it would cross the network in the clear)")
        return self


class DecisionSettings(BaseModel):
    """Loss estimates (``DecisionService``, ``decision/``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path | None = Field(None, description="exposure, fragility and scenario files (default DATA_DIR/decision); "
                                  "scenario file names may not leave it")
    max_realisations: int = Field(10_000, ge=1, description="largest number of ground-motion realisations per request")
    threads: int = Field(2, ge=1, description="threads of one estimate")
    escalation_interval_s: float = Field(30.0, gt=0, description="period of the job that records escalations of overdue plan actions")
    notification_interval_s: float = Field(5.0, gt=0, description="period of the job that sends due plan notifications (webhooks)")
    notification_attempts: int = Field(8, ge=1, description="attempts per plan notification before it is failed "
                                       "(retried after 5 s, 10 s, 20 s ... at most 10 min apart)")
    notification_timeout_s: float = Field(5.0, gt=0, description="how long one webhook POST or mail hand-over may take")
    smtp: SmtpSettings | None = Field(None, description="mail server for email targets; without one they are undeliverable")


class MineSettings(BaseModel):
    """Mine seismic risk warning (``MineService``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: Path | None = Field(None, description="warning rule table (default: plans/mine_warning/rockburst-warning-example.yaml)")
    max_import_events: int = Field(100_000, ge=1, description="largest catalogue accepted by one ImportCatalog")
    # the live path (analysis/mine_live.py): events detected on a mine's array are
    # located, sized, classified and added to its catalogue; grade changes are alerts
    live: bool = Field(True, description="locate events detected on mine arrays and evaluate the grade at once")
    analysis_delay_s: float = Field(1.0, gt=0, le=30, description="data after the first trigger the analysis waits for")
    vp_mps: float = Field(5800.0, gt=0, description="P speed of the mine's constant-velocity model")
    vs_mps: float = Field(3350.0, gt=0, description="S speed")
    layers: tuple[tuple[float, float, float], ...] = Field(
        (), description="flat layers instead of vp_mps/vs_mps: (top depth below z = 0 in m, vp, vs), shallowest first")
    density_kgpm3: float = Field(2700.0, gt=0)
    q_p: float | None = Field(None, gt=0, description="P quality factor for the spectra (None: no correction)")
    q_s: float | None = Field(None, gt=0, description="S quality factor")
    highpass_hz: float = Field(5.0, gt=0, description="causal high-pass before picking")
    min_stations: int = Field(5, ge=4, description="sensors with a P pick needed to locate")

    @model_validator(mode="after")
    def _speeds(self) -> MineSettings:
        if not self.vs_mps < self.vp_mps:
            raise ValueError(f"vs_mps ({self.vs_mps}) must be below vp_mps ({self.vp_mps})")
        tops = [t for t, _, _ in self.layers]
        if any(b <= a for a, b in zip(tops, tops[1:], strict=False)):
            raise ValueError(f"layers: top depths must increase, got {tops}")
        for k, (_, vp, vs) in enumerate(self.layers):
            if not 0 < vs < vp:
                raise ValueError(f"layers[{k}]: need 0 < vs < vp, got vp {vp}, vs {vs}")
        return self


class EewSettings(BaseModel):
    """Earthquake early warning across the structures (``analysis/eew.py``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    velocity_model: str = Field("iasp91", description="1-D model of ext/data/velocity_models")
    pd_relation: str = Field("WuZhao2006", description="Pd magnitude relation shipped in ext/data/eew_magnitude_relations.csv")
    pd_coefficients: tuple[float, float, float, float] | None = Field(
        None, description="a regional calibration instead: a, b, c, sigma of log10(Pd_cm) = a + b M + c log10(R_km) (+/- sigma)")
    pd_source: str = Field("", description="who calibrated pd_coefficients on which records (required with them)")
    min_stations: int = Field(4, ge=3, description="structures whose P picks must fit one hypocentre")
    radius_km: float = Field(150.0, gt=0, description="half-width of the association grid around the structures' centre")
    min_magnitude: float = Field(3.0, description="no warning below this magnitude")
    target_min_intensity: float = Field(4.0, description="structures predicted below this intensity get no message")
    min_magnitude_std: float = Field(0.3, ge=0, description="floor of the magnitude sigma used in predictions")
    update_magnitude_step: float = Field(0.2, gt=0, description="a new solution is sent when the magnitude moves this much")
    update_station_step: int = Field(2, ge=1, description="... or this many more structures joined")
    refresh_updates: bool = Field(True, description="re-evaluate every second while P data accrue")
    pick_before_s: float = Field(3.0, gt=0, description="AIC pick window before the STA/LTA trigger")
    min_snr: float = Field(3.0, gt=1)
    trigger_sigma_s: float = Field(0.3, gt=0, description="1-sigma of a pick that fell back on the trigger time")
    report_delay_s: float = Field(20.0, ge=0, le=55, description="the automatic report goes out this long after the origin")
    report_min_magnitude: float = Field(2.5, description="no automatic report below this magnitude")
    report_min_ml_stations: int = Field(3, ge=1, description="structures with an ML needed to report ML (else Mpd)")
    ml_after_s_s: float = Field(5.0, gt=0, description="seconds past the S wave a structure records before its ML")

    @model_validator(mode="after")
    def _relation(self) -> EewSettings:
        self.magnitude_relation()  # a bad relation stops the server at start-up, naming the field
        return self

    def magnitude_relation(self) -> Any:
        """The Pd relation in use (:class:`quakewatch.ext.early_magnitude.EarlyRelation`)."""
        from quakewatch.ext.early_magnitude import EARLY_RELATIONS, pd_relation

        if self.pd_coefficients is not None:
            try:
                return pd_relation("regional", *self.pd_coefficients, source=self.pd_source)
            except ValueError as exc:
                raise ValueError(f"pd_coefficients / pd_source: {exc}") from None
        rel = EARLY_RELATIONS.get(self.pd_relation)
        if rel is None or rel.form != "pd":
            raise ValueError(f"pd_relation: one of {sorted(k for k, r in EARLY_RELATIONS.items() if r.form == 'pd')}, "
                             f"got {self.pd_relation!r}")
        return rel


class Settings(BaseModel):
    """Everything a server needs. ``data_dir`` holds the SQLite database (unless ``db_url``
    is given), the miniSEED archive (``archive/``, SDS layout) and the ingest journal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str = "127.0.0.1:50051"
    data_dir: Path = Path("./quakewatch-data")
    db_url: str | None = None
    # TLS: server certificate and key (PEM files). With client_ca, clients must present a
    # certificate signed by it (mutual TLS).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    network_code: str = Field("QW", pattern=r"^[A-Z0-9]{1,2}$")
    retention_days: float | None = Field(None, gt=0, description="archive files older than this are deleted daily")
    archive_record_length: int = Field(4096, description="largest miniSEED 2 record length, bytes (records are sized to their data)")
    archive_sync: Literal["auto", "syncfs", "fdatasync"] = Field("auto", description="how a commit is made durable (see ingest/archive.py)")
    max_message_bytes: int = Field(64 * 1024 * 1024, gt=0, description="gRPC transport limit")
    commit_max_delay_s: float = Field(0.0, ge=0, description="extra wait to grow a group commit")
    status_flush_s: float = Field(10.0, gt=0, description="period of the channel-status snapshot job")
    scheduler: bool = True
    grace_s: float = Field(10.0, ge=0, description="drain time on SIGTERM")
    exercise: bool = Field(False, description="a drill server (`quakewatch drill run`): every alert is marked exercise, "
                           "its headline starts with 'EXERCISE:' and its CAP status is Exercise")
    loopback_port: bool = Field(False, description="also listen without TLS on 127.0.0.1 (a free port) for clients in this "
                                "process: a drill server behind TLS talks to its own runner there")
    limits: IngestLimits = IngestLimits()
    quality: QualitySettings = QualitySettings()
    events: EventSettings = EventSettings()
    health: HealthSettings = HealthSettings()
    decision: DecisionSettings = DecisionSettings()
    eew: EewSettings = EewSettings()
    mine: MineSettings = MineSettings()

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be given together")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ValueError("tls_client_ca (mutual TLS) needs tls_cert and tls_key")
        if self.archive_record_length not in (256, 512, 1024, 2048, 4096, 8192):
            raise ValueError("archive_record_length must be a power of two in 256..8192")
        return self

    @property
    def database_url(self) -> str:
        from .storage.engine import default_url

        return self.db_url or default_url(self.data_dir)

    @property
    def decision_dir(self) -> Path:
        return self.decision.data_dir or self.data_dir / "decision"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def journal_dir(self) -> Path:
        return self.data_dir / "journal"
