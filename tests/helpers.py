"""Small helpers shared by tests (imported as ``from helpers import ...``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from quakewatch.v1 import ingest_pb2, registry_pb2

NS = 1_000_000_000


async def register(client: Any, structure_id: str, n_channels: int, rate_hz: float = 200.0, tenant: str = "", clip_level: float = 0.0) -> list[str]:
    await client.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(structure_id=structure_id, kind=registry_pb2.STRUCTURE_KIND_BRIDGE, tenant=tenant)))
    chans = [
        registry_pb2.Channel(channel_id=f"c{i:02d}", orientation="ENZ"[i % 3], units=registry_pb2.CHANNEL_UNITS_ACCELERATION_MPS2, sample_rate_hz=rate_hz, clip_level=clip_level)
        for i in range(n_channels)
    ]
    r = await client.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=structure_id, channels=chans))
    return [c.channel_id for c in r.channels]


def block(structure_id: str, seq: int, start_ns: int, channel_ids: list[str], data: np.ndarray, rate_hz: float = 200.0, **kw: Any) -> ingest_pb2.SampleBlock:
    from quakewatch.clients.gateway import make_block

    b = make_block(structure_id, kw.pop("stream_id", "default"), seq, start_ns, rate_hz, channel_ids, data)
    for k, v in kw.items():
        setattr(b, k, v)
    return b


async def stream_all(client: Any, blocks: list[ingest_pb2.SampleBlock]) -> list[ingest_pb2.IngestAck]:
    """Send blocks on one stream and collect every ack."""

    async def gen() -> Any:
        for b in blocks:
            yield b

    return [ack async for ack in client.ingest.Stream(gen())]
