"""ORM rows <-> protobuf messages."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from quakewatch.v1 import common_pb2, registry_pb2

from ..errors import InvalidInput
from ..storage.models import Channel, Structure


def ts(t: datetime | None) -> Timestamp:
    out = Timestamp()
    if t is not None:
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        out.FromDatetime(t)
    return out


def ts_ns(ns: int) -> Timestamp:
    out = Timestamp()
    if ns:
        out.FromNanoseconds(int(ns))
    return out


def ns_of(t: Timestamp) -> int:
    """Nanoseconds since the epoch of a Timestamp; 0 when it is unset."""
    return t.ToNanoseconds() if (t.seconds or t.nanos) else 0


def _enum_name(value: str, prefix: str) -> str:
    return f"{prefix}_{value.upper()}"


def kind_to_pb(kind: str) -> int:
    return int(registry_pb2.StructureKind.Value(_enum_name(kind, "STRUCTURE_KIND")))


def kind_from_pb(value: int, field: str = "structure.kind") -> str:
    if value == registry_pb2.STRUCTURE_KIND_UNSPECIFIED:
        return "other"
    try:
        return registry_pb2.StructureKind.Name(value).removeprefix("STRUCTURE_KIND_").lower()
    except ValueError:
        raise InvalidInput(f"{field}: {value} is not a StructureKind", field=field) from None


def units_to_pb(units: str) -> int:
    return int(registry_pb2.ChannelUnits.Value(_enum_name(units, "CHANNEL_UNITS")))


def units_from_pb(value: int, field: str = "channels.units") -> str:
    if value == registry_pb2.CHANNEL_UNITS_UNSPECIFIED:
        return "acceleration_mps2"
    try:
        return registry_pb2.ChannelUnits.Name(value).removeprefix("CHANNEL_UNITS_").lower()
    except ValueError:
        raise InvalidInput(f"{field}: {value} is not a ChannelUnits value", field=field) from None


def structure_to_pb(s: Structure) -> registry_pb2.Structure:
    return registry_pb2.Structure(
        structure_id=s.structure_id,
        name=s.name,
        kind=kind_to_pb(s.kind),  # type: ignore[arg-type]
        location=common_pb2.GeoPoint(longitude_deg=s.longitude_deg, latitude_deg=s.latitude_deg, elevation_m=s.elevation_m),
        tenant=s.tenant,
        network_code=s.network_code,
        station_code=s.station_code,
        description=s.description,
        create_time=ts(s.created_at),
        update_time=ts(s.updated_at),
        lowest_mode_hz=s.lowest_mode_hz,
    )


_CHANNEL_FIELDS = ("array_id", "seed_id", "azimuth_deg", "dip_deg", "orientation", "x_m", "y_m", "z_m", "floor", "height_m", "sensitivity", "sample_rate_hz", "clip_level")


def channel_to_pb(c: Channel) -> registry_pb2.Channel:
    msg = registry_pb2.Channel(channel_id=c.channel_id, structure_id=c.structure_id, units=units_to_pb(c.units))  # type: ignore[arg-type]
    for f in _CHANNEL_FIELDS:
        setattr(msg, f, getattr(c, f))
    return msg


def channel_from_pb(m: registry_pb2.Channel, structure_id: str) -> Channel:
    c = Channel(structure_id=structure_id, channel_id=m.channel_id, units=units_from_pb(m.units, f"channels[{m.channel_id}].units"))
    for f in _CHANNEL_FIELDS:
        setattr(c, f, getattr(m, f))
    if not m.sensitivity:
        c.sensitivity = 1.0
    return c
