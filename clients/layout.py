"""Sensor layouts from files: ``quakewatch layout import|export``.

An owner describes each structure and where every sensor sits once, in a file, and
imports it. CSV has one row per channel; structure columns repeat on each row (the
values must agree). JSON is ``{"structures": [{..., "channels": [{...}, ...]}]}``
with the same field names. Unknown columns are rejected; every error names the file,
line and field. Each structure's channels are written in one PutChannels call (all
or nothing).

CSV columns (``structure_id`` and ``channel_id`` required)::

    structure_id, name, kind, longitude_deg, latitude_deg, elevation_m, tenant,
    network_code, station_code, description, lowest_mode_hz,
    channel_id, array_id, seed_id, orientation, azimuth_deg, dip_deg, x_m, y_m, z_m,
    floor, height_m, units, sensitivity, sample_rate_hz, clip_level
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from quakewatch.v1 import common_pb2, registry_pb2

STRUCTURE_FIELDS = ("structure_id", "name", "kind", "longitude_deg", "latitude_deg", "elevation_m", "tenant", "network_code", "station_code", "description",
                    "lowest_mode_hz")
CHANNEL_FIELDS = ("channel_id", "array_id", "seed_id", "orientation", "azimuth_deg", "dip_deg", "x_m", "y_m", "z_m", "floor", "height_m", "units", "sensitivity", "sample_rate_hz", "clip_level")


class LayoutError(ValueError):
    """A layout file problem, with every error found (file:line: field: message)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class ChannelRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel_id: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    array_id: str = ""
    seed_id: str = ""
    orientation: str = ""
    azimuth_deg: float = Field(0.0, ge=0, lt=360)
    dip_deg: float = Field(0.0, ge=-90, le=90)
    x_m: float = 0.0
    y_m: float = 0.0
    z_m: float = 0.0
    floor: int = 0
    height_m: float = 0.0
    units: Literal["acceleration_mps2", "velocity_mps", "displacement_m", "strain", "temperature_c", "other"] = "acceleration_mps2"
    sensitivity: float = Field(1.0, gt=0)
    sample_rate_hz: float = Field(0.0, ge=0)
    clip_level: float = Field(0.0, ge=0)


class StructureRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    structure_id: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    name: str = ""
    kind: Literal["bridge", "dam", "mine", "building", "tunnel", "other"] = "other"
    longitude_deg: float = Field(0.0, ge=-180, le=180)
    latitude_deg: float = Field(0.0, ge=-90, le=90)
    elevation_m: float = 0.0
    tenant: str = ""
    network_code: str = ""
    station_code: str = ""
    description: str = ""
    lowest_mode_hz: float = Field(0.0, ge=0, le=100)  # the slowest mode when known; 0: found in each record


class StructureLayout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    structure: StructureRow
    channels: list[ChannelRow]


