"""The live server: one object holding every group of Socket.IO handlers, registered on the AsyncServer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import socketio
from aiohttp import web

from hypertube.ws.chat import ChatHandlers
from hypertube.ws.connection import ConnectionHandlers
from hypertube.ws.guard import EventGuard
from hypertube.ws.relay import RelayHandlers
from hypertube.ws.rooms import RoomHandlers
from hypertube.ws.store import LiveStore

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 16 * 1024  # anything bigger closes the connection at the Engine.IO layer


class LiveServer(ConnectionHandlers, EventGuard, RoomHandlers, ChatHandlers, RelayHandlers):
    """Owns the AsyncServer's handlers and the per-process list of connected sockets."""

    def __init__(self, app: web.Application, sio: socketio.AsyncServer, store: LiveStore):
        super().__init__(app, sio, store)
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        sio.on("*", self.on_unknown)
        for name, handler in {
            "join": self.join,
            "leave": self.leave,
            "chat:send": self.chat_send,
            "chat:typing": self.chat_typing,
            "party:play": self.party_play,
            "party:pause": self.party_pause,
            "party:seek": self.party_seek,
            "party:ready": self.party_ready,
            "party:buffering": self.party_buffering,
            "progress": self.watch_progress,
            "auth:refresh": self.auth_refresh,
        }.items():
            sio.on(name, self._guarded(name, handler))

    async def flush(self) -> None:
        await self.flush_presence()
        await self.flush_progress()


async def run_every(interval: float, job: Callable[[], Awaitable[None]], name: str) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live background job %s failed", name)
