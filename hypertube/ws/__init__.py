"""Socket.IO: comments, chat, download progress and watch parties, authenticated on connect."""

from __future__ import annotations

import asyncio
import logging

import socketio
from aiohttp import web

from hypertube.background import BackgroundTasks
from hypertube.keys import EVENTS, LIVE, SETTINGS, SIO
from hypertube.settings import Settings
from hypertube.ws.connection import SESSION_SWEEP_INTERVAL, SWEEP_INTERVAL
from hypertube.ws.fanout import FanOutManager, FanOutRedisManager
from hypertube.ws.relay import PROGRESS_INTERVAL
from hypertube.ws.server import MAX_MESSAGE_BYTES, LiveServer, run_every
from hypertube.ws.session import session_endpoint
from hypertube.ws.store import make_store

log = logging.getLogger(__name__)
SOCKET_PATH = "socket.io"


def redis_prefix(settings: Settings) -> str:
    """Key and channel prefix in Redis; `extra["redis_prefix"]` lets several deployments (or test runs) share one Redis."""
    return settings.extra.get("redis_prefix", settings.redis_prefix)


def _manager(app: web.Application) -> socketio.AsyncManager:
    settings = app[SETTINGS]
    if settings.redis_url:
        # Every process publishes its emits on one Redis channel, so rooms span processes.
        return FanOutRedisManager(settings.redis_url, channel=f"{redis_prefix(settings)}socketio")
    return FanOutManager()


async def live_context(app: web.Application):
    """Cleanup context: the live store, the Socket.IO manager's listener and the background emitters."""
    settings = app[SETTINGS]
    sio = app[SIO]
    live = app[LIVE]
    live.store = make_store(settings.redis_url, f"{redis_prefix(settings)}live:")
    # Start the Redis listener now rather than on the first connection, so that this process
    # receives other processes' emits as soon as it serves anything.
    sio.manager_initialized = True
    sio.manager.initialize()
    if settings.redis_url:
        await _wait_subscribed(sio.manager)
    app[EVENTS].subscribe(live.on_app_event)
    jobs = BackgroundTasks()
    jobs.start(run_every(PROGRESS_INTERVAL, live.flush, "presence and progress"))
    jobs.start(run_every(SWEEP_INTERVAL, live.close_expired, "expiry"))
    jobs.start(run_every(SESSION_SWEEP_INTERVAL, live.close_ended_sessions, "ended sessions"))
    yield
    app[EVENTS].unsubscribe(live.on_app_event)
    await jobs.close()
    for sid in list(live.clients):
        try:
            await sio.disconnect(sid, ignore_queue=True)
            await live.on_disconnect(sid)
        except Exception:  # shutting down: one broken socket must not keep the others open
            log.exception("closing live socket %s failed", sid)
    await sio.shutdown()
    thread = getattr(sio.manager, "thread", None)
    if thread is not None:
        thread.cancel()
        await asyncio.gather(thread, return_exceptions=True)
    for name in ("pubsub", "redis"):
        conn = getattr(sio.manager, name, None)
        if conn is not None:
            await conn.aclose()
    await live.store.close()


async def _wait_subscribed(manager) -> None:
    try:
        async with asyncio.timeout(5):
            # The manager offers no signal for "subscribed", so poll its pubsub briefly.
            for _ in range(250):
                if getattr(manager, "pubsub", None) is not None and manager.pubsub.subscribed:
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        log.warning("Socket.IO Redis channel not subscribed after 5 s; events may be missed")


def setup(app: web.Application) -> None:
    """Attaches the Socket.IO server to the app at /socket.io (opened by `live_context`)."""
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=_manager(app),
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        ping_interval=20,
        ping_timeout=15,
        logger=False,
        engineio_logger=False,
    )
    live = LiveServer(app, sio, store=None)  # type: ignore[arg-type]  # opened in the cleanup context
    sio.eio.cors_allowed_origins = live.origin_allowed
    sio.attach(app, socketio_path=SOCKET_PATH)
    app[SIO] = sio
    app[LIVE] = live
    app.router.add_post("/live/session", session_endpoint)
