"""Drill scenarios (YAML), validated once: what happens, to which structures, and what
headquarters work with.

Example (``plans/scenarios/taiyuan-basin-m6.yaml`` is a complete one)::

    version: 1
    id: taiyuan-basin-m6
    name: "Drill: Mw 6.0 under the Taiyuan basin"
    kind: earthquake
    earthquake: {lon: 112.47, lat: 37.74, depth_km: 12, mw: 6.0}
    clock_time: "10:00"          # local time of day of the scenario (occupancy)
    origin_after_s: 25           # streaming starts this long before the origin
    record_s: 80                 # seconds of record per structure
    structures:                  # the monitored network of the drill
      - {id: bui-01, kind: building, lon: 112.31, lat: 37.65, tenant: city-buildings}
    participants:
      - {role: hq, name: provincial headquarters}
      - {role: owner, tenant: city-buildings, name: city building owners}
      # optional: the plan's notifications to these roles reach this webhook instead
      # - {role: hq, name: duty office, webhook: "http://10.0.0.5:8080/drill", plan_roles: [hq_office]}
    loss: taiyuan-basin/loss.yaml   # a `quakewatch loss --scenario` file (its rupture is replaced)
    plan: cn-national-earthquake-2012
    dispatch: {depots: taiyuan-basin/depots.csv, townships: taiyuan-basin/townships.csv}
    clocks: {warning_s: 10}      # optional overrides of the default clocks

Paths are relative to the scenario file and may not leave its directory. Unknown keys,
wrong types and values out of range are errors that name the field.

Shipped scenarios live in ``plans/scenarios/``; :func:`resolve_scenario` accepts a path
or a shipped scenario's id.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..decision.plan_schema import address_error
from ..decision.scenario_spec import RuptureSpec
from ..errors import InvalidInput, validation_problems

__all__ = ["Clocks", "DrillScenario", "load_drill_scenario", "resolve_scenario", "shipped_scenario", "shipped_scenarios"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Earthquake(RuptureSpec):
    """The rupture of a loss scenario, within what the replay can synthesise
    (:func:`quakewatch.ext.stochastic.stochastic_ground_motion`: depth 0.5-100 km, Mw <= 8.5)."""

    depth_km: float = Field(ge=0.5, le=100)
    mw: float = Field(ge=3.0, le=8.5)


class MineSpec(_Strict):
    """The mine of a tremor drill and its microseismic array (positions in m in the mine
    frame: x east, y north, z up; sensors record velocity on E, N, Z)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    tenant: str = Field(min_length=1)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    sensors: list[tuple[float, float, float]] = Field(min_length=5, max_length=64)
    rate_hz: float = Field(default=2000.0, ge=500, le=10_000)


class TremorSpec(_Strict):
    """A mine tremor: source in the mine frame (m), moment magnitude, double-couple mechanism."""

    x_m: float
    y_m: float
    z_m: float = Field(le=0)
    mw: float = Field(ge=0.0, le=4.0)
    strike_deg: float = Field(default=30.0, ge=0, le=360)
    dip_deg: float = Field(default=60.0, gt=0, le=90)
    rake_deg: float = Field(default=90.0, ge=-180, le=180)


