"""Static validation of a SampleBlock: everything that can be checked without the
stream's history. Each failure names the field and the limit."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from quakewatch.v1 import ingest_pb2

from ..errors import InvalidInput
from ..settings import IngestLimits

NS = 1_000_000_000
ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_DTYPES = {
    ingest_pb2.ENCODING_FLOAT32_LE: np.dtype("<f4"),
    ingest_pb2.ENCODING_INT32_LE: np.dtype("<i4"),
}


@dataclass(frozen=True)
class DecodedBlock:
    structure_id: str
    stream_id: str
    sequence: int
    start_ns: int
    end_ns: int  # exclusive: start + n_samples / rate
    rate_hz: float
    channel_ids: tuple[str, ...]
    samples: np.ndarray  # (n_channels, n_samples), read-only view of the message bytes
    timing_quality: int


def check_id(value: str, field: str) -> None:
    if not ID_RE.match(value):
        raise InvalidInput(f"{field}: {value!r} must be 1..64 characters of [A-Za-z0-9_.-]", field=field)


def check_unique(channel_ids: tuple[str, ...]) -> None:
    if len(set(channel_ids)) != len(channel_ids):
        dup = next(c for c in channel_ids if channel_ids.count(c) > 1)
        raise InvalidInput(f"channel_ids: {dup!r} appears more than once", field="channel_ids")


def decode(block: ingest_pb2.SampleBlock, limits: IngestLimits, now_ns: int) -> DecodedBlock:
    """Check the block against the static limits and view its samples as an array.

    Identifiers are checked where they are first seen (an unknown structure, a new
    stream, a new channel list), not on every block: see ``IngestManager``."""
    stream_id = block.stream_id or "default"
    if block.sequence < 1:
        raise InvalidInput("sequence: must be >= 1", field="sequence")
    rate = block.sample_rate_hz
    if not (math.isfinite(rate) and limits.min_sample_rate_hz <= rate <= limits.max_sample_rate_hz):
        raise InvalidInput(
            f"sample_rate_hz: {rate!r} is outside {limits.min_sample_rate_hz:g}..{limits.max_sample_rate_hz:g} Hz",
            field="sample_rate_hz",
        )
    channel_ids = tuple(block.channel_ids)
    n_ch = len(channel_ids)
    if n_ch == 0:
        raise InvalidInput("channel_ids: at least one channel is required", field="channel_ids")
    if n_ch > limits.max_channels:
        raise InvalidInput(f"channel_ids: {n_ch} channels exceeds max_channels={limits.max_channels}", field="channel_ids")
    dtype = _DTYPES.get(block.encoding)
    if dtype is None:
        raise InvalidInput(
            f"encoding: {block.encoding} is not ENCODING_FLOAT32_LE or ENCODING_INT32_LE", field="encoding"
        )
    n = block.n_samples
    if n < 1:
        raise InvalidInput("n_samples: must be >= 1", field="n_samples")
    duration_s = n / rate
    if duration_s > limits.max_block_duration_s:
        raise InvalidInput(
            f"n_samples: {n} samples at {rate:g} Hz is {duration_s:g} s, over max_block_duration_s="
            f"{limits.max_block_duration_s:g}",
            field="n_samples",
        )
    payload = block.data  # each access copies the bytes out of the message: read once
    nbytes = len(payload)
    if nbytes > limits.max_block_bytes:
        raise InvalidInput(f"data: {nbytes} bytes exceeds max_block_bytes={limits.max_block_bytes}", field="data")
    expected = n_ch * n * dtype.itemsize
    if nbytes != expected:
        raise InvalidInput(
            f"data: {nbytes} bytes, expected {expected} = {n_ch} channels x {n} samples x {dtype.itemsize} bytes",
            field="data",
        )
    start = block.start_time_ns
    end = start + round(n * NS / rate)
    if end > now_ns + limits.max_future_s * NS:
        raise InvalidInput(
            f"start_time_ns: block ends {(end - now_ns) / NS:.1f} s in the future (max_future_s={limits.max_future_s:g})",
            field="start_time_ns",
        )
    if start < now_ns - limits.max_past_days * 86_400 * NS:
        raise InvalidInput(
            f"start_time_ns: block starts more than max_past_days={limits.max_past_days:g} days ago",
            field="start_time_ns",
        )
    samples = np.frombuffer(payload, dtype=dtype).reshape(n_ch, n)
    tq = block.timing_quality if block.HasField("timing_quality") and 0 <= block.timing_quality <= 100 else -1
    return DecodedBlock(block.structure_id, stream_id, block.sequence, start, end, rate, channel_ids, samples, tq)
