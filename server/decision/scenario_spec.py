"""The scenario file of ``quakewatch loss --scenario`` (YAML or JSON), validated once.

Example::

    version: 1
    name: Jiaocheng fault M6.5, night
    rupture: {lon: 112.35, lat: 37.62, depth_km: 12, mw: 6.5, strike_deg: 35, dip_deg: 70, rake_deg: -90}
    time_of_day: night            # day | night | transit | avg (occupants of the exposure)
    origin_time: 2026-05-12T02:28:00+08:00   # optional: plan deadlines count from it
    exposure: exposure.xml        # OpenQuake NRML exposure (XML + CSV)
    fragility: fragility.xml      # NRML fragility model (structural)
    taxonomy_mapping: mapping.csv # optional: taxonomy -> risk id, weight
    consequences: [consequences.csv]   # optional: losses, collapsed, fatalities, injured, homeless
    vulnerability: {structural: vulnerability.xml}   # optional
    casualty_model: hazus         # hazus (risk ids are Hazus building types) | consequences | none
    monitored: monitored.csv      # optional: monitored structures as assets (decision/monitored.py)
    ground_motion:
      model: BSSA14
      vs30_mps: 400               # or site_model: sites.csv with lon, lat, vs30
      realisations: 200
      seed: 42
      truncation_level: 3
      stations: observed.csv      # optional: lon, lat, imt, value (g, or cm/s for PGV)
    pager: {country: CN, usd_per_unit: 0.14, intensity_model: worden2012_pgv}   # or Yu2013Eastern, ...
    response: {gdp_previous_year: 2.57e12, population_class: densely_populated}
    relief: {days: 3}

Paths are relative to the scenario file.  Unknown keys, wrong types and values
out of range are errors that name the field (pydantic, ``extra="forbid"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ..errors import validation_problems
from .nrml import InputFileError

__all__ = ["ScenarioSpec", "load_scenario", "parse_scenario", "referenced_files"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuptureSpec(_Strict):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    depth_km: float = Field(ge=0, le=700)
    mw: float = Field(ge=3.0, le=9.5)
    strike_deg: float | None = Field(default=None, ge=0, le=360)
    dip_deg: float = Field(default=90.0, gt=0, le=90)
    rake_deg: float = Field(default=0.0, ge=-180, le=180)
    length_km: float | None = Field(default=None, gt=0)
    width_km: float | None = Field(default=None, gt=0)


class GroundMotionSpec(_Strict):
    model: Literal["BSSA14"] = "BSSA14"
    vs30_mps: float = Field(default=400.0, gt=50, lt=3000)
    site_model: str | None = None
    realisations: int = Field(default=200, ge=1, le=100_000)
    seed: int = Field(default=42, ge=0)
    truncation_level: float | None = Field(default=3.0, gt=0)
    correlated: bool = True
    stations: str | None = None


class PagerSpec(_Strict):
    country: str = Field(default="CN", min_length=2, max_length=2)
    usd_per_unit: float | None = Field(default=None, gt=0)
    # intensity of the empirical cross-check: MMI from the (conditioned) median PGV by Worden
    # et al. (2012), or the China intensity attenuation of Yu et al. (2013) by region
    intensity_model: Literal["worden2012_pgv", "Yu2013Active", "Yu2013Tibet", "Yu2013Eastern",
                             "Yu2013Stable"] = "worden2012_pgv"


class ResponseSpec(_Strict):
    rule_table: str | None = None
    gdp_previous_year: float | None = Field(default=None, gt=0)
    population_class: Literal["populated", "densely_populated"] | None = None


class ReliefSpec(_Strict):
    days: float = Field(default=3.0, ge=0, le=365)
    tent_floor_area_m2: float | None = Field(default=None, gt=0)


class ScenarioSpec(_Strict):
    version: Literal[1] = 1
    name: str = Field(min_length=1)
    rupture: RuptureSpec
    time_of_day: Literal["day", "night", "transit", "avg"] = "night"
    origin_time: AwareDatetime | None = None
    exposure: str
    fragility: str | None = None
    taxonomy_mapping: str | None = None
    consequences: list[str] = Field(default_factory=list)
    vulnerability: dict[Literal["structural", "nonstructural", "contents", "occupants"], str] = Field(
        default_factory=dict)
    casualty_model: Literal["hazus", "consequences", "none"] = "hazus"
    monitored: str | None = None
    ground_motion: GroundMotionSpec = GroundMotionSpec()
    pager: PagerSpec = PagerSpec()
    response: ResponseSpec = ResponseSpec()
    relief: ReliefSpec = ReliefSpec()


def parse_scenario(text: str, where: str = "scenario") -> ScenarioSpec:
    """Validate a scenario document (YAML, of which JSON is a subset)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputFileError(f"{where}: not valid YAML or JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InputFileError(f"{where}: a scenario is a mapping with name, rupture, exposure, ...")
    if isinstance(data.get("consequences"), str):
        data["consequences"] = [data["consequences"]]
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        raise InputFileError(f"{where}: {validation_problems(exc, '(top)')[1]}") from None


def referenced_files(spec: ScenarioSpec) -> list[str]:
    """Every file name the scenario refers to (to check where they lead)."""
    names = [spec.exposure, spec.fragility, spec.taxonomy_mapping, *spec.consequences, spec.monitored,
             *spec.vulnerability.values(), spec.ground_motion.site_model, spec.ground_motion.stations,
             spec.response.rule_table]
    return [n for n in names if n]


def load_scenario(path: str | Path) -> tuple[ScenarioSpec, Path]:
    """Read and validate a scenario file; returns the spec and its directory."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"{p}: cannot read the scenario: {exc}") from exc
    return parse_scenario(text, str(p)), p.resolve().parent
