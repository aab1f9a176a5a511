"""Which of a film's torrents it plays from: its rows in order (see `sources.candidates`); a torrent
whose metadata has not come in time gives way to the film's next one."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import asyncpg

from hypertube.netfetch import FetchPolicy
from hypertube.torrent import records, sources
from hypertube.torrent.download import Download
from hypertube.torrent.errors import MetadataTimeout, NoTorrent, TorrentError

log = logging.getLogger(__name__)

# A film's torrent whose metadata has not come this long is dropped for the film's next torrent.
CANDIDATE_WAIT_S = 10.0
METADATA_LATE = "No peer sent this film's torrent information in time. Try again later."


class Films(Protocol):
    """What choosing a film's torrent, and moving between its copies, use of the engine: its
    downloads (by info hash) and the copy each film plays from."""

    downloads: dict[str, Download]
    pool: asyncpg.Pool
    node_id: str
    trackers: tuple[str, ...]
    metadata_timeout: float  # seconds a torrent's metadata may take
    candidate_wait: float  # seconds the metadata of a torrent that is not the film's last may take

    def torrent_fetch_policy(self) -> FetchPolicy: ...

    def current_copy(self, movie_id: int) -> str | None: ...

    def play_from(self, movie_id: int, info_hash: str) -> None: ...

    async def add_origin(
        self, origin: sources.Origin, info_hash: str, movie_id: int, warm: bool, *, play: bool = True
    ) -> Download: ...

    def discard(self, dl: Download, reason: str) -> None: ...


async def download_to_play(films: Films, movie_id: int, *, warm: bool = False) -> Download:
    """The download of the film's first torrent that can be used: a running one, or one added now
    (recorded unless `warm`). Raises `NoTorrent`, or the first row's error when none can be used."""
    rows = await sources.candidates(films.pool, movie_id, films.node_id)
    if not rows:
        raise NoTorrent("This film has no torrent to play.")
    error: TorrentError | None = None
    for number, row in enumerate(rows, 1):
        try:
            origin = await sources.origin_of(
                row["magnet"], row["torrent_url"], films.torrent_fetch_policy(), films.trackers
            )
        except TorrentError as exc:
            error = error or exc
            continue
        info_hash = sources.info_hash_of(origin.params)
        existing = films.downloads.get(info_hash)
        if existing is not None:
            if origin.late is not None:
                origin.late.cancel()  # the running download has its trackers already
            films.play_from(movie_id, info_hash)
            return existing
        dl = await films.add_origin(origin, info_hash, movie_id, warm)
        if number < len(rows) and not await _starts(films, dl):
            error = error or MetadataTimeout(METADATA_LATE)
            continue
        if not warm:
            await records.record(films.pool, dl, origin.source)
        return dl
    assert error is not None
    raise error


async def _starts(films: Films, dl: Download) -> bool:
    """Whether a torrent that is not the film's last one gets its metadata within
    `candidate_wait`; if not, it is dropped (nothing was downloaded) and the next one is tried."""
    try:
        await asyncio.wait_for(dl.metadata.wait(), films.candidate_wait)
    except TimeoutError:
        log.info("film %s: no metadata for %s in time, trying its next torrent", dl.movie_id, dl.info_hash)
        films.discard(dl, "The film's next torrent is tried.")
        return False
    return True
