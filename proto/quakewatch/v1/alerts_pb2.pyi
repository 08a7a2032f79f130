import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WatchAlertsRequest(_message.Message):
    __slots__ = ("structure_id", "kinds")
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    kinds: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, structure_id: _Optional[str] = ..., kinds: _Optional[_Iterable[str]] = ...) -> None: ...

class MineEventSummary(_message.Message):
    __slots__ = ("event_id", "origin_time", "x_m", "y_m", "z_m", "sigma_m", "magnitude", "magnitude_type", "energy_j", "type")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_TIME_FIELD_NUMBER: _ClassVar[int]
    X_M_FIELD_NUMBER: _ClassVar[int]
    Y_M_FIELD_NUMBER: _ClassVar[int]
    Z_M_FIELD_NUMBER: _ClassVar[int]
    SIGMA_M_FIELD_NUMBER: _ClassVar[int]
    MAGNITUDE_FIELD_NUMBER: _ClassVar[int]
    MAGNITUDE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ENERGY_J_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    origin_time: _timestamp_pb2.Timestamp
    x_m: float
    y_m: float
    z_m: float
    sigma_m: float
    magnitude: float
    magnitude_type: str
    energy_j: float
    type: str
    def __init__(self, event_id: _Optional[str] = ..., origin_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., x_m: _Optional[float] = ..., y_m: _Optional[float] = ..., z_m: _Optional[float] = ..., sigma_m: _Optional[float] = ..., magnitude: _Optional[float] = ..., magnitude_type: _Optional[str] = ..., energy_j: _Optional[float] = ..., type: _Optional[str] = ...) -> None: ...

class MineGradeAlert(_message.Message):
    __slots__ = ("previous", "grade", "rule_table", "event")
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    RULE_TABLE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    previous: str
    grade: str
    rule_table: str
    event: MineEventSummary
    def __init__(self, previous: _Optional[str] = ..., grade: _Optional[str] = ..., rule_table: _Optional[str] = ..., event: _Optional[_Union[MineEventSummary, _Mapping]] = ...) -> None: ...

class EewAlert(_message.Message):
    __slots__ = ("network_event_id", "update", "origin_time", "longitude_deg", "latitude_deg", "depth_km", "epicentre_std_km", "depth_fixed", "magnitude", "magnitude_type", "magnitude_std", "n_stations", "epicentral_km", "predicted_intensity", "intensity_std", "s_arrival_time", "warning_time_s", "intensity_model")
    NETWORK_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_TIME_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_DEG_FIELD_NUMBER: _ClassVar[int]
    LATITUDE_DEG_FIELD_NUMBER: _ClassVar[int]
    DEPTH_KM_FIELD_NUMBER: _ClassVar[int]
    EPICENTRE_STD_KM_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIXED_FIELD_NUMBER: _ClassVar[int]
    MAGNITUDE_FIELD_NUMBER: _ClassVar[int]
    MAGNITUDE_TYPE_FIELD_NUMBER: _ClassVar[int]
    MAGNITUDE_STD_FIELD_NUMBER: _ClassVar[int]
    N_STATIONS_FIELD_NUMBER: _ClassVar[int]
    EPICENTRAL_KM_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_INTENSITY_FIELD_NUMBER: _ClassVar[int]
    INTENSITY_STD_FIELD_NUMBER: _ClassVar[int]
    S_ARRIVAL_TIME_FIELD_NUMBER: _ClassVar[int]
    WARNING_TIME_S_FIELD_NUMBER: _ClassVar[int]
    INTENSITY_MODEL_FIELD_NUMBER: _ClassVar[int]
    network_event_id: str
    update: int
    origin_time: _timestamp_pb2.Timestamp
    longitude_deg: float
    latitude_deg: float
    depth_km: float
    epicentre_std_km: float
    depth_fixed: bool
    magnitude: float
    magnitude_type: str
    magnitude_std: float
    n_stations: int
    epicentral_km: float
    predicted_intensity: float
    intensity_std: float
    s_arrival_time: _timestamp_pb2.Timestamp
    warning_time_s: float
    intensity_model: str
    def __init__(self, network_event_id: _Optional[str] = ..., update: _Optional[int] = ..., origin_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., longitude_deg: _Optional[float] = ..., latitude_deg: _Optional[float] = ..., depth_km: _Optional[float] = ..., epicentre_std_km: _Optional[float] = ..., depth_fixed: _Optional[bool] = ..., magnitude: _Optional[float] = ..., magnitude_type: _Optional[str] = ..., magnitude_std: _Optional[float] = ..., n_stations: _Optional[int] = ..., epicentral_km: _Optional[float] = ..., predicted_intensity: _Optional[float] = ..., intensity_std: _Optional[float] = ..., s_arrival_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., warning_time_s: _Optional[float] = ..., intensity_model: _Optional[str] = ...) -> None: ...

