import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_STATE_UNSPECIFIED: _ClassVar[EventState]
    EVENT_STATE_OPEN: _ClassVar[EventState]
    EVENT_STATE_CLOSED: _ClassVar[EventState]

class EventClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_CLASS_UNSPECIFIED: _ClassVar[EventClass]
    EVENT_CLASS_EARTHQUAKE: _ClassVar[EventClass]
    EVENT_CLASS_LOCAL_IMPACT: _ClassVar[EventClass]
    EVENT_CLASS_BLAST: _ClassVar[EventClass]
    EVENT_CLASS_UNKNOWN: _ClassVar[EventClass]

class EventChange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_CHANGE_UNSPECIFIED: _ClassVar[EventChange]
    EVENT_CHANGE_OPENED: _ClassVar[EventChange]
    EVENT_CHANGE_UPDATED: _ClassVar[EventChange]
    EVENT_CHANGE_CLOSED: _ClassVar[EventChange]
EVENT_STATE_UNSPECIFIED: EventState
EVENT_STATE_OPEN: EventState
EVENT_STATE_CLOSED: EventState
EVENT_CLASS_UNSPECIFIED: EventClass
EVENT_CLASS_EARTHQUAKE: EventClass
EVENT_CLASS_LOCAL_IMPACT: EventClass
EVENT_CLASS_BLAST: EventClass
EVENT_CLASS_UNKNOWN: EventClass
EVENT_CHANGE_UNSPECIFIED: EventChange
EVENT_CHANGE_OPENED: EventChange
EVENT_CHANGE_UPDATED: EventChange
EVENT_CHANGE_CLOSED: EventChange

class ChannelMotion(_message.Message):
    __slots__ = ("channel_id", "seed_id", "array_id", "orientation", "trigger_time_ns", "peak_sta_lta", "pga_mps2", "pgv_mps", "pgd_m", "arias_mps", "cav_mps", "d5_75_s", "d5_95_s", "psa_mps2")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_ID_FIELD_NUMBER: _ClassVar[int]
    ARRAY_ID_FIELD_NUMBER: _ClassVar[int]
    ORIENTATION_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    PEAK_STA_LTA_FIELD_NUMBER: _ClassVar[int]
    PGA_MPS2_FIELD_NUMBER: _ClassVar[int]
    PGV_MPS_FIELD_NUMBER: _ClassVar[int]
    PGD_M_FIELD_NUMBER: _ClassVar[int]
    ARIAS_MPS_FIELD_NUMBER: _ClassVar[int]
    CAV_MPS_FIELD_NUMBER: _ClassVar[int]
    D5_75_S_FIELD_NUMBER: _ClassVar[int]
    D5_95_S_FIELD_NUMBER: _ClassVar[int]
    PSA_MPS2_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    seed_id: str
    array_id: str
    orientation: str
    trigger_time_ns: int
    peak_sta_lta: float
    pga_mps2: float
    pgv_mps: float
    pgd_m: float
    arias_mps: float
    cav_mps: float
    d5_75_s: float
    d5_95_s: float
    psa_mps2: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, channel_id: _Optional[str] = ..., seed_id: _Optional[str] = ..., array_id: _Optional[str] = ..., orientation: _Optional[str] = ..., trigger_time_ns: _Optional[int] = ..., peak_sta_lta: _Optional[float] = ..., pga_mps2: _Optional[float] = ..., pgv_mps: _Optional[float] = ..., pgd_m: _Optional[float] = ..., arias_mps: _Optional[float] = ..., cav_mps: _Optional[float] = ..., d5_75_s: _Optional[float] = ..., d5_95_s: _Optional[float] = ..., psa_mps2: _Optional[_Iterable[float]] = ...) -> None: ...

class StationIntensity(_message.Message):
    __slots__ = ("station", "channel_ids", "intensity", "degree", "pga_mps2", "pgv_mps", "i_pga", "i_pgv", "mmi", "free_field")
    STATION_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    INTENSITY_FIELD_NUMBER: _ClassVar[int]
    DEGREE_FIELD_NUMBER: _ClassVar[int]
    PGA_MPS2_FIELD_NUMBER: _ClassVar[int]
    PGV_MPS_FIELD_NUMBER: _ClassVar[int]
    I_PGA_FIELD_NUMBER: _ClassVar[int]
    I_PGV_FIELD_NUMBER: _ClassVar[int]
    MMI_FIELD_NUMBER: _ClassVar[int]
    FREE_FIELD_FIELD_NUMBER: _ClassVar[int]
    station: str
    channel_ids: _containers.RepeatedScalarFieldContainer[str]
    intensity: float
    degree: str
    pga_mps2: float
    pgv_mps: float
    i_pga: float
    i_pgv: float
    mmi: float
    free_field: bool
    def __init__(self, station: _Optional[str] = ..., channel_ids: _Optional[_Iterable[str]] = ..., intensity: _Optional[float] = ..., degree: _Optional[str] = ..., pga_mps2: _Optional[float] = ..., pgv_mps: _Optional[float] = ..., i_pga: _Optional[float] = ..., i_pgv: _Optional[float] = ..., mmi: _Optional[float] = ..., free_field: _Optional[bool] = ...) -> None: ...

