"""``quakewatch replay``: stream recorded miniSEED or SAC files through the live ingest path.

miniSEED is read with pymseed (libmseed), SAC (``*.sac``, or any file whose header
identifies it as SAC) with :mod:`quakewatch.clients.sac`. Each SEED channel becomes a channel of the
structure (channel id = SEED id); samples keep their type (integer counts as
INT32_LE, floats as FLOAT32_LE) and their original timestamps. Blocks of
``--block`` seconds, one channel each, go out in time order on one resumable stream.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import numpy as np
from pymseed import MS3TraceList, sourceid2nslc

from quakewatch.v1 import registry_pb2

from .client import AsyncClient, ClientOptions
from .gateway import Gateway
from .output import print_json

NS = 1_000_000_000


def read_segments(files: list[Path]) -> list[tuple[str, int, float, np.ndarray]]:
    """(SEED id, start ns, rate Hz, samples) for every contiguous segment in the files."""
    from .sac import read_sac

    tl = MS3TraceList()
    out = []
    for f in files:
        if not f.is_file():
            raise SystemExit(f"files: {f} does not exist")
        if f.suffix.lower() == ".sac":
            try:
                t = read_sac(f)
            except ValueError as exc:
                raise SystemExit(f"files: {exc}") from None
            out.append((t.seed_id, t.start_ns, t.sample_rate_hz, t.samples))
        else:
            tl.add_file(str(f), unpack_data=True)
    for tid in tl:
        seed = ".".join(sourceid2nslc(tid.sourceid))
        for seg in tid:
            x = np.array(seg.np_datasamples, copy=True)
            if seg.numsamples and seg.samprate > 0:
                out.append((seed, int(seg.starttime), float(seg.samprate), x))
    if not out:
        raise SystemExit("files: no miniSEED data samples found")
    return out


async def replay(client: AsyncClient, structure_id: str, stream_id: str, files: list[Path], block_s: float, register: bool) -> dict[str, Any]:
    segments = read_segments(files)
    seeds = sorted({s for s, *_ in segments})
    if register:
        stations = sorted({s.rsplit(".", 2)[0] for s in seeds})
        if len(stations) != 1:
            raise SystemExit(f"files: contain stations {', '.join(stations)}; a structure is one SEED station: replay each into its own structure")
        net, sta = stations[0].split(".")
        await client.registry.PutStructure(
            registry_pb2.PutStructureRequest(
                structure=registry_pb2.Structure(structure_id=structure_id, name=f"replay {structure_id}", kind=registry_pb2.STRUCTURE_KIND_OTHER, network_code=net, station_code=sta)
            )
        )
        rates = {s: r for s, _, r, _ in segments}
        await client.registry.PutChannels(
            registry_pb2.PutChannelsRequest(
                structure_id=structure_id,
                channels=[registry_pb2.Channel(channel_id=s, seed_id=s, orientation=s[-1], sample_rate_hz=rates[s], units=registry_pb2.CHANNEL_UNITS_OTHER, sensitivity=1.0) for s in seeds],
            )
        )
    gw = Gateway(client, structure_id, stream_id)
    last_end = await gw.resume()
    pieces = []
    for seed, start, rate, x in segments:
        n = max(1, int(round(block_s * rate)))
        for k in range(0, len(x), n):
            t = start + round(k * NS / rate)
            if t >= last_end or last_end == 0:
                pieces.append((t, seed, rate, x[k : k + n]))
    pieces.sort(key=lambda p: (p[0], p[1]))
    total = sum(len(p[3]) for p in pieces)

    async def produce() -> None:
        for t, seed, rate, x in pieces:
            data = x.astype(np.int32 if np.issubdtype(x.dtype, np.integer) else np.float32).reshape(1, -1)
            await gw.put(t, rate, [seed], data)
        gw.producer_done()

    stats = await gw.stream(produce())
    return {
        "structure_id": structure_id,
        "channels": seeds,
        "blocks_acked": stats.blocks_acked,
        "blocks_rejected": stats.blocks_rejected,
        "samples_acked": stats.samples_acked,
        "samples_expected": total,
        "last_acked_sequence": stats.last_acked_sequence,
        "rejections": stats.rejections,
    }


def replay_command(a: argparse.Namespace, options: ClientOptions) -> int:
    async def run() -> dict[str, Any]:
        async with AsyncClient(options) as c:
            return await replay(c, a.structure_id, a.stream_id, a.files, a.block, a.register)

    out = asyncio.run(run())
    if a.json:
        print_json(out)
    else:
        print(f"{out['structure_id']}: {out['samples_acked']}/{out['samples_expected']} samples acknowledged on {len(out['channels'])} channels ({out['blocks_rejected']} blocks rejected)")
    return 0 if out["samples_acked"] == out["samples_expected"] else 1