class QuakeReport(_message.Message):
    __slots__ = ("network_event_id", "origin_time", "origin_time_std_s", "longitude_deg", "latitude_deg", "depth_km", "depth_std_km", "depth_fixed", "epicentre_std_km", "magnitude", "magnitude_type", "magnitude_std", "magnitude_stations", "n_stations", "n_phases", "rms_s", "gap_deg", "after_origin_s")
    NETWORK_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_TIME_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_TIME_STD_S_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_DEG_FIELD_NUMBER: _ClassVar[int]
    LATITUDE_DEG_FIELD_NUMBER: _ClassVar[int]
    DEPTH_KM_FIELD_NUMBER: _ClassVar[int]
    DEPTH_STD_KM_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIXED_FIELD_NUMBER: _ClassVar[int]
    EPICENTRE_STD_KM_FIELD_NUMBER: _ClassVar[int]
    MAGNITUDE_FIELD_NUMBER: _ClassVar[int]
    MAGNITUDE_TYPE_FIELD_NUMBER: _ClassVar[int]
    MAGNITUDE_STD_FIELD_NUMBER: _ClassVar[int]
    MAGNITUDE_STATIONS_FIELD_NUMBER: _ClassVar[int]
    N_STATIONS_FIELD_NUMBER: _ClassVar[int]
    N_PHASES_FIELD_NUMBER: _ClassVar[int]
    RMS_S_FIELD_NUMBER: _ClassVar[int]
    GAP_DEG_FIELD_NUMBER: _ClassVar[int]
    AFTER_ORIGIN_S_FIELD_NUMBER: _ClassVar[int]
    network_event_id: str
    origin_time: _timestamp_pb2.Timestamp
    origin_time_std_s: float
    longitude_deg: float
    latitude_deg: float
    depth_km: float
    depth_std_km: float
    depth_fixed: bool
    epicentre_std_km: float
    magnitude: float
    magnitude_type: str
    magnitude_std: float
    magnitude_stations: int
    n_stations: int
    n_phases: int
    rms_s: float
    gap_deg: float
    after_origin_s: float
    def __init__(self, network_event_id: _Optional[str] = ..., origin_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., origin_time_std_s: _Optional[float] = ..., longitude_deg: _Optional[float] = ..., latitude_deg: _Optional[float] = ..., depth_km: _Optional[float] = ..., depth_std_km: _Optional[float] = ..., depth_fixed: _Optional[bool] = ..., epicentre_std_km: _Optional[float] = ..., magnitude: _Optional[float] = ..., magnitude_type: _Optional[str] = ..., magnitude_std: _Optional[float] = ..., magnitude_stations: _Optional[int] = ..., n_stations: _Optional[int] = ..., n_phases: _Optional[int] = ..., rms_s: _Optional[float] = ..., gap_deg: _Optional[float] = ..., after_origin_s: _Optional[float] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("alert_id", "kind", "structure_id", "time", "event_id", "event_time", "severity", "headline", "reasons", "latency_s", "cap_xml", "exercise", "mine_grade", "eew", "report")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    HEADLINE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    CAP_XML_FIELD_NUMBER: _ClassVar[int]
    EXERCISE_FIELD_NUMBER: _ClassVar[int]
    MINE_GRADE_FIELD_NUMBER: _ClassVar[int]
    EEW_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    kind: str
    structure_id: str
    time: _timestamp_pb2.Timestamp
    event_id: str
    event_time: _timestamp_pb2.Timestamp
    severity: str
    headline: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    latency_s: float
    cap_xml: str
    exercise: bool
    mine_grade: MineGradeAlert
    eew: EewAlert
    report: QuakeReport
    def __init__(self, alert_id: _Optional[str] = ..., kind: _Optional[str] = ..., structure_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_id: _Optional[str] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., severity: _Optional[str] = ..., headline: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., latency_s: _Optional[float] = ..., cap_xml: _Optional[str] = ..., exercise: _Optional[bool] = ..., mine_grade: _Optional[_Union[MineGradeAlert, _Mapping]] = ..., eew: _Optional[_Union[EewAlert, _Mapping]] = ..., report: _Optional[_Union[QuakeReport, _Mapping]] = ...) -> None: ...
