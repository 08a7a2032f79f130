import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from quakewatch.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StructureKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STRUCTURE_KIND_UNSPECIFIED: _ClassVar[StructureKind]
    STRUCTURE_KIND_BRIDGE: _ClassVar[StructureKind]
    STRUCTURE_KIND_DAM: _ClassVar[StructureKind]
    STRUCTURE_KIND_MINE: _ClassVar[StructureKind]
    STRUCTURE_KIND_BUILDING: _ClassVar[StructureKind]
    STRUCTURE_KIND_TUNNEL: _ClassVar[StructureKind]
    STRUCTURE_KIND_OTHER: _ClassVar[StructureKind]

class ChannelUnits(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNITS_UNSPECIFIED: _ClassVar[ChannelUnits]
    CHANNEL_UNITS_ACCELERATION_MPS2: _ClassVar[ChannelUnits]
    CHANNEL_UNITS_VELOCITY_MPS: _ClassVar[ChannelUnits]
    CHANNEL_UNITS_DISPLACEMENT_M: _ClassVar[ChannelUnits]
    CHANNEL_UNITS_STRAIN: _ClassVar[ChannelUnits]
    CHANNEL_UNITS_TEMPERATURE_C: _ClassVar[ChannelUnits]
    CHANNEL_UNITS_OTHER: _ClassVar[ChannelUnits]
STRUCTURE_KIND_UNSPECIFIED: StructureKind
STRUCTURE_KIND_BRIDGE: StructureKind
STRUCTURE_KIND_DAM: StructureKind
STRUCTURE_KIND_MINE: StructureKind
STRUCTURE_KIND_BUILDING: StructureKind
STRUCTURE_KIND_TUNNEL: StructureKind
STRUCTURE_KIND_OTHER: StructureKind
CHANNEL_UNITS_UNSPECIFIED: ChannelUnits
CHANNEL_UNITS_ACCELERATION_MPS2: ChannelUnits
CHANNEL_UNITS_VELOCITY_MPS: ChannelUnits
CHANNEL_UNITS_DISPLACEMENT_M: ChannelUnits
CHANNEL_UNITS_STRAIN: ChannelUnits
CHANNEL_UNITS_TEMPERATURE_C: ChannelUnits
CHANNEL_UNITS_OTHER: ChannelUnits

class Structure(_message.Message):
    __slots__ = ("structure_id", "name", "kind", "location", "tenant", "network_code", "station_code", "description", "create_time", "update_time", "lowest_mode_hz")
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    NETWORK_CODE_FIELD_NUMBER: _ClassVar[int]
    STATION_CODE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LOWEST_MODE_HZ_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    name: str
    kind: StructureKind
    location: _common_pb2.GeoPoint
    tenant: str
    network_code: str
    station_code: str
    description: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    lowest_mode_hz: float
    def __init__(self, structure_id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[StructureKind, str]] = ..., location: _Optional[_Union[_common_pb2.GeoPoint, _Mapping]] = ..., tenant: _Optional[str] = ..., network_code: _Optional[str] = ..., station_code: _Optional[str] = ..., description: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lowest_mode_hz: _Optional[float] = ...) -> None: ...

