"""Serves the app on its TCP port with a guard on connections: a new connection must send a whole
request head within a time limit, and one address keeps only so many half-sent request heads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

MAX_PARTIAL_PER_ADDRESS = 32  # connections from one address holding part of a request head
HEAD_END = b"\r\n\r\n"


class ConnectionGuard:
    """Keeps, per client address, the connections that sent part of their first request head but not
    all of it: past the cap, the oldest of them is closed. A burst of whole requests is never cut."""

    def __init__(self, header_timeout: float, max_partial: int = MAX_PARTIAL_PER_ADDRESS):
        self.header_timeout = header_timeout
        self.max_partial = max_partial
        self.partial: dict[str, dict[GuardedProtocol, None]] = {}  # oldest first (insertion order)
        self.evicted = 0

    def wrap(self, factory: Callable[[], Any]) -> Callable[[], GuardedProtocol]:
        return lambda: GuardedProtocol(self, factory())

    def hold(self, conn: GuardedProtocol) -> None:
        held = self.partial.setdefault(conn.address, {})
        if len(held) >= self.max_partial:
            self.evicted += 1
            if self.evicted == 1 or self.evicted % 100 == 0:
                log.warning("too many half-sent requests from %s: closing the oldest", conn.address)
            next(iter(held)).close()
        held[conn] = None

    def release(self, conn: GuardedProtocol) -> None:
        held = self.partial.get(conn.address)
        if held is not None:
            held.pop(conn, None)
            if not held:
                del self.partial[conn.address]


class GuardedProtocol(asyncio.Protocol):
    """aiohttp's protocol for one connection, with a deadline on its first request head (aiohttp's
    own keep-alive timeout covers the pauses between later requests)."""

    def __init__(self, guard: ConnectionGuard, inner: Any):
        self.guard = guard
        self.inner = inner
        self.address = ""
        self.waiting = True  # for the first request head
        self.transport: asyncio.Transport | None = None
        self._tail = b""
        self._held = False
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        self.inner.connection_made(transport)
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self.guard.header_timeout, self.close)

    def close(self) -> None:
        """Drops a connection that has not sent its request head (too slow, or one too many)."""
        if self.waiting and self.transport is not None:
            self._head_done()
            self.transport.abort()

    def _head_done(self) -> None:
        self.waiting = False
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if self._held:
            self.guard.release(self)

    def data_received(self, data: bytes) -> None:
        if self.waiting:
            if HEAD_END in self._tail + data:
                self._head_done()
            else:
                self._tail = (self._tail + data)[-(len(HEAD_END) - 1) :]
                if not self._held:
                    self._held = True
                    self.guard.hold(self)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiting:
            self._head_done()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class GuardedSite(web.TCPSite):
    """A TCP site whose connections go through a ConnectionGuard."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard):
        super().__init__(runner, host, port)
        self.guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self.guard.wrap(server), self._host, self._port, reuse_address=True
        )


def run_app(
    app: web.Application, *, host: str, port: int, header_timeout: float, shutdown_timeout: float
) -> None:
    """Like aiohttp's `web.run_app` (Ctrl-C and SIGTERM stop it gracefully), on a GuardedSite."""

    async def serve() -> None:
        runner = web.AppRunner(app, handle_signals=True, access_log=None, shutdown_timeout=shutdown_timeout)
        await runner.setup()
        try:
            await GuardedSite(runner, host, port, ConnectionGuard(header_timeout)).start()
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(serve())
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        if not main.done():
            main.cancel()
            with suppress(asyncio.CancelledError):
                loop.run_until_complete(main)
        rest = asyncio.all_tasks(loop)
        for task in rest:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
