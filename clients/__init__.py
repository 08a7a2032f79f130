"""Python clients (sync and asyncio) and the ``quakewatch`` command line."""

from .client import AsyncClient, Client, ClientOptions

__all__ = ["AsyncClient", "Client", "ClientOptions"]