class MonitoredStructureSpec(_Strict):
    """The structure of a structural-failure drill, with the sensor layout QuakeWatch's
    synthetic model of its kind gives it (``quakewatch.ext.synthetic.structure_model``)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    kind: Literal["bridge", "building", "dam", "other"]
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    tenant: str = Field(min_length=1)
    channels: int = Field(default=12, ge=2, le=64)
    rate_hz: float = Field(default=50.0, ge=10, le=1000)
    seed: int = Field(default=0, ge=0)


class FailureSpec(_Strict):
    """Damage at ``after_s`` into the record: every mode's stiffness drops by
    ``stiffness_loss`` (frequencies times ``sqrt(1 - loss)``)."""

    after_s: float = Field(gt=0)
    stiffness_loss: float = Field(gt=0, lt=0.9)


class DrillStructure(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    kind: Literal["building", "bridge", "dam", "mine", "tunnel", "other"]
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    elevation_m: float = 0.0
    tenant: str = Field(min_length=1)
    rate_hz: float = Field(default=100.0, ge=20, le=1000)


class Participant(_Strict):
    """Who takes part: a token of ``role`` on the drill server; with ``webhook`` and
    ``plan_roles``, the plan's notifications to those roles are relayed to that webhook
    (``drills/relay.py``), never to the plan's own addresses."""

    role: Literal["hq", "owner"]
    name: str = Field(min_length=1)
    tenant: str | None = None
    webhook: str | None = None
    plan_roles: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _tenant(self) -> Participant:
        if self.role == "owner" and not self.tenant:
            raise ValueError("an owner participant needs its tenant")
        if self.webhook is not None and (bad := address_error("webhook", self.webhook)):
            raise ValueError(f"webhook: {bad}")
        if bool(self.webhook) != bool(self.plan_roles):
            raise ValueError("webhook and plan_roles go together: the plan roles whose notifications the webhook receives")
        return self


class DispatchInputs(_Strict):
    depots: str
    townships: str


class Clocks(_Strict):
    """The clocks of the provincial plans (seconds after the origin)."""

    warning_s: float = Field(default=10.0, gt=0, description="early warning")
    mine_grade_s: float = Field(default=5.0, gt=0, description="mine warning grade after a located tremor")
    health_flag_s: float = Field(default=172_800.0, gt=0, description="structural change flagged (data time after the damage; "
                                 "issue [3]: within 48 h)")
    parameters_s: float = Field(default=60.0, gt=0, description="automatic basic parameters")
    intensity_rapid_s: float = Field(default=300.0, gt=0, description="first intensity report")
    intensity_full_s: float = Field(default=600.0, gt=0, description="intensity at every structure")
    loss_s: float = Field(default=1200.0, gt=0, description="loss assessment")
    relief_s: float = Field(default=36000.0, gt=0, description="people helped (relief dispatched)")


