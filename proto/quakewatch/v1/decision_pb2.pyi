import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EstimateLossRequest(_message.Message):
    __slots__ = ("scenario", "include_assets", "observed_start_time", "observed_end_time")
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_ASSETS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_START_TIME_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_END_TIME_FIELD_NUMBER: _ClassVar[int]
    scenario: str
    include_assets: bool
    observed_start_time: _timestamp_pb2.Timestamp
    observed_end_time: _timestamp_pb2.Timestamp
    def __init__(self, scenario: _Optional[str] = ..., include_assets: _Optional[bool] = ..., observed_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., observed_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetLossEstimateRequest(_message.Message):
    __slots__ = ("estimate_id", "include_assets")
    ESTIMATE_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_ASSETS_FIELD_NUMBER: _ClassVar[int]
    estimate_id: str
    include_assets: bool
    def __init__(self, estimate_id: _Optional[str] = ..., include_assets: _Optional[bool] = ...) -> None: ...

class LossTotal(_message.Message):
    __slots__ = ("name", "mean", "std", "p5", "p50", "p95")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    STD_FIELD_NUMBER: _ClassVar[int]
    P5_FIELD_NUMBER: _ClassVar[int]
    P50_FIELD_NUMBER: _ClassVar[int]
    P95_FIELD_NUMBER: _ClassVar[int]
    name: str
    mean: float
    std: float
    p5: float
    p50: float
    p95: float
    def __init__(self, name: _Optional[str] = ..., mean: _Optional[float] = ..., std: _Optional[float] = ..., p5: _Optional[float] = ..., p50: _Optional[float] = ..., p95: _Optional[float] = ...) -> None: ...

class LossEstimate(_message.Message):
    __slots__ = ("estimate_id", "name", "created", "response_level", "pager_alert", "fatalities", "economic_loss", "displaced", "n_assets", "realisations", "observations", "totals", "document_json")
    ESTIMATE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    PAGER_ALERT_FIELD_NUMBER: _ClassVar[int]
    FATALITIES_FIELD_NUMBER: _ClassVar[int]
    ECONOMIC_LOSS_FIELD_NUMBER: _ClassVar[int]
    DISPLACED_FIELD_NUMBER: _ClassVar[int]
    N_ASSETS_FIELD_NUMBER: _ClassVar[int]
    REALISATIONS_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    estimate_id: str
    name: str
    created: _timestamp_pb2.Timestamp
    response_level: str
    pager_alert: str
    fatalities: float
    economic_loss: float
    displaced: float
    n_assets: int
    realisations: int
    observations: int
    totals: _containers.RepeatedCompositeFieldContainer[LossTotal]
    document_json: str
    def __init__(self, estimate_id: _Optional[str] = ..., name: _Optional[str] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., response_level: _Optional[str] = ..., pager_alert: _Optional[str] = ..., fatalities: _Optional[float] = ..., economic_loss: _Optional[float] = ..., displaced: _Optional[float] = ..., n_assets: _Optional[int] = ..., realisations: _Optional[int] = ..., observations: _Optional[int] = ..., totals: _Optional[_Iterable[_Union[LossTotal, _Mapping]]] = ..., document_json: _Optional[str] = ...) -> None: ...
