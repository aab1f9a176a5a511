"""Where a film's torrent comes from: its candidate rows, a magnet link or a fetched `.torrent` file,
turned into libtorrent add params."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import asyncpg
import libtorrent as lt

from hypertube.netfetch import FetchPolicy, FetchRefused, fetch
from hypertube.torrent.errors import BadTorrent, TorrentUnreachable

MAX_TORRENT_FILE = 8 * 1024 * 1024  # a .torrent larger than this is refused
UNREACHABLE = "The film's .torrent file could not be fetched."


async def candidates(pool: asyncpg.Pool, movie_id: int) -> list[asyncpg.Record]:
    """The film's torrents, best first: one already downloaded, then the most seeded."""
    return await pool.fetch(
        """SELECT t.id, t.info_hash, t.magnet, t.torrent_url
           FROM torrents t LEFT JOIN downloads d ON d.info_hash = t.info_hash
           WHERE t.movie_id = $1
           ORDER BY (d.info_hash IS NOT NULL) DESC, t.seeders DESC, t.id""",
        movie_id,
    )


async def params_for(magnet: str | None, torrent_url: str | None, policy: FetchPolicy) -> tuple[Any, str]:
    """Add params from the magnet, else from the fetched .torrent file; and the source used."""
    if magnet:
        try:
            params = lt.parse_magnet_uri(magnet)
        except RuntimeError:
            params = None
        if params is None or params.info_hashes.v1.is_all_zeros():
            raise BadTorrent("This film's magnet link is not valid.")
        return params, magnet
    if not torrent_url or urlparse(torrent_url).scheme not in ("http", "https"):
        raise BadTorrent("This film's torrent link is not valid.")
    data = await fetch_torrent(torrent_url, policy)
    try:
        ti = lt.torrent_info(lt.bdecode(data)) if data else None  # type: ignore[arg-type]
    except (RuntimeError, TypeError, ValueError):
        ti = None
    if ti is None or not ti.is_valid():
        raise BadTorrent("This film's .torrent file is not valid.")
    params = lt.add_torrent_params()
    params.ti = ti
    return params, torrent_url


async def fetch_torrent(url: str, policy: FetchPolicy) -> bytes:
    """The .torrent file at `url` (an upstream chose it: public addresses only, unless allowed)."""
    try:
        got = await fetch(url, policy)
    except FetchRefused:
        raise TorrentUnreachable(UNREACHABLE) from None
    if got.status != 200:
        # The address passed the checks, so its answer says nothing about what is behind this server.
        raise TorrentUnreachable(f"The film's .torrent file could not be fetched (HTTP {got.status}).")
    return got.body


def info_hash_of(params: Any) -> str:
    """The v1 info hash, from the metadata when the params carry it, else from the magnet."""
    return str(params.info_hashes.v1) if params.ti is None else str(params.ti.info_hashes().v1)


def prepared(params: Any) -> Any:
    """The params as the engine adds them: neither paused nor queued, and in upload mode until the
    metadata is in and the piece priorities are set (`Download.on_metadata`): with libtorrent's default
    priorities a magnet would start asking the seeder for random pieces the moment its metadata
    arrives, and the player's first piece would queue behind them."""
    params.flags &= ~lt.torrent_flags.paused
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags |= lt.torrent_flags.upload_mode
    return params


def peer_hints(source: str, local_peers: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Peers to try at once: the magnet's `x.pe` hints, then the local ones (the demo seeder)."""
    hints = []
    if source.startswith("magnet:"):
        for value in parse_qs(urlparse(source).query).get("x.pe", []):
            host, _, port = value.rpartition(":")
            if host and port.isascii() and port.isdigit():
                hints.append((host.strip("[]"), int(port)))
    return list(dict.fromkeys(hints + local_peers))
