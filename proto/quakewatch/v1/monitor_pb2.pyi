import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from quakewatch.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChannelStatus(_message.Message):
    __slots__ = ("channel_id", "seed_id", "state", "reasons", "samples", "last_sample_time", "gaps", "gap_total_s", "overlaps", "clipped_samples", "flatline_s", "spikes", "latency_s", "max_latency_s", "clock_drift_ppm", "rms", "mean", "min", "max", "timing_quality")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    LAST_SAMPLE_TIME_FIELD_NUMBER: _ClassVar[int]
    GAPS_FIELD_NUMBER: _ClassVar[int]
    GAP_TOTAL_S_FIELD_NUMBER: _ClassVar[int]
    OVERLAPS_FIELD_NUMBER: _ClassVar[int]
    CLIPPED_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    FLATLINE_S_FIELD_NUMBER: _ClassVar[int]
    SPIKES_FIELD_NUMBER: _ClassVar[int]
    LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    MAX_LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    CLOCK_DRIFT_PPM_FIELD_NUMBER: _ClassVar[int]
    RMS_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    TIMING_QUALITY_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    seed_id: str
    state: _common_pb2.QualityState
    reasons: _containers.RepeatedScalarFieldContainer[str]
    samples: int
    last_sample_time: _timestamp_pb2.Timestamp
    gaps: int
    gap_total_s: float
    overlaps: int
    clipped_samples: int
    flatline_s: float
    spikes: int
    latency_s: float
    max_latency_s: float
    clock_drift_ppm: float
    rms: float
    mean: float
    min: float
    max: float
    timing_quality: int
    def __init__(self, channel_id: _Optional[str] = ..., seed_id: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.QualityState, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., samples: _Optional[int] = ..., last_sample_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., gaps: _Optional[int] = ..., gap_total_s: _Optional[float] = ..., overlaps: _Optional[int] = ..., clipped_samples: _Optional[int] = ..., flatline_s: _Optional[float] = ..., spikes: _Optional[int] = ..., latency_s: _Optional[float] = ..., max_latency_s: _Optional[float] = ..., clock_drift_ppm: _Optional[float] = ..., rms: _Optional[float] = ..., mean: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., timing_quality: _Optional[int] = ...) -> None: ...

class StructureStatus(_message.Message):
    __slots__ = ("structure_id", "state", "channels", "blocks_accepted", "blocks_rejected", "samples_accepted", "last_block_time", "last_rejection")
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_REJECTED_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    LAST_BLOCK_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_REJECTION_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    state: _common_pb2.QualityState
    channels: _containers.RepeatedCompositeFieldContainer[ChannelStatus]
    blocks_accepted: int
    blocks_rejected: int
    samples_accepted: int
    last_block_time: _timestamp_pb2.Timestamp
    last_rejection: str
    def __init__(self, structure_id: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.QualityState, str]] = ..., channels: _Optional[_Iterable[_Union[ChannelStatus, _Mapping]]] = ..., blocks_accepted: _Optional[int] = ..., blocks_rejected: _Optional[int] = ..., samples_accepted: _Optional[int] = ..., last_block_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_rejection: _Optional[str] = ...) -> None: ...

class GetStructureStatusRequest(_message.Message):
    __slots__ = ("structure_id",)
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    def __init__(self, structure_id: _Optional[str] = ...) -> None: ...

class GetStructureStatusResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: StructureStatus
    def __init__(self, status: _Optional[_Union[StructureStatus, _Mapping]] = ...) -> None: ...

class ListStructureStatusesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListStructureStatusesResponse(_message.Message):
    __slots__ = ("statuses",)
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedCompositeFieldContainer[StructureStatus]
    def __init__(self, statuses: _Optional[_Iterable[_Union[StructureStatus, _Mapping]]] = ...) -> None: ...
