import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImportCatalogRequest(_message.Message):
    __slots__ = ("mine_id", "catalog_csv")
    MINE_ID_FIELD_NUMBER: _ClassVar[int]
    CATALOG_CSV_FIELD_NUMBER: _ClassVar[int]
    mine_id: str
    catalog_csv: str
    def __init__(self, mine_id: _Optional[str] = ..., catalog_csv: _Optional[str] = ...) -> None: ...

class GradeChange(_message.Message):
    __slots__ = ("time", "event_id", "previous", "grade", "reasons", "rule_table")
    TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    RULE_TABLE_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    event_id: str
    previous: str
    grade: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    rule_table: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_id: _Optional[str] = ..., previous: _Optional[str] = ..., grade: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., rule_table: _Optional[str] = ...) -> None: ...

class ImportCatalogResponse(_message.Message):
    __slots__ = ("added", "already_stored", "changes")
    ADDED_FIELD_NUMBER: _ClassVar[int]
    ALREADY_STORED_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    added: int
    already_stored: int
    changes: _containers.RepeatedCompositeFieldContainer[GradeChange]
    def __init__(self, added: _Optional[int] = ..., already_stored: _Optional[int] = ..., changes: _Optional[_Iterable[_Union[GradeChange, _Mapping]]] = ...) -> None: ...

class GetMineStatusRequest(_message.Message):
    __slots__ = ("mine_id", "time", "changes", "volume")
    MINE_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    mine_id: str
    time: _timestamp_pb2.Timestamp
    changes: int
    volume: Volume
    def __init__(self, mine_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., changes: _Optional[int] = ..., volume: _Optional[_Union[Volume, _Mapping]] = ...) -> None: ...

class Volume(_message.Message):
    __slots__ = ("x_min_m", "x_max_m", "y_min_m", "y_max_m", "z_min_m", "z_max_m")
    X_MIN_M_FIELD_NUMBER: _ClassVar[int]
    X_MAX_M_FIELD_NUMBER: _ClassVar[int]
    Y_MIN_M_FIELD_NUMBER: _ClassVar[int]
    Y_MAX_M_FIELD_NUMBER: _ClassVar[int]
    Z_MIN_M_FIELD_NUMBER: _ClassVar[int]
    Z_MAX_M_FIELD_NUMBER: _ClassVar[int]
    x_min_m: float
    x_max_m: float
    y_min_m: float
    y_max_m: float
    z_min_m: float
    z_max_m: float
    def __init__(self, x_min_m: _Optional[float] = ..., x_max_m: _Optional[float] = ..., y_min_m: _Optional[float] = ..., y_max_m: _Optional[float] = ..., z_min_m: _Optional[float] = ..., z_max_m: _Optional[float] = ...) -> None: ...

class MineStatus(_message.Message):
    __slots__ = ("mine_id", "time", "grade", "reasons", "rule_table", "events", "indicators_json", "changes")
    MINE_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    RULE_TABLE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    INDICATORS_JSON_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    mine_id: str
    time: _timestamp_pb2.Timestamp
    grade: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    rule_table: str
    events: int
    indicators_json: str
    changes: _containers.RepeatedCompositeFieldContainer[GradeChange]
    def __init__(self, mine_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., grade: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., rule_table: _Optional[str] = ..., events: _Optional[int] = ..., indicators_json: _Optional[str] = ..., changes: _Optional[_Iterable[_Union[GradeChange, _Mapping]]] = ...) -> None: ...

class ExportCatalogRequest(_message.Message):
    __slots__ = ("mine_id", "start_time", "end_time")
    MINE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    mine_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, mine_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExportCatalogResponse(_message.Message):
    __slots__ = ("catalog_csv", "events")
    CATALOG_CSV_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    catalog_csv: str
    events: int
    def __init__(self, catalog_csv: _Optional[str] = ..., events: _Optional[int] = ...) -> None: ...

class ImportBlastingScheduleRequest(_message.Message):
    __slots__ = ("mine_id", "schedule_csv")
    MINE_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_CSV_FIELD_NUMBER: _ClassVar[int]
    mine_id: str
    schedule_csv: str
    def __init__(self, mine_id: _Optional[str] = ..., schedule_csv: _Optional[str] = ...) -> None: ...

class ImportBlastingScheduleResponse(_message.Message):
    __slots__ = ("added",)
    ADDED_FIELD_NUMBER: _ClassVar[int]
    added: int
    def __init__(self, added: _Optional[int] = ...) -> None: ...

class ListMineEventsRequest(_message.Message):
    __slots__ = ("mine_id", "start_time", "end_time", "limit")
    MINE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    mine_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    limit: int
    def __init__(self, mine_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., limit: _Optional[int] = ...) -> None: ...

class MineEvent(_message.Message):
    __slots__ = ("event_id", "time", "x_m", "y_m", "z_m", "magnitude", "type", "energy_j", "moment_nm", "origin", "details_json")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    X_M_FIELD_NUMBER: _ClassVar[int]
    Y_M_FIELD_NUMBER: _ClassVar[int]
    Z_M_FIELD_NUMBER: _ClassVar[int]
    MAGNITUDE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ENERGY_J_FIELD_NUMBER: _ClassVar[int]
    MOMENT_NM_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    time: _timestamp_pb2.Timestamp
    x_m: float
    y_m: float
    z_m: float
    magnitude: float
    type: str
    energy_j: float
    moment_nm: float
    origin: str
    details_json: str
    def __init__(self, event_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., x_m: _Optional[float] = ..., y_m: _Optional[float] = ..., z_m: _Optional[float] = ..., magnitude: _Optional[float] = ..., type: _Optional[str] = ..., energy_j: _Optional[float] = ..., moment_nm: _Optional[float] = ..., origin: _Optional[str] = ..., details_json: _Optional[str] = ...) -> None: ...

class ListMineEventsResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[MineEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[MineEvent, _Mapping]]] = ...) -> None: ...
