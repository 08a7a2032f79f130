"""Acceptance 4: a token of tenant B cannot read or write tenant A's structures,
for every service (PERMISSION_DENIED), over real gRPC."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from conftest import run, running_server
from helpers import block, register

from quakewatch.clients import AsyncClient
from quakewatch.server.storage.tokens import create_token
from quakewatch.server.analysis import store
from quakewatch.v1 import audit_pb2, events_pb2, ingest_pb2, monitor_pb2, registry_pb2

pytestmark = pytest.mark.e2e


def test_other_tenant_is_denied_everywhere(tmp_path: Path, db_url: str | None) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, db_url) as srv:
            tok_a, _ = create_token(srv.engine, "owner", "tenant-a")
            tok_b_owner, _ = create_token(srv.engine, "owner", "tenant-b")
            tok_b_gw, _ = create_token(srv.engine, "gateway", "tenant-b")
            tok_b_hq, _ = create_token(srv.engine, "hq", "tenant-b")
            async with AsyncClient(srv.address, tok_a) as a:
                await register(a, "a-bridge", 3)
            sid = "a-bridge"
            store.save(srv.engine, "tenant-a", events_pb2.Event(event_id="e" * 32, structure_id=sid, state=events_pb2.EVENT_STATE_CLOSED, trigger_time_ns=time.time_ns()))

            async def watch(c: AsyncClient) -> object:
                return [m async for m in c.events.Watch(events_pb2.WatchRequest(structure_id=sid))]

            calls = {
                "EventService.ListEvents": lambda c: c.events.ListEvents(events_pb2.ListEventsRequest(structure_id=sid)),
                "EventService.GetEvent": lambda c: c.events.GetEvent(events_pb2.GetEventRequest(event_id="e" * 32)),
                "EventService.Watch": watch,
                "RegistryService.GetStructure": lambda c: c.registry.GetStructure(registry_pb2.GetStructureRequest(structure_id=sid)),
                "RegistryService.ListChannels": lambda c: c.registry.ListChannels(registry_pb2.ListChannelsRequest(structure_id=sid)),
                "RegistryService.PutStructure": lambda c: c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(structure_id=sid, kind=registry_pb2.STRUCTURE_KIND_DAM))),
                "RegistryService.PutChannels": lambda c: c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=sid, channels=[registry_pb2.Channel(channel_id="x")])),
                "RegistryService.DeleteStructure": lambda c: c.registry.DeleteStructure(registry_pb2.DeleteStructureRequest(structure_id=sid)),
                "MonitorService.GetStructureStatus": lambda c: c.monitor.GetStructureStatus(monitor_pb2.GetStructureStatusRequest(structure_id=sid)),
                "IngestService.GetResumePoint": lambda c: c.ingest.GetResumePoint(ingest_pb2.GetResumePointRequest(structure_id=sid)),
                "AuditService.ListAuditEntries": lambda c: c.audit.ListAuditEntries(audit_pb2.ListAuditEntriesRequest()),
                "AuditService.VerifyAuditChain": lambda c: c.audit.VerifyAuditChain(audit_pb2.VerifyAuditChainRequest()),
            }
            for tok in (tok_b_owner, tok_b_gw, tok_b_hq):
                async with AsyncClient(srv.address, tok) as b:
                    for name, call in calls.items():
                        with pytest.raises(grpc.aio.AioRpcError) as ei:
                            await call(b)
                        assert ei.value.code() == grpc.StatusCode.PERMISSION_DENIED, (name, ei.value.code(), ei.value.details())
                    # lists are filtered rather than denied
                    ls = await b.registry.ListStructures(registry_pb2.ListStructuresRequest())
                    assert sid not in [s.structure_id for s in ls.structures]
                    st = await b.monitor.ListStructureStatuses(monitor_pb2.ListStructureStatusesRequest())
                    assert sid not in [s.structure_id for s in st.statuses]
                    evs = await b.events.ListEvents(events_pb2.ListEventsRequest())
                    assert not evs.events
                    # writing samples into A's structure ends the stream with PERMISSION_DENIED
                    data = np.zeros((1, 200), dtype=np.float32)
                    blk = block(sid, 1, time.time_ns() - 5_000_000_000, ["c00"], data)

                    async def one() -> object:
                        yield blk

                    with pytest.raises(grpc.aio.AioRpcError) as ei:
                        _ = [x async for x in b.ingest.Stream(one())]
                    assert ei.value.code() == grpc.StatusCode.PERMISSION_DENIED
            # A's structure is untouched and A still sees it
            async with AsyncClient(srv.address, tok_a) as a:
                evs = await a.events.ListEvents(events_pb2.ListEventsRequest())
                assert [e.event_id for e in evs.events] == ["e" * 32]
                r = await a.registry.GetStructure(registry_pb2.GetStructureRequest(structure_id=sid))
                assert r.structure.kind == registry_pb2.STRUCTURE_KIND_BRIDGE and len(r.channels) == 3
                res = await a.ingest.GetResumePoint(ingest_pb2.GetResumePointRequest(structure_id=sid))
                assert res.last_durable_sequence == 0

    run(scenario())


def test_missing_or_bad_token_is_unauthenticated(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as srv:
            for tok in ("", "qw_000000000000_" + "A" * 43, "garbage"):
                async with AsyncClient(srv.address, tok) as c:
                    with pytest.raises(grpc.aio.AioRpcError) as ei:
                        await c.registry.ListStructures(registry_pb2.ListStructuresRequest())
                    assert ei.value.code() == grpc.StatusCode.UNAUTHENTICATED

    run(scenario())


def test_owner_cannot_create_structure_for_another_tenant(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as srv:
            tok, _ = create_token(srv.engine, "owner", "tenant-a")
            async with AsyncClient(srv.address, tok) as c:
                with pytest.raises(grpc.aio.AioRpcError) as ei:
                    await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(structure_id="x", tenant="tenant-b")))
                assert ei.value.code() == grpc.StatusCode.PERMISSION_DENIED
                assert "tenant" in ei.value.details()

    run(scenario())


def test_registry_rejects_station_squatting_bad_enums_and_non_finite_numbers(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as srv:
            tok_a, _ = create_token(srv.engine, "owner", "tenant-a")
            tok_b, _ = create_token(srv.engine, "owner", "tenant-b")
            async with AsyncClient(srv.address, tok_a) as a:
                await register(a, "a-bridge", 3)
                r = await a.registry.GetStructure(registry_pb2.GetStructureRequest(structure_id="a-bridge"))
                net, sta = r.structure.network_code, r.structure.station_code
            async with AsyncClient(srv.address, tok_b) as b:
                cases = [
                    # B may not take A's SDS station (its data would land in A's directory)
                    (registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(structure_id="b-1", network_code=net, station_code=sta)), "PutStructure", grpc.StatusCode.ALREADY_EXISTS, "station_code"),
                    (registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(structure_id="b-2", kind=99)), "PutStructure", grpc.StatusCode.INVALID_ARGUMENT, "structure.kind"),
                    (registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(structure_id="b-4", lowest_mode_hz=-0.2)), "PutStructure", grpc.StatusCode.INVALID_ARGUMENT, "structure.lowest_mode_hz"),
                    (registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(structure_id="b-4", lowest_mode_hz=float("nan"))), "PutStructure", grpc.StatusCode.INVALID_ARGUMENT, "structure.lowest_mode_hz"),
                    (registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(structure_id="b-4", lowest_mode_hz=250.0)), "PutStructure", grpc.StatusCode.INVALID_ARGUMENT, "structure.lowest_mode_hz"),
                ]
                for req, method, code, field in cases:
                    with pytest.raises(grpc.aio.AioRpcError) as ei:
                        await getattr(b.registry, method)(req)
                    assert ei.value.code() == code and field in ei.value.details(), ei.value.details()
                await b.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(structure_id="b-3")))
                bad_channels = [
                    (registry_pb2.Channel(channel_id="x", seed_id=f"{net}.{sta}.00.HNZ"), "seed_id"),  # A's station
                    (registry_pb2.Channel(channel_id="x", units=42), "units"),
                    (registry_pb2.Channel(channel_id="x", clip_level=float("nan")), "clip_level"),
                    (registry_pb2.Channel(channel_id="x", sample_rate_hz=float("inf")), "sample_rate_hz"),
                    (registry_pb2.Channel(channel_id="x", orientation="NORTH"), "orientation"),
                ]
                for ch, field in bad_channels:
                    with pytest.raises(grpc.aio.AioRpcError) as ei:
                        await b.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id="b-3", channels=[ch]))
                    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in ei.value.details(), (field, ei.value.details())

    run(scenario())


def test_revoked_token_ends_an_open_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from quakewatch.server.api.ingest import IngestServicer
    from quakewatch.server.storage.tokens import revoke_token

    monkeypatch.setattr(IngestServicer, "TOKEN_RECHECK_S", 0.0)

    async def scenario() -> None:
        async with running_server(tmp_path) as srv:
            tok, p = create_token(srv.engine, "gateway", "t")
            async with AsyncClient(srv.address, tok) as c:
                await register(c, "s1", 1)
                t0 = time.time_ns() - 100_000_000_000
                revoked = asyncio.Event()

                async def gen() -> object:
                    yield block("s1", 1, t0, ["c00"], np.zeros((1, 200), np.float32))
                    await revoked.wait()
                    yield block("s1", 2, t0 + 1_000_000_000, ["c00"], np.zeros((1, 200), np.float32))

                call = c.ingest.Stream(gen())
                first = await call.read()
                assert first.status == ingest_pb2.INGEST_STATUS_ACCEPTED
                revoke_token(srv.engine, p.token_id)
                revoked.set()
                with pytest.raises(grpc.aio.AioRpcError) as ei:
                    await call.read()
                assert ei.value.code() == grpc.StatusCode.UNAUTHENTICATED

    run(scenario())
