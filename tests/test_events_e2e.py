"""Event detection end to end over real gRPC: blocks in, Watch out, queries, tenancy."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import run, running_server
from helpers import NS, block, stream_all

from quakewatch.clients import AsyncClient
from quakewatch.server.storage.tokens import create_token
from quakewatch.v1 import events_pb2, registry_pb2

pytestmark = pytest.mark.e2e
FS = 200.0


async def _register_stations(c: AsyncClient, sid: str, kind: int = registry_pb2.STRUCTURE_KIND_BUILDING) -> list[str]:
    """Two triaxial stations: free field (floor 0) and roof (floor 5)."""
    await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(structure_id=sid, kind=kind)))
    chans = []
    for array, floor, height in (("ground", 0, 0.0), ("roof", 5, 18.0)):
        for comp, az, dip in (("E", 90.0, 0.0), ("N", 0.0, 0.0), ("Z", 0.0, -90.0)):
            chans.append(registry_pb2.Channel(channel_id=f"{array}-{comp}", array_id=array, orientation=comp, azimuth_deg=az, dip_deg=dip, floor=floor, height_m=height,
                                              units=registry_pb2.CHANNEL_UNITS_ACCELERATION_MPS2, sensitivity=1.0, sample_rate_hz=FS))
    r = await c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=sid, channels=chans))
    return [ch.channel_id for ch in r.channels]


def _shaking(n_ch: int, seconds: int, at_s: float, pga: float, seed: int = 0) -> np.ndarray:
    """Noise plus a 6-s band-limited shaking of peak ``pga`` on every channel."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    x = 2e-4 * rng.standard_normal((n_ch, n))
    t = np.arange(int(6 * FS)) / FS
    env = (t / 0.5) ** 2 * np.exp(-t / 1.0) * np.exp(2) / 4
    i0 = int(at_s * FS)
    for c in range(n_ch):
        w = np.sin(2 * np.pi * (2.0 + 0.3 * c) * t + c) * env
        x[c, i0:i0 + t.size] += pga * w / np.abs(w).max()
    return x.astype(np.float32)


def test_watch_sees_opened_updated_closed_and_queries_agree(tmp_path: Path, db_url: str | None) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, db_url) as srv:
            tok, _ = create_token(srv.engine, "owner", "t")
            hq, _ = create_token(srv.engine, "hq", None)
            other, _ = create_token(srv.engine, "owner", "u")
            async with AsyncClient(srv.address, tok) as c, AsyncClient(srv.address, hq) as h, AsyncClient(srv.address, other) as o:
                ids = await _register_stations(c, "tower")
                got: list[events_pb2.WatchResponse] = []
                foreign: list[events_pb2.WatchResponse] = []

                async def follow(client: AsyncClient, into: list[events_pb2.WatchResponse]) -> None:
                    async for m in client.events.Watch(events_pb2.WatchRequest()):
                        into.append(m)
                        if m.change == events_pb2.EVENT_CHANGE_CLOSED:
                            return

                w_hq = asyncio.create_task(follow(h, got))
                w_other = asyncio.create_task(follow(o, foreign))
                await asyncio.sleep(0.2)
                x = _shaking(6, 60, 30.0, 1.0)
                t0 = time.time_ns() - 70 * NS
                blocks = [block("tower", k + 1, t0 + k * NS, ids, x[:, k * 200:(k + 1) * 200]) for k in range(60)]
                acks = await stream_all(c, blocks)
                assert all(a.status == 1 for a in acks)
                await asyncio.wait_for(w_hq, 20)
                await asyncio.sleep(0.2)
                w_other.cancel()
                assert foreign == []  # another tenant's owner sees nothing
                changes = [m.change for m in got]
                assert changes[0] == events_pb2.EVENT_CHANGE_OPENED and changes[-1] == events_pb2.EVENT_CHANGE_CLOSED
                assert events_pb2.EVENT_CHANGE_UPDATED in changes
                closed = got[-1].event
                # the onset lies at the start of the shaking (within the 0.5 s STA)
                assert abs(closed.trigger_time_ns - (t0 + 30 * NS)) < 0.5 * NS
                assert closed.state == events_pb2.EVENT_STATE_CLOSED
                assert closed.classification == events_pb2.EVENT_CLASS_EARTHQUAKE, list(closed.reasons)
                assert {s.station for s in closed.stations} == {"ground", "roof"}
                ground = next(s for s in closed.stations if s.station == "ground")
                assert ground.free_field and closed.max_degree == ground.degree
                assert 0.9 < closed.max_pga_mps2 < 1.1 * np.sqrt(3)
                assert len(closed.channels) == 6 and closed.provenance.code_version
                # stored: GetEvent and ListEvents return what Watch pushed
                r = await c.events.GetEvent(events_pb2.GetEventRequest(event_id=closed.event_id))
                assert r.event == closed
                ls = await c.events.ListEvents(events_pb2.ListEventsRequest(structure_id="tower"))
                assert [e.event_id for e in ls.events] == [closed.event_id]

    run(scenario())


def test_list_events_pages_newest_first(tmp_path: Path) -> None:
    from quakewatch.server.analysis import store

    async def scenario() -> None:
        async with running_server(tmp_path) as srv:
            tok, _ = create_token(srv.engine, "owner", "t")
            async with AsyncClient(srv.address, tok) as c:
                await _register_stations(c, "b1")
                for k in range(7):
                    store.save(srv.engine, "t", events_pb2.Event(event_id=f"{k:032d}", structure_id="b1", state=events_pb2.EVENT_STATE_CLOSED, trigger_time_ns=(k + 1) * NS))
                seen, token = [], ""
                while True:
                    r = await c.events.ListEvents(events_pb2.ListEventsRequest(page_size=3, page_token=token))
                    seen += [e.trigger_time_ns // NS for e in r.events]
                    token = r.next_page_token
                    if not token:
                        break
                assert seen == [7, 6, 5, 4, 3, 2, 1]
                r = await c.events.ListEvents(events_pb2.ListEventsRequest(start_time={"seconds": 3}, end_time={"seconds": 5}))
                assert [e.trigger_time_ns // NS for e in r.events] == [4, 3]
                with pytest.raises(Exception, match="page_size"):
                    await c.events.ListEvents(events_pb2.ListEventsRequest(page_size=5000))

    run(scenario())
