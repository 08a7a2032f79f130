from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Encoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENCODING_UNSPECIFIED: _ClassVar[Encoding]
    ENCODING_FLOAT32_LE: _ClassVar[Encoding]
    ENCODING_INT32_LE: _ClassVar[Encoding]

class IngestStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INGEST_STATUS_UNSPECIFIED: _ClassVar[IngestStatus]
    INGEST_STATUS_ACCEPTED: _ClassVar[IngestStatus]
    INGEST_STATUS_REJECTED: _ClassVar[IngestStatus]
ENCODING_UNSPECIFIED: Encoding
ENCODING_FLOAT32_LE: Encoding
ENCODING_INT32_LE: Encoding
INGEST_STATUS_UNSPECIFIED: IngestStatus
INGEST_STATUS_ACCEPTED: IngestStatus
INGEST_STATUS_REJECTED: IngestStatus

class SampleBlock(_message.Message):
    __slots__ = ("structure_id", "sequence", "start_time_ns", "sample_rate_hz", "channel_ids", "encoding", "n_samples", "data", "stream_id", "timing_quality")
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    N_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    TIMING_QUALITY_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    sequence: int
    start_time_ns: int
    sample_rate_hz: float
    channel_ids: _containers.RepeatedScalarFieldContainer[str]
    encoding: Encoding
    n_samples: int
    data: bytes
    stream_id: str
    timing_quality: int
    def __init__(self, structure_id: _Optional[str] = ..., sequence: _Optional[int] = ..., start_time_ns: _Optional[int] = ..., sample_rate_hz: _Optional[float] = ..., channel_ids: _Optional[_Iterable[str]] = ..., encoding: _Optional[_Union[Encoding, str]] = ..., n_samples: _Optional[int] = ..., data: _Optional[bytes] = ..., stream_id: _Optional[str] = ..., timing_quality: _Optional[int] = ...) -> None: ...

class IngestAck(_message.Message):
    __slots__ = ("sequence", "status", "reason", "field", "structure_id", "stream_id", "retry_after_ms")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    status: IngestStatus
    reason: str
    field: str
    structure_id: str
    stream_id: str
    retry_after_ms: int
    def __init__(self, sequence: _Optional[int] = ..., status: _Optional[_Union[IngestStatus, str]] = ..., reason: _Optional[str] = ..., field: _Optional[str] = ..., structure_id: _Optional[str] = ..., stream_id: _Optional[str] = ..., retry_after_ms: _Optional[int] = ...) -> None: ...

class GetResumePointRequest(_message.Message):
    __slots__ = ("structure_id", "stream_id")
    STRUCTURE_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    structure_id: str
    stream_id: str
    def __init__(self, structure_id: _Optional[str] = ..., stream_id: _Optional[str] = ...) -> None: ...

class GetResumePointResponse(_message.Message):
    __slots__ = ("last_durable_sequence", "last_end_time_ns")
    LAST_DURABLE_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    LAST_END_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    last_durable_sequence: int
    last_end_time_ns: int
    def __init__(self, last_durable_sequence: _Optional[int] = ..., last_end_time_ns: _Optional[int] = ...) -> None: ...