class ArrayResponse(_message.Message):
    __slots__ = ("array_id", "floor", "height_m", "peak_acceleration_mps2", "amplification")
    ARRAY_ID_FIELD_NUMBER: _ClassVar[int]
    FLOOR_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_M_FIELD_NUMBER: _ClassVar[int]
    PEAK_ACCELERATION_MPS2_FIELD_NUMBER: _ClassVar[int]
    AMPLIFICATION_FIELD_NUMBER: _ClassVar[int]
    array_id: str
    floor: int
    height_m: float
    peak_acceleration_mps2: float
    amplification: float
    def __init__(self, array_id: _Optional[str] = ..., floor: _Optional[int] = ..., height_m: _Optional[float] = ..., peak_acceleration_mps2: _Optional[float] = ..., amplification: _Optional[float] = ...) -> None: ...

class Provenance(_message.Message):
    __slots__ = ("algorithm", "code_version", "parameters_json", "input_start_ns", "input_end_ns")
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    CODE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    INPUT_START_NS_FIELD_NUMBER: _ClassVar[int]
    INPUT_END_NS_FIELD_NUMBER: _ClassVar[int]
    algorithm: str
    code_version: str
    parameters_json: str
    input_start_ns: int
    input_end_ns: int
    def __init__(self, algorithm: _Optional[str] = ..., code_version: _Optional[str] = ..., parameters_json: _Optional[str] = ..., input_start_ns: _Optional[int] = ..., input_end_ns: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("event_id", "structure_id", "state", "classification", "reasons", "trigger_time_ns", "end_time_ns", "duration_s", "triggered_channel_ids", "coincidence_sum", "channels", "stations", "arrays", "max_intensity", "max_degree", "max_pga_mps2", "periods_s", "provenance", "open_time", "close_time", "coincidence_time_ns")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    END_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    TRIGGERED_CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    COINCIDENCE_SUM_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    STATIONS_FIELD_NUMBER: _ClassVar[int]
    ARRAYS_FIELD_NUMBER: _ClassVar[int]
    MAX_INTENSITY_FIELD_NUMBER: _ClassVar[int]
    MAX_DEGREE_FIELD_NUMBER: _ClassVar[int]
    MAX_PGA_MPS2_FIELD_NUMBER: _ClassVar[int]
    PERIODS_S_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    OPEN_TIME_FIELD_NUMBER: _ClassVar[int]
    CLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    COINCIDENCE_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    structure_id: str
    state: EventState
    classification: EventClass
    reasons: _containers.RepeatedScalarFieldContainer[str]
    trigger_time_ns: int
    end_time_ns: int
    duration_s: float
    triggered_channel_ids: _containers.RepeatedScalarFieldContainer[str]
    coincidence_sum: float
    channels: _containers.RepeatedCompositeFieldContainer[ChannelMotion]
    stations: _containers.RepeatedCompositeFieldContainer[StationIntensity]
    arrays: _containers.RepeatedCompositeFieldContainer[ArrayResponse]
    max_intensity: float
    max_degree: str
    max_pga_mps2: float
    periods_s: _containers.RepeatedScalarFieldContainer[float]
    provenance: Provenance
    open_time: _timestamp_pb2.Timestamp
    close_time: _timestamp_pb2.Timestamp
    coincidence_time_ns: int
    def __init__(self, event_id: _Optional[str] = ..., structure_id: _Optional[str] = ..., state: _Optional[_Union[EventState, str]] = ..., classification: _Optional[_Union[EventClass, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., trigger_time_ns: _Optional[int] = ..., end_time_ns: _Optional[int] = ..., duration_s: _Optional[float] = ..., triggered_channel_ids: _Optional[_Iterable[str]] = ..., coincidence_sum: _Optional[float] = ..., channels: _Optional[_Iterable[_Union[ChannelMotion, _Mapping]]] = ..., stations: _Optional[_Iterable[_Union[StationIntensity, _Mapping]]] = ..., arrays: _Optional[_Iterable[_Union[ArrayResponse, _Mapping]]] = ..., max_intensity: _Optional[float] = ..., max_degree: _Optional[str] = ..., max_pga_mps2: _Optional[float] = ..., periods_s: _Optional[_Iterable[float]] = ..., provenance: _Optional[_Union[Provenance, _Mapping]] = ..., open_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., close_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., coincidence_time_ns: _Optional[int] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("structure_id",)
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    def __init__(self, structure_id: _Optional[str] = ...) -> None: ...

class WatchResponse(_message.Message):
    __slots__ = ("change", "event")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    change: EventChange
    event: Event
    def __init__(self, change: _Optional[_Union[EventChange, str]] = ..., event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ("structure_id", "start_time", "end_time", "page_size", "page_token")
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, structure_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetEventRequest(_message.Message):
    __slots__ = ("event_id",)
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    def __init__(self, event_id: _Optional[str] = ...) -> None: ...

class GetEventResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: Event
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...
