"""EventService servicer: live feed and queries of detected events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from sqlalchemy.engine import Engine

from quakewatch.v1 import events_pb2, events_pb2_grpc

from .. import registry
from ..analysis import store
from ..analysis.events import EventHub
from ..analysis.fanout import drain
from .context import current_principal
from .convert import ns_of


class EventServicer(events_pb2_grpc.EventServiceServicer):
    def __init__(self, engine: Engine, hub: EventHub) -> None:
        self.engine = engine
        self.hub = hub

    async def Watch(self, request: events_pb2.WatchRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[events_pb2.WatchResponse]:
        p = current_principal()
        if request.structure_id:  # access check (and NotFound) before subscribing
            await asyncio.to_thread(registry.get_structure, self.engine, p, request.structure_id)
        sub = self.hub.subscribe(p, request.structure_id)
        async for msg in drain(self.hub, sub, "messages (use ListEvents)"):
            yield msg

    async def ListEvents(self, request: events_pb2.ListEventsRequest, context: grpc.aio.ServicerContext) -> events_pb2.ListEventsResponse:
        p = current_principal()
        events, token = await asyncio.to_thread(
            store.list_events, self.engine, p, request.structure_id, ns_of(request.start_time), ns_of(request.end_time), request.page_size, request.page_token
        )
        return events_pb2.ListEventsResponse(events=events, next_page_token=token)

    async def GetEvent(self, request: events_pb2.GetEventRequest, context: grpc.aio.ServicerContext) -> events_pb2.GetEventResponse:
        return events_pb2.GetEventResponse(event=await asyncio.to_thread(store.get, self.engine, current_principal(), request.event_id))