class DrillScenario(_Strict):
    version: Literal[1] = 1
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str = Field(min_length=1)
    kind: Literal["earthquake", "mine_tremor", "structural_failure"] = "earthquake"
    earthquake: Earthquake | None = None
    mine: MineSpec | None = None
    tremor: TremorSpec | None = None
    structure: MonitoredStructureSpec | None = None
    failure: FailureSpec | None = None
    health_window_s: float = Field(default=10.0, ge=10, le=3600, description="analysis window of the drill server")
    baseline_windows: int = Field(default=50, ge=50, le=2000, description="windows of the health baseline")
    clock_time: str = Field(default="10:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    origin_after_s: float = Field(default=25.0, ge=3, le=600)
    record_s: float = Field(default=80.0, ge=8, le=86_400)
    structures: list[DrillStructure] = Field(default_factory=list)
    participants: list[Participant] = Field(default_factory=list)
    loss: str | None = None
    plan: str | None = None
    dispatch: DispatchInputs | None = None
    clocks: Clocks = Clocks()

    @model_validator(mode="after")
    def _check(self) -> DrillScenario:
        if self.kind == "earthquake":
            if self.earthquake is None or len(self.structures) < 4:
                raise ValueError("an earthquake drill needs 'earthquake' and at least 4 'structures' (the network)")
            if self.mine is not None or self.tremor is not None:
                raise ValueError("'mine' and 'tremor' belong to a mine_tremor drill")
            if self.origin_after_s < 12:
                raise ValueError("origin_after_s: at least 12 s in an earthquake drill (the detectors' 10-s LTA warms up first)")
        elif self.kind == "mine_tremor":
            if self.mine is None or self.tremor is None:
                raise ValueError("a mine_tremor drill needs 'mine' (with its sensors) and 'tremor'")
            if self.earthquake is not None or self.structures or self.loss or self.dispatch or self.structure:
                raise ValueError("a mine_tremor drill has no earthquake, structures, structure, loss or dispatch")
        else:
            if self.structure is None or self.failure is None:
                raise ValueError("a structural_failure drill needs 'structure' and 'failure'")
            if self.earthquake is not None or self.structures or self.loss or self.dispatch or self.mine:
                raise ValueError("a structural_failure drill has no earthquake, structures, mine, loss or dispatch")
            # the baseline (extended by up to a few windows when some are incomplete), then the
            # control chart's 12-window warm-up twice over come before the damage
            need = (self.baseline_windows + 30) * self.health_window_s
            if self.failure.after_s < need:
                raise ValueError(f"failure.after_s: at least {need:g} s: the health baseline's {self.baseline_windows} "
                                 f"windows of {self.health_window_s:g} s and 30 scored windows come first")
            if self.failure.after_s >= self.record_s:
                raise ValueError("failure.after_s must lie inside record_s")
        ids = [s.id for s in self.structures]
        if len(set(ids)) != len(ids):
            raise ValueError("structure ids must be unique")
        if self.origin_after_s >= self.record_s:
            raise ValueError(f"origin_after_s ({self.origin_after_s:g}) must be less than record_s ({self.record_s:g})")
        if self.dispatch is not None and self.loss is None:
            raise ValueError("dispatch needs a loss model (the displaced people are the demand)")
        if self.kind == "earthquake" and self.plan is not None and self.loss is None:
            raise ValueError("plan needs a loss model (the level is decided from the loss estimate)")
        return self

    @property
    def time_of_day(self) -> str:
        """Hazus occupancy period of the clock time: day 9-17, night 22-6, else transit."""
        hour = int(self.clock_time[:2])
        return "day" if 9 <= hour < 17 else "night" if hour >= 22 or hour < 6 else "transit"

    def files(self) -> list[str]:
        return [f for f in (self.loss, *(() if self.dispatch is None else (self.dispatch.depots, self.dispatch.townships))) if f]


def load_drill_scenario(path: str | Path) -> tuple[DrillScenario, Path]:
    """Read and validate a drill scenario; returns it and its directory."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"{p}: cannot read the drill scenario: {exc}", field="scenario") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{p}: not valid YAML: {exc}", field="scenario") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{p}: a drill scenario is a mapping (id, name, earthquake, structures, ...)", field="scenario")
    try:
        sc = DrillScenario.model_validate(data)
    except ValidationError as exc:
        where, text = validation_problems(exc, "(top)")
        raise InvalidInput(f"{p}: {text}", field=where) from None
    base = p.resolve().parent
    for name in sc.files():
        f = (base / name).resolve()
        if not f.is_relative_to(base):
            raise InvalidInput(f"{p}: {name!r} leaves the scenario's directory", field="scenario")
        if not f.is_file():
            raise InvalidInput(f"{p}: {name!r} does not exist", field="scenario")
    return sc, base


def _shipped_dir() -> Path:
    return Path(str(resources.files("quakewatch.plans"))) / "scenarios"


def shipped_scenarios() -> list[str]:
    """Ids of the scenarios shipped in ``plans/scenarios/``."""
    d = _shipped_dir()
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


def shipped_scenario(name: str) -> Path | None:
    """The file of a shipped scenario by its id, None when there is none."""
    p = _shipped_dir() / f"{name}.yaml"
    return p if name in shipped_scenarios() and p.is_file() else None


def resolve_scenario(name: str) -> Path:
    """A scenario file path, or the id of a shipped scenario."""
    p = Path(name)
    if p.is_file():
        return p
    shipped = shipped_scenario(name)
    if shipped is not None:
        return shipped
    raise InvalidInput(f"scenario: no file {name!r} and no shipped scenario of that id "
                       f"(shipped: {', '.join(shipped_scenarios()) or 'none'})", field="scenario")
