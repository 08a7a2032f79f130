import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HealthStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEALTH_STATUS_UNSPECIFIED: _ClassVar[HealthStatus]
    HEALTH_STATUS_GREEN: _ClassVar[HealthStatus]
    HEALTH_STATUS_YELLOW: _ClassVar[HealthStatus]
    HEALTH_STATUS_RED: _ClassVar[HealthStatus]
    HEALTH_STATUS_UNKNOWN: _ClassVar[HealthStatus]

class AssessmentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSESSMENT_KIND_UNSPECIFIED: _ClassVar[AssessmentKind]
    ASSESSMENT_KIND_PERIODIC: _ClassVar[AssessmentKind]
    ASSESSMENT_KIND_POST_EVENT: _ClassVar[AssessmentKind]
HEALTH_STATUS_UNSPECIFIED: HealthStatus
HEALTH_STATUS_GREEN: HealthStatus
HEALTH_STATUS_YELLOW: HealthStatus
HEALTH_STATUS_RED: HealthStatus
HEALTH_STATUS_UNKNOWN: HealthStatus
ASSESSMENT_KIND_UNSPECIFIED: AssessmentKind
ASSESSMENT_KIND_PERIODIC: AssessmentKind
ASSESSMENT_KIND_POST_EVENT: AssessmentKind

class Mode(_message.Message):
    __slots__ = ("mode_id", "frequency_hz", "damping_ratio", "std_frequency_hz", "std_damping_ratio", "mode_shape", "mpc", "mac_to_baseline", "n_poles")
    MODE_ID_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_HZ_FIELD_NUMBER: _ClassVar[int]
    DAMPING_RATIO_FIELD_NUMBER: _ClassVar[int]
    STD_FREQUENCY_HZ_FIELD_NUMBER: _ClassVar[int]
    STD_DAMPING_RATIO_FIELD_NUMBER: _ClassVar[int]
    MODE_SHAPE_FIELD_NUMBER: _ClassVar[int]
    MPC_FIELD_NUMBER: _ClassVar[int]
    MAC_TO_BASELINE_FIELD_NUMBER: _ClassVar[int]
    N_POLES_FIELD_NUMBER: _ClassVar[int]
    mode_id: str
    frequency_hz: float
    damping_ratio: float
    std_frequency_hz: float
    std_damping_ratio: float
    mode_shape: _containers.RepeatedScalarFieldContainer[float]
    mpc: float
    mac_to_baseline: float
    n_poles: int
    def __init__(self, mode_id: _Optional[str] = ..., frequency_hz: _Optional[float] = ..., damping_ratio: _Optional[float] = ..., std_frequency_hz: _Optional[float] = ..., std_damping_ratio: _Optional[float] = ..., mode_shape: _Optional[_Iterable[float]] = ..., mpc: _Optional[float] = ..., mac_to_baseline: _Optional[float] = ..., n_poles: _Optional[int] = ...) -> None: ...

