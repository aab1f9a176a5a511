"""Where a film's torrent comes from: its candidate rows, a magnet link or a fetched `.torrent` file,
turned into libtorrent add params."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import asyncpg
import libtorrent as lt

from hypertube.netfetch import FetchPolicy, FetchRefused, fetch
from hypertube.torrent.errors import BadTorrent, TorrentError, TorrentUnreachable

log = logging.getLogger(__name__)

MAX_TORRENT_FILE = 8 * 1024 * 1024  # a .torrent larger than this is refused
UNREACHABLE = "The film's .torrent file could not be fetched."
# With a magnet to go on, the .torrent file is waited for this long; later, its metadata, trackers and
# web seeds still join the running download.
TORRENT_FILE_WAIT = 2.0


async def candidates(pool: asyncpg.Pool, movie_id: int, node_id: str = "") -> list[asyncpg.Record]:
    """The film's torrents, best first: one node `node_id` downloaded already, then the most seeded."""
    return await pool.fetch(
        """SELECT t.id, t.info_hash, t.magnet, t.torrent_url FROM torrents t
           WHERE t.movie_id = $1
           ORDER BY EXISTS (SELECT 1 FROM downloads d WHERE d.info_hash = t.info_hash AND d.node_id = $2) DESC,
                    t.seeders DESC, t.id""",
        movie_id,
        node_id,
    )


@dataclass
class Origin:
    """What a torrent row gives: add params, the source recorded (the magnet, else the URL), and the
    `.torrent` file when it is still on its way (its trackers and web seeds join later)."""

    params: Any
    source: str
    late: asyncio.Task[Any] | None = None


async def origin_of(
    magnet: str | None,
    torrent_url: str | None,
    policy: FetchPolicy,
    trackers: tuple[str, ...] = (),
) -> Origin:
    """Add params from everything the row gives, and the engine's own `trackers`. The `.torrent` file
    is fetched while the magnet is parsed: its info dictionary spares the metadata exchange, its
    trackers and web seeds join the magnet's. If it is not here within `TORRENT_FILE_WAIT`, the
    magnet goes on alone."""
    fetch = None
    if torrent_url and urlparse(torrent_url).scheme in ("http", "https"):
        fetch = asyncio.ensure_future(file_params(torrent_url, policy))
    elif not magnet:
        raise BadTorrent("This film's torrent link is not valid.")
    params = magnet_params(magnet) if magnet else None
    if params is None and fetch is None:
        raise BadTorrent("This film's magnet link is not valid.")
    if params is None:
        assert fetch is not None and torrent_url is not None
        return Origin(merged(await fetch, None, trackers), torrent_url)
    assert magnet is not None
    origin = Origin(merged(params, None, trackers), magnet)
    if fetch is not None:
        done, _ = await asyncio.wait({fetch}, timeout=TORRENT_FILE_WAIT)
        if not done:
            origin.late = fetch
        elif (found := _usable(fetch, params)) is not None:
            origin.params = merged(params, found, trackers)
    return origin


def magnet_params(magnet: str) -> Any | None:
    try:
        params = lt.parse_magnet_uri(magnet)
    except RuntimeError:
        return None
    return None if params.info_hashes.v1.is_all_zeros() else params


def merged(params: Any, torrent_file: Any | None, trackers: tuple[str, ...]) -> Any:
    """`params` with the `.torrent` file's metadata, trackers and web seeds, then `trackers`."""
    urls = [*params.trackers]
    if torrent_file is not None:
        params.ti = torrent_file.ti
        urls += torrent_file.trackers
        params.url_seeds = list(dict.fromkeys([*params.url_seeds, *torrent_file.url_seeds]))
    params.trackers = list(dict.fromkeys([*urls, *trackers]))
    return params


def _usable(fetch: asyncio.Future[Any], params: Any) -> Any | None:
    """The fetched `.torrent` file if it came and is the magnet's torrent; a failure leaves the magnet alone."""
    if fetch.cancelled() or fetch.exception() is not None:
        log.info("the .torrent file did not come: %s", fetch.exception() if not fetch.cancelled() else "")
        return None
    found = fetch.result()
    if str(found.ti.info_hashes().v1) != str(params.info_hashes.v1):
        log.warning("the .torrent file is not the magnet's torrent (%s)", found.ti.info_hashes().v1)
        return None
    return found


async def join_late(handle: lt.torrent_handle, fetch: asyncio.Task[Any]) -> None:
    """Adds a `.torrent` file that came after its magnet was added: its info dictionary, unless the
    peers sent it first (libtorrent checks it against the info hash and says so with a
    `metadata_received_alert`, as for metadata from peers), then its trackers and web seeds."""
    try:
        torrent_file = await fetch
    except TorrentError as exc:
        log.info("the .torrent file did not come: %s", exc.message)
        return
    if not handle.is_valid() or str(torrent_file.ti.info_hashes().v1) != str(handle.info_hashes().v1):
        return
    if not handle.status().has_metadata:
        handle.set_metadata(bytes(torrent_file.ti.info_section()))
    for url in torrent_file.trackers:
        handle.add_tracker({"url": url})
    for url in torrent_file.url_seeds:
        handle.add_url_seed(url)


async def file_params(url: str, policy: FetchPolicy) -> Any:
    """A fetched `.torrent` file as add params: its metadata, trackers and web seeds."""
    data = await fetch_torrent(url, policy)
    try:
        params = lt.load_torrent_buffer(data) if data else None
    except (RuntimeError, TypeError, ValueError):
        params = None
    if params is None or params.ti is None or not params.ti.is_valid():
        raise BadTorrent("This film's .torrent file is not valid.")
    return params


async def params_of_source(source: str, policy: FetchPolicy, trackers: tuple[str, ...] = ()) -> Any:
    """Add params from a download's recorded source: its magnet, else its .torrent URL."""
    magnet = source.startswith("magnet:")
    origin = await origin_of(source if magnet else None, None if magnet else source, policy, trackers)
    return origin.params  # one of the two only: nothing arrives late


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


def peer_hints(source: str) -> list[tuple[str, int]]:
    """Peers to try at once and again when no peer is left: a magnet's `x.pe` hints (host, port)."""
    hints = []
    if source.startswith("magnet:"):
        for value in parse_qs(urlparse(source).query).get("x.pe", []):
            host, _, port = value.rpartition(":")
            if host and port.isascii() and port.isdigit():
                hints.append((host.strip("[]"), int(port)))
    return list(dict.fromkeys(hints))