class Channel(_message.Message):
    __slots__ = ("channel_id", "structure_id", "array_id", "seed_id", "azimuth_deg", "dip_deg", "orientation", "x_m", "y_m", "z_m", "floor", "height_m", "units", "sensitivity", "sample_rate_hz", "clip_level")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    ARRAY_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_ID_FIELD_NUMBER: _ClassVar[int]
    AZIMUTH_DEG_FIELD_NUMBER: _ClassVar[int]
    DIP_DEG_FIELD_NUMBER: _ClassVar[int]
    ORIENTATION_FIELD_NUMBER: _ClassVar[int]
    X_M_FIELD_NUMBER: _ClassVar[int]
    Y_M_FIELD_NUMBER: _ClassVar[int]
    Z_M_FIELD_NUMBER: _ClassVar[int]
    FLOOR_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_M_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    CLIP_LEVEL_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    structure_id: str
    array_id: str
    seed_id: str
    azimuth_deg: float
    dip_deg: float
    orientation: str
    x_m: float
    y_m: float
    z_m: float
    floor: int
    height_m: float
    units: ChannelUnits
    sensitivity: float
    sample_rate_hz: float
    clip_level: float
    def __init__(self, channel_id: _Optional[str] = ..., structure_id: _Optional[str] = ..., array_id: _Optional[str] = ..., seed_id: _Optional[str] = ..., azimuth_deg: _Optional[float] = ..., dip_deg: _Optional[float] = ..., orientation: _Optional[str] = ..., x_m: _Optional[float] = ..., y_m: _Optional[float] = ..., z_m: _Optional[float] = ..., floor: _Optional[int] = ..., height_m: _Optional[float] = ..., units: _Optional[_Union[ChannelUnits, str]] = ..., sensitivity: _Optional[float] = ..., sample_rate_hz: _Optional[float] = ..., clip_level: _Optional[float] = ...) -> None: ...

class PutStructureRequest(_message.Message):
    __slots__ = ("structure",)
    STRUCTURE_FIELD_NUMBER: _ClassVar[int]
    structure: Structure
    def __init__(self, structure: _Optional[_Union[Structure, _Mapping]] = ...) -> None: ...

class PutStructureResponse(_message.Message):
    __slots__ = ("structure", "created")
    STRUCTURE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    structure: Structure
    created: bool
    def __init__(self, structure: _Optional[_Union[Structure, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetStructureRequest(_message.Message):
    __slots__ = ("structure_id",)
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    def __init__(self, structure_id: _Optional[str] = ...) -> None: ...

class GetStructureResponse(_message.Message):
    __slots__ = ("structure", "channels")
    STRUCTURE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    structure: Structure
    channels: _containers.RepeatedCompositeFieldContainer[Channel]
    def __init__(self, structure: _Optional[_Union[Structure, _Mapping]] = ..., channels: _Optional[_Iterable[_Union[Channel, _Mapping]]] = ...) -> None: ...

class ListStructuresRequest(_message.Message):
    __slots__ = ("kind", "tenant")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    kind: StructureKind
    tenant: str
    def __init__(self, kind: _Optional[_Union[StructureKind, str]] = ..., tenant: _Optional[str] = ...) -> None: ...

class ListStructuresResponse(_message.Message):
    __slots__ = ("structures",)
    STRUCTURES_FIELD_NUMBER: _ClassVar[int]
    structures: _containers.RepeatedCompositeFieldContainer[Structure]
    def __init__(self, structures: _Optional[_Iterable[_Union[Structure, _Mapping]]] = ...) -> None: ...

class DeleteStructureRequest(_message.Message):
    __slots__ = ("structure_id",)
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    def __init__(self, structure_id: _Optional[str] = ...) -> None: ...

class DeleteStructureResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PutChannelsRequest(_message.Message):
    __slots__ = ("structure_id", "channels")
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    channels: _containers.RepeatedCompositeFieldContainer[Channel]
    def __init__(self, structure_id: _Optional[str] = ..., channels: _Optional[_Iterable[_Union[Channel, _Mapping]]] = ...) -> None: ...

class PutChannelsResponse(_message.Message):
    __slots__ = ("channels",)
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedCompositeFieldContainer[Channel]
    def __init__(self, channels: _Optional[_Iterable[_Union[Channel, _Mapping]]] = ...) -> None: ...

class ListChannelsRequest(_message.Message):
    __slots__ = ("structure_id",)
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    def __init__(self, structure_id: _Optional[str] = ...) -> None: ...

class ListChannelsResponse(_message.Message):
    __slots__ = ("channels",)
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedCompositeFieldContainer[Channel]
    def __init__(self, channels: _Optional[_Iterable[_Union[Channel, _Mapping]]] = ...) -> None: ...
