from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class QualityState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUALITY_STATE_UNSPECIFIED: _ClassVar[QualityState]
    QUALITY_STATE_NO_DATA: _ClassVar[QualityState]
    QUALITY_STATE_OK: _ClassVar[QualityState]
    QUALITY_STATE_DEGRADED: _ClassVar[QualityState]
    QUALITY_STATE_FAILED: _ClassVar[QualityState]
QUALITY_STATE_UNSPECIFIED: QualityState
QUALITY_STATE_NO_DATA: QualityState
QUALITY_STATE_OK: QualityState
QUALITY_STATE_DEGRADED: QualityState
QUALITY_STATE_FAILED: QualityState

class GeoPoint(_message.Message):
    __slots__ = ("longitude_deg", "latitude_deg", "elevation_m")
    LONGITUDE_DEG_FIELD_NUMBER: _ClassVar[int]
    LATITUDE_DEG_FIELD_NUMBER: _ClassVar[int]
    ELEVATION_M_FIELD_NUMBER: _ClassVar[int]
    longitude_deg: float
    latitude_deg: float
    elevation_m: float
    def __init__(self, longitude_deg: _Optional[float] = ..., latitude_deg: _Optional[float] = ..., elevation_m: _Optional[float] = ...) -> None: ...