class ModalResult(_message.Message):
    __slots__ = ("result_id", "structure_id", "window_start_ns", "window_end_ns", "sample_rate_hz", "channel_ids", "modes", "harmonics_hz", "dead_channel_ids", "covariates", "provenance_json", "create_time")
    class CovariatesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    RESULT_ID_FIELD_NUMBER: _ClassVar[int]
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_NS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_NS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    MODES_FIELD_NUMBER: _ClassVar[int]
    HARMONICS_HZ_FIELD_NUMBER: _ClassVar[int]
    DEAD_CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    COVARIATES_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_JSON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    result_id: str
    structure_id: str
    window_start_ns: int
    window_end_ns: int
    sample_rate_hz: float
    channel_ids: _containers.RepeatedScalarFieldContainer[str]
    modes: _containers.RepeatedCompositeFieldContainer[Mode]
    harmonics_hz: _containers.RepeatedScalarFieldContainer[float]
    dead_channel_ids: _containers.RepeatedScalarFieldContainer[str]
    covariates: _containers.ScalarMap[str, float]
    provenance_json: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, result_id: _Optional[str] = ..., structure_id: _Optional[str] = ..., window_start_ns: _Optional[int] = ..., window_end_ns: _Optional[int] = ..., sample_rate_hz: _Optional[float] = ..., channel_ids: _Optional[_Iterable[str]] = ..., modes: _Optional[_Iterable[_Union[Mode, _Mapping]]] = ..., harmonics_hz: _Optional[_Iterable[float]] = ..., dead_channel_ids: _Optional[_Iterable[str]] = ..., covariates: _Optional[_Mapping[str, float]] = ..., provenance_json: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Assessment(_message.Message):
    __slots__ = ("assessment_id", "structure_id", "kind", "status", "reasons", "time_ns", "novelty_index", "novelty_threshold", "chart_statistic", "chart_limit", "alarm", "event_id", "max_drift_ratio", "frequency_shift", "result_id", "provenance_json", "create_time")
    ASSESSMENT_ID_FIELD_NUMBER: _ClassVar[int]
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    NOVELTY_INDEX_FIELD_NUMBER: _ClassVar[int]
    NOVELTY_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    CHART_STATISTIC_FIELD_NUMBER: _ClassVar[int]
    CHART_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_DRIFT_RATIO_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_SHIFT_FIELD_NUMBER: _ClassVar[int]
    RESULT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_JSON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    assessment_id: str
    structure_id: str
    kind: AssessmentKind
    status: HealthStatus
    reasons: _containers.RepeatedScalarFieldContainer[str]
    time_ns: int
    novelty_index: float
    novelty_threshold: float
    chart_statistic: float
    chart_limit: float
    alarm: bool
    event_id: str
    max_drift_ratio: float
    frequency_shift: float
    result_id: str
    provenance_json: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, assessment_id: _Optional[str] = ..., structure_id: _Optional[str] = ..., kind: _Optional[_Union[AssessmentKind, str]] = ..., status: _Optional[_Union[HealthStatus, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., time_ns: _Optional[int] = ..., novelty_index: _Optional[float] = ..., novelty_threshold: _Optional[float] = ..., chart_statistic: _Optional[float] = ..., chart_limit: _Optional[float] = ..., alarm: _Optional[bool] = ..., event_id: _Optional[str] = ..., max_drift_ratio: _Optional[float] = ..., frequency_shift: _Optional[float] = ..., result_id: _Optional[str] = ..., provenance_json: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BaselineState(_message.Message):
    __slots__ = ("windows_collected", "windows_required", "trained", "modes", "normalisation")
    WINDOWS_COLLECTED_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    TRAINED_FIELD_NUMBER: _ClassVar[int]
    MODES_FIELD_NUMBER: _ClassVar[int]
    NORMALISATION_FIELD_NUMBER: _ClassVar[int]
    windows_collected: int
    windows_required: int
    trained: bool
    modes: _containers.RepeatedCompositeFieldContainer[Mode]
    normalisation: str
    def __init__(self, windows_collected: _Optional[int] = ..., windows_required: _Optional[int] = ..., trained: _Optional[bool] = ..., modes: _Optional[_Iterable[_Union[Mode, _Mapping]]] = ..., normalisation: _Optional[str] = ...) -> None: ...

class GetStructureHealthRequest(_message.Message):
    __slots__ = ("structure_id",)
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    def __init__(self, structure_id: _Optional[str] = ...) -> None: ...

class GetStructureHealthResponse(_message.Message):
    __slots__ = ("structure_id", "status", "reasons", "latest_assessment", "latest_modal_result", "baseline", "latest_post_event")
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    LATEST_ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    LATEST_MODAL_RESULT_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    LATEST_POST_EVENT_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    status: HealthStatus
    reasons: _containers.RepeatedScalarFieldContainer[str]
    latest_assessment: Assessment
    latest_modal_result: ModalResult
    baseline: BaselineState
    latest_post_event: Assessment
    def __init__(self, structure_id: _Optional[str] = ..., status: _Optional[_Union[HealthStatus, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., latest_assessment: _Optional[_Union[Assessment, _Mapping]] = ..., latest_modal_result: _Optional[_Union[ModalResult, _Mapping]] = ..., baseline: _Optional[_Union[BaselineState, _Mapping]] = ..., latest_post_event: _Optional[_Union[Assessment, _Mapping]] = ...) -> None: ...

class ListModalResultsRequest(_message.Message):
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

class ListModalResultsResponse(_message.Message):
    __slots__ = ("results", "next_page_token")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ModalResult]
    next_page_token: str
    def __init__(self, results: _Optional[_Iterable[_Union[ModalResult, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListAssessmentsRequest(_message.Message):
    __slots__ = ("structure_id", "start_time", "end_time", "page_size", "page_token", "kind")
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    kind: AssessmentKind
    def __init__(self, structure_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., kind: _Optional[_Union[AssessmentKind, str]] = ...) -> None: ...

class ListAssessmentsResponse(_message.Message):
    __slots__ = ("assessments", "next_page_token")
    ASSESSMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    assessments: _containers.RepeatedCompositeFieldContainer[Assessment]
    next_page_token: str
    def __init__(self, assessments: _Optional[_Iterable[_Union[Assessment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
