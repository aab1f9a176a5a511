"""Every resource the application holds, as cleanup contexts opened in start order and closed in reverse."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web

from hypertube.cache import make_cache
from hypertube.catalog.service import build_catalog
from hypertube.db import apply_migrations, connect_pool, database_url
from hypertube.events import EventBus, movie_room
from hypertube.http.accounts import janitor as accounts_janitor
from hypertube.http.accounts import mail_sender, picture_imports
from hypertube.http.node import node_registry
from hypertube.keys import (
    CACHE,
    CATALOG,
    DEMO,
    EVENTS,
    HTTP,
    MEDIA,
    OPENSUBTITLES_FILES,
    POOL,
    RATE_LIMITS,
    RENDITION_MAKER,
    RENDITIONS,
    SETTINGS,
    TORRENTS,
)
from hypertube.media.premake import RenditionMaker
from hypertube.media.renditions import RenditionSegments
from hypertube.media.service import MediaService
from hypertube.torrent import DemoSwarm, Engine
from hypertube.torrent.demo import default_generator
from hypertube.torrent.storage import janitor_loop
from hypertube.ws import live_context, redis_prefix

log = logging.getLogger(__name__)

CleanupContext = Callable[[web.Application], AsyncIterator[None]]


async def database(app: web.Application) -> AsyncIterator[None]:
    """The asyncpg pool (embedded PostgreSQL when no URL is set), migrated before anything uses it."""
    settings = app[SETTINGS]
    async with database_url(settings.database_url, settings.data_dir) as url:
        pool = await connect_pool(url)
        async with pool.acquire() as conn:
            await apply_migrations(conn)
        app[POOL] = pool
        yield
        await pool.close()


async def http_client(app: web.Application) -> AsyncIterator[None]:
    """The one HTTP client every upstream call (sources, enrichment, OAuth, torrents) goes through."""
    timeout = aiohttp.ClientTimeout(total=15, connect=5)
    async with aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": "Hypertube/0.1"}) as session:
        app[HTTP] = session
        yield


async def cache(app: web.Application) -> AsyncIterator[None]:
    """The response cache and, apart from it, the rate-limit counters (memory, or Redis when configured)."""
    settings = app[SETTINGS]
    app[CACHE] = make_cache(settings.redis_url, settings.redis_prefix)
    app[RATE_LIMITS] = make_cache(settings.redis_url, f"{redis_prefix(settings)}limits:")
    yield
    await app[CACHE].close()
    await app[RATE_LIMITS].close()


async def events(app: web.Application) -> AsyncIterator[None]:
    app[EVENTS] = EventBus()
    yield


_FROZEN = False


def _freeze_startup_objects() -> None:
    """Moves what exists once the server has started (modules, templates, settings: several hundred
    thousand objects that live as long as the process) out of the garbage collector's sight, once per
    process. Otherwise every full collection walks them all while requests wait: pauses of 50-150 ms."""
    global _FROZEN
    if not _FROZEN:
        _FROZEN = True
        gc.collect()
        gc.freeze()


async def catalog(app: web.Application) -> AsyncIterator[None]:
    found = build_catalog(app[POOL], app[CACHE], app[HTTP], app[SETTINGS])
    app[CATALOG] = found
    found.start()
    _freeze_startup_objects()
    yield
    await found.close()


async def torrent_engine(app: web.Application) -> AsyncIterator[None]:
    """The process's torrent session; saves resume data when closing."""
    settings = app[SETTINGS]
    bus = app[EVENTS]

    async def publish(movie_id: int, payload: dict) -> None:
        await bus.publish("download:progress", payload, room=movie_room(movie_id))

    engine = Engine(
        settings.download_dir,
        app[POOL],
        port=settings.torrent_port,
        publish=publish,
        trackers=settings.torrent_trackers,
        fetch_allowed_hosts=frozenset(settings.fetch_allowed_hosts),
        node_id=settings.node_id,
    )
    await engine.start()
    app[TORRENTS] = engine

    async def on_event(event: str, payload: dict, room: str | None) -> None:
        if event == "movie:opened":
            engine.warm(int(payload["movie_id"]))

    bus.subscribe(on_event)
    try:
        yield
    finally:
        bus.unsubscribe(on_event)
        await engine.close()


