"""The BitTorrent engine: one libtorrent session, alerts bridged into asyncio, async piece readers."""

from __future__ import annotations

from hypertube.torrent.demo import DemoSwarm
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

__all__ = [
    "BadTorrent",
    "DemoSwarm",
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
]
