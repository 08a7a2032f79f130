"""RegistryService servicer. Database work (each change with its audit entry, in one
transaction) runs in worker threads, never on the event loop that carries the
ingest streams."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
from sqlalchemy.engine import Engine

from quakewatch.v1 import registry_pb2, registry_pb2_grpc

from .. import registry
from .context import current_principal
from .convert import channel_from_pb, channel_to_pb, kind_from_pb, structure_to_pb


class RegistryServicer(registry_pb2_grpc.RegistryServiceServicer):
    def __init__(self, engine: Engine, network_code: str, on_change: Callable[[str, bool], Awaitable[None]]) -> None:
        self.engine = engine
        self.network_code = network_code
        self.on_change = on_change

    async def PutStructure(self, request: registry_pb2.PutStructureRequest, context: grpc.aio.ServicerContext) -> registry_pb2.PutStructureResponse:
        s = request.structure
        inp = registry.StructureInput(
            structure_id=s.structure_id,
            name=s.name,
            kind=kind_from_pb(s.kind),
            tenant=s.tenant,
            longitude_deg=s.location.longitude_deg,
            latitude_deg=s.location.latitude_deg,
            elevation_m=s.location.elevation_m,
            network_code=s.network_code,
            station_code=s.station_code,
            description=s.description,
            lowest_mode_hz=s.lowest_mode_hz,
        )
        row, created = await asyncio.to_thread(registry.put_structure, self.engine, current_principal(), inp, self.network_code)
        await self.on_change(row.structure_id, False)
        return registry_pb2.PutStructureResponse(structure=structure_to_pb(row), created=created)

    async def GetStructure(self, request: registry_pb2.GetStructureRequest, context: grpc.aio.ServicerContext) -> registry_pb2.GetStructureResponse:
        row, chans = await asyncio.to_thread(registry.get_structure, self.engine, current_principal(), request.structure_id)
        return registry_pb2.GetStructureResponse(structure=structure_to_pb(row), channels=[channel_to_pb(c) for c in chans])

    async def ListStructures(self, request: registry_pb2.ListStructuresRequest, context: grpc.aio.ServicerContext) -> registry_pb2.ListStructuresResponse:
        kind = kind_from_pb(request.kind, "kind") if request.kind else ""
        rows = await asyncio.to_thread(registry.list_structures, self.engine, current_principal(), kind, request.tenant)
        return registry_pb2.ListStructuresResponse(structures=[structure_to_pb(r) for r in rows])

    async def DeleteStructure(self, request: registry_pb2.DeleteStructureRequest, context: grpc.aio.ServicerContext) -> registry_pb2.DeleteStructureResponse:
        await asyncio.to_thread(registry.delete_structure, self.engine, current_principal(), request.structure_id)
        await self.on_change(request.structure_id, True)
        return registry_pb2.DeleteStructureResponse()

    async def PutChannels(self, request: registry_pb2.PutChannelsRequest, context: grpc.aio.ServicerContext) -> registry_pb2.PutChannelsResponse:
        chans = [channel_from_pb(c, request.structure_id) for c in request.channels]
        rows = await asyncio.to_thread(registry.put_channels, self.engine, current_principal(), request.structure_id, chans)
        await self.on_change(request.structure_id, False)
        return registry_pb2.PutChannelsResponse(channels=[channel_to_pb(r) for r in rows])

    async def ListChannels(self, request: registry_pb2.ListChannelsRequest, context: grpc.aio.ServicerContext) -> registry_pb2.ListChannelsResponse:
        _, chans = await asyncio.to_thread(registry.get_structure, self.engine, current_principal(), request.structure_id)
        return registry_pb2.ListChannelsResponse(channels=[channel_to_pb(c) for c in chans])