def _messages(exc: ValidationError, where: str) -> list[str]:
    return [f"{where}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]


def parse_csv(text: str, name: str = "<csv>") -> list[StructureLayout]:
    reader = csv.DictReader(io.StringIO(text))
    unknown = [c for c in reader.fieldnames or [] if c not in STRUCTURE_FIELDS + CHANNEL_FIELDS]
    if unknown:
        raise LayoutError([f"{name}:1: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(STRUCTURE_FIELDS + CHANNEL_FIELDS)}"])
    errors: list[str] = []
    out: dict[str, StructureLayout] = {}
    for line, row in enumerate(reader, start=2):
        row = {k: v.strip() for k, v in row.items() if k is not None and v is not None and v.strip() != ""}
        where = f"{name}:{line}"
        try:
            st = StructureRow(**{k: v for k, v in row.items() if k in STRUCTURE_FIELDS})
            ch = ChannelRow(**{k: v for k, v in row.items() if k in CHANNEL_FIELDS})
        except ValidationError as exc:
            errors += _messages(exc, where)
            continue
        prev = out.get(st.structure_id)
        if prev is None:
            out[st.structure_id] = StructureLayout(structure=st, channels=[ch])
            continue
        for f in STRUCTURE_FIELDS:
            if f in row and getattr(st, f) != getattr(prev.structure, f):
                errors.append(f"{where}: {f}: {getattr(st, f)!r} differs from {getattr(prev.structure, f)!r} given earlier for {st.structure_id!r}")
        if any(c.channel_id == ch.channel_id for c in prev.channels):
            errors.append(f"{where}: channel_id: {ch.channel_id!r} appears twice for {st.structure_id!r}")
        prev.channels.append(ch)
    if errors:
        raise LayoutError(errors)
    return list(out.values())


def parse_json(text: str, name: str = "<json>") -> list[StructureLayout]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LayoutError([f"{name}:{exc.lineno}: {exc.msg}"]) from None
    if not isinstance(doc, dict) or set(doc) != {"structures"} or not isinstance(doc["structures"], list):
        raise LayoutError([f'{name}: expected {{"structures": [...]}}'])
    errors: list[str] = []
    out = []
    for i, s in enumerate(doc["structures"]):
        if not isinstance(s, dict):
            errors.append(f"{name}: structures[{i}]: expected an object")
            continue
        chans = s.get("channels", [])
        try:
            out.append(StructureLayout(structure=StructureRow(**{k: v for k, v in s.items() if k != "channels"}), channels=[ChannelRow(**c) for c in chans]))
        except (ValidationError, TypeError) as exc:
            errors += _messages(exc, f"{name}: structures[{i}]") if isinstance(exc, ValidationError) else [f"{name}: structures[{i}]: {exc}"]
    if errors:
        raise LayoutError(errors)
    return out


def load(path: Path) -> list[StructureLayout]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        return parse_json(text, str(path))
    return parse_csv(text, str(path))


def to_requests(layout: StructureLayout) -> tuple[registry_pb2.PutStructureRequest, registry_pb2.PutChannelsRequest]:
    s = layout.structure
    structure = registry_pb2.Structure(
        structure_id=s.structure_id, name=s.name, kind=registry_pb2.StructureKind.Value(f"STRUCTURE_KIND_{s.kind.upper()}"),
        location=common_pb2.GeoPoint(longitude_deg=s.longitude_deg, latitude_deg=s.latitude_deg, elevation_m=s.elevation_m),
        tenant=s.tenant, network_code=s.network_code, station_code=s.station_code, description=s.description,
        lowest_mode_hz=s.lowest_mode_hz,
    )
    chans = []
    for c in layout.channels:
        d = c.model_dump()
        d["units"] = registry_pb2.ChannelUnits.Value(f"CHANNEL_UNITS_{c.units.upper()}")
        chans.append(registry_pb2.Channel(**d))
    return registry_pb2.PutStructureRequest(structure=structure), registry_pb2.PutChannelsRequest(structure_id=s.structure_id, channels=chans)


def export_rows(structure: registry_pb2.Structure, channels: list[registry_pb2.Channel]) -> list[dict[str, Any]]:
    """CSV rows (one per channel) that ``parse_csv`` reads back to the same layout."""
    base = {
        "structure_id": structure.structure_id, "name": structure.name,
        "kind": registry_pb2.StructureKind.Name(structure.kind).removeprefix("STRUCTURE_KIND_").lower(),
        "longitude_deg": structure.location.longitude_deg, "latitude_deg": structure.location.latitude_deg,
        "elevation_m": structure.location.elevation_m, "tenant": structure.tenant, "network_code": structure.network_code,
        "station_code": structure.station_code, "description": structure.description,
        "lowest_mode_hz": structure.lowest_mode_hz,
    }
    rows = []
    for c in channels:
        row = dict(base)
        for f in CHANNEL_FIELDS:
            row[f] = getattr(c, f)
        row["units"] = registry_pb2.ChannelUnits.Name(c.units).removeprefix("CHANNEL_UNITS_").lower()
        rows.append(row)
    return rows


def write_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(STRUCTURE_FIELDS + CHANNEL_FIELDS), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()
