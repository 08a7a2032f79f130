import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AcknowledgeRequest(_message.Message):
    __slots__ = ("drill_id", "action_id", "status", "note", "activation_id")
    DRILL_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    drill_id: str
    action_id: str
    status: str
    note: str
    activation_id: str
    def __init__(self, drill_id: _Optional[str] = ..., action_id: _Optional[str] = ..., status: _Optional[str] = ..., note: _Optional[str] = ..., activation_id: _Optional[str] = ...) -> None: ...

class StartDrillRequest(_message.Message):
    __slots__ = ("scenario", "blind", "start_in_s")
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    BLIND_FIELD_NUMBER: _ClassVar[int]
    START_IN_S_FIELD_NUMBER: _ClassVar[int]
    scenario: str
    blind: bool
    start_in_s: float
    def __init__(self, scenario: _Optional[str] = ..., blind: _Optional[bool] = ..., start_in_s: _Optional[float] = ...) -> None: ...

class DrillParticipant(_message.Message):
    __slots__ = ("role", "tenant", "name", "token")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    role: str
    tenant: str
    name: str
    token: str
    def __init__(self, role: _Optional[str] = ..., tenant: _Optional[str] = ..., name: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...

class Drill(_message.Message):
    __slots__ = ("drill_id", "scenario_id", "name", "blind", "status", "drill_server", "participants", "created", "injection_time", "report_json")
    DRILL_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    BLIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DRILL_SERVER_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    INJECTION_TIME_FIELD_NUMBER: _ClassVar[int]
    REPORT_JSON_FIELD_NUMBER: _ClassVar[int]
    drill_id: str
    scenario_id: str
    name: str
    blind: bool
    status: str
    drill_server: str
    participants: _containers.RepeatedCompositeFieldContainer[DrillParticipant]
    created: _timestamp_pb2.Timestamp
    injection_time: _timestamp_pb2.Timestamp
    report_json: str
    def __init__(self, drill_id: _Optional[str] = ..., scenario_id: _Optional[str] = ..., name: _Optional[str] = ..., blind: _Optional[bool] = ..., status: _Optional[str] = ..., drill_server: _Optional[str] = ..., participants: _Optional[_Iterable[_Union[DrillParticipant, _Mapping]]] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., injection_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., report_json: _Optional[str] = ...) -> None: ...

class GetDrillRequest(_message.Message):
    __slots__ = ("drill_id",)
    DRILL_ID_FIELD_NUMBER: _ClassVar[int]
    drill_id: str
    def __init__(self, drill_id: _Optional[str] = ...) -> None: ...

class GetDrillScenarioRequest(_message.Message):
    __slots__ = ("drill_id",)
    DRILL_ID_FIELD_NUMBER: _ClassVar[int]
    drill_id: str
    def __init__(self, drill_id: _Optional[str] = ...) -> None: ...

class GetDrillScenarioResponse(_message.Message):
    __slots__ = ("scenario_yaml",)
    SCENARIO_YAML_FIELD_NUMBER: _ClassVar[int]
    scenario_yaml: str
    def __init__(self, scenario_yaml: _Optional[str] = ...) -> None: ...

class EndDrillRequest(_message.Message):
    __slots__ = ("drill_id",)
    DRILL_ID_FIELD_NUMBER: _ClassVar[int]
    drill_id: str
    def __init__(self, drill_id: _Optional[str] = ...) -> None: ...