async def torrent_janitor(app: web.Application) -> AsyncIterator[None]:
    """The janitor that deletes unwatched films and keeps the disk quota."""
    settings = app[SETTINGS]
    bus = app[EVENTS]

    async def removed(movie_id: int) -> None:
        await bus.publish("download:deleted", {"movie_id": movie_id})

    def prune_images() -> Awaitable[object]:
        return app[CATALOG].artwork.prune(settings.unwatched_days)

    task = asyncio.create_task(
        janitor_loop(
            app[TORRENTS], app[POOL], settings.unwatched_days, settings.disk_quota_gb, removed, prune_images
        ),
        name="torrent-janitor",
    )
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def demo_swarm(app: web.Application) -> AsyncIterator[None]:
    """With `--demo`: generates the demo films in the background, seeds them on loopback, announces
    them to a loopback tracker (which the engine then adds to every torrent) and writes the manifest
    the catalog reads; the server answers meanwhile."""
    settings = app[SETTINGS]
    if not settings.demo:
        yield
        return
    swarm = DemoSwarm(settings.data_dir, default_generator)
    app[DEMO] = swarm
    engine = app[TORRENTS]

    async def prepare() -> None:
        try:
            await swarm.start()
        except Exception:
            log.exception("the demo films could not be prepared")
            return
        if swarm.tracker_url is not None:
            engine.add_tracker(swarm.tracker_url)

    task = asyncio.create_task(prepare(), name="torrent-demo")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await swarm.stop()


async def media_service(app: web.Application) -> AsyncIterator[None]:
    """Probing, HLS segments and subtitles; a download's converted files go when the janitor deletes it."""
    service = MediaService(app[SETTINGS].data_dir / "hls", lambda: app.get(TORRENTS))
    app[MEDIA] = service
    app[RENDITIONS] = RenditionSegments(service, app[SETTINGS].max_transcodes)
    maker = app[RENDITION_MAKER] = RenditionMaker(app[RENDITIONS], lambda m: finished_here(app, m))
    app[OPENSUBTITLES_FILES] = {}

    async def on_event(event: str, payload: dict, room: str | None) -> None:
        if event == "download:deleted":
            maker.forget(int(payload["movie_id"]))
            await asyncio.to_thread(service.forget, int(payload["movie_id"]))
        elif event == "download:progress" and payload.get("progress", 0) >= 1.0:
            maker.request(int(payload["movie_id"]))  # the worker checks that the film is whole here

    app[EVENTS].subscribe(on_event)
    worker = asyncio.create_task(maker.run(), name="media-renditions")
    yield
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    app[EVENTS].unsubscribe(on_event)
    await service.close()


async def finished_here(app: web.Application, movie_id: int) -> bool:
    """Whether this node's torrent engine holds the film's whole file (films from disk: not pre-made)."""
    engine = app.get(TORRENTS)
    if engine is None or app[MEDIA].is_local(movie_id) or engine.known_files(movie_id) is None:
        return False  # the torrent does not run on this node (another node's event)
    status = await engine.download_status(movie_id)
    return isinstance(status, dict) and status.get("state") == "finished"


# Start order: each one may use what the ones before it opened; they close in reverse.
CLEANUP_CONTEXTS: tuple[CleanupContext, ...] = (
    database,
    http_client,
    cache,
    node_registry,
    events,
    mail_sender,
    accounts_janitor,
    picture_imports,
    catalog,
    torrent_engine,
    torrent_janitor,
    demo_swarm,
    media_service,
    live_context,
)


async def end_streams(app: web.Application) -> None:
    """On Ctrl-C, before the open requests get their last second: streams waiting for pieces end now."""
    engine = app.get(TORRENTS)
    if engine is not None:
        engine.end_streams()


def setup(app: web.Application) -> None:
    app.cleanup_ctx.extend(CLEANUP_CONTEXTS)
    app.on_shutdown.append(end_streams)
