"""The BitTorrent engine: one libtorrent session, alerts bridged into asyncio, async piece readers."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from hypertube.events import EVENTS, movie_room
from hypertube.keys import HTTP, POOL, SETTINGS
from hypertube.torrent.demo import DemoSwarm, default_generator
from hypertube.torrent.download import Download
from hypertube.torrent.engine import Engine
from hypertube.torrent.errors import (
    BadTorrent,
    MetadataTimeout,
    NoTorrent,
    NoVideo,
    PeersTimeout,
    TorrentError,
    TorrentUnreachable,
)
from hypertube.torrent.files import TorrentFile, pick_main_file
from hypertube.torrent.reader import PieceSource, SyncReader, TorrentReader
from hypertube.torrent.window import PieceWindow

TORRENTS = web.AppKey("torrents", Engine)
DEMO = web.AppKey("torrent_demo", DemoSwarm)

__all__ = [
    "DEMO",
    "TORRENTS",
    "BadTorrent",
    "Download",
    "Engine",
    "MetadataTimeout",
    "NoTorrent",
    "NoVideo",
    "PeersTimeout",
    "PieceSource",
    "PieceWindow",
    "SyncReader",
    "TorrentError",
    "TorrentFile",
    "TorrentReader",
    "TorrentUnreachable",
    "pick_main_file",
    "torrent_demo",
    "torrent_engine",
    "torrent_janitor",
]


async def torrent_engine(app: web.Application):
    """Cleanup context: opens the process's torrent session, saves resume data when closing."""
    settings = app[SETTINGS]
    events = app[EVENTS]

    async def publish(movie_id: int, payload: dict) -> None:
        await events.publish("download:progress", payload, room=movie_room(movie_id))

    engine = Engine(settings.download_dir, app[POOL], app[HTTP], port=settings.torrent_port, publish=publish)
    await engine.start()
    app[TORRENTS] = engine

    async def on_event(event: str, payload: dict, room: str | None) -> None:
        if event == "movie:opened":
            engine.warm(int(payload["movie_id"]))

    events.subscribe(on_event)
    try:
        yield
    finally:
        events.unsubscribe(on_event)
        await engine.close()


async def torrent_janitor(app: web.Application):
    """Cleanup context: the janitor that deletes unwatched films and keeps the disk quota."""
    from hypertube.torrent.storage import janitor_loop

    settings = app[SETTINGS]
    events = app[EVENTS]

    async def removed(movie_id: int) -> None:
        await events.publish("download:deleted", {"movie_id": movie_id})

    task = asyncio.create_task(
        janitor_loop(app[TORRENTS], app[POOL], settings.unwatched_days, settings.disk_quota_gb, removed),
        name="torrent-janitor",
    )
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def torrent_demo(app: web.Application):
    """Cleanup context (with `--demo`): generates the demo films in the background, seeds them on
    loopback and writes the manifest the catalog reads; the server answers meanwhile."""
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
            logging.getLogger(__name__).exception("the demo films could not be prepared")
            return
        if swarm.seeder is not None:
            engine.local_peers.append(("127.0.0.1", swarm.seeder.port))

    task = asyncio.create_task(prepare(), name="torrent-demo")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    swarm.stop()
