"""Films the way a user meets them, on loopback: a fake YTS and Internet Archive (their real answer
shapes) whose `.torrent` files name an HTTP tracker that hands out a capped seeder; shared by tests and
benchmarks."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from hypertube.torrent.seeder import PIECE_SIZE, Seeder, make_torrent
from hypertube.torrent.tracker import Tracker
from tests.fixtures.catalog import FakeUpstreams, archive_doc, archive_metadata, yts_movie

CARD = re.compile(r'data-movie-id="(\d+)".*?movie-card-title">([^<]+)<', re.S)


def library_cards(html: str) -> dict[str, int]:
    """The films a library page shows: {title: movie id}."""
    return {title.strip(): int(movie_id) for movie_id, title in CARD.findall(html)}


@dataclass
class Film:
    """A film published by the fake sources: its torrent, what the sources say about it."""

    title: str
    info_hash: str
    torrent_file: Path
    content: Path  # the seeded file or folder
    seeder: Seeder | None = None  # the seeder it was published with (None: not seeded)


class SourceSwarm:
    """Fake YTS and Internet Archive APIs, the `.torrent` files and web seeds they point to, and the
    tracker those torrents name, on one loopback server; `seeder` seeds every published film."""

    def __init__(self, folder: Path, seeder: Seeder):
        self.folder = folder
        self.seeder = seeder
        self.upstreams = FakeUpstreams()
        self.tracker = Tracker()
        self.torrents: dict[str, Path] = {}  # YTS info hash (upper case) -> .torrent
        self.archive: dict[str, Film] = {}  # identifier -> film
        self.torrent_hits: dict[str, int] = {}
        self.torrent_delay = 0.0  # seconds before a `.torrent` file is sent (a slow upstream)
        # Archive items whose `_archive.torrent` is broken: identifier -> (body, or None for a 404;
        # seconds before it is sent).
        self.broken_torrents: dict[str, tuple[bytes | None, float]] = {}
        self._runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return self.upstreams.base

    @property
    def announce_url(self) -> str:
        return f"{self.base}/announce"

    def settings(self, *sources: str, timeout: float = 2.0) -> dict:
        """Settings pointing the catalog at the fake sources; the engine adds the tracker to magnets
        (as a user would add a public tracker that knows the swarm)."""
        return {
            **self.upstreams.settings(*sources, timeout=timeout),
            "torrent_trackers": (self.announce_url,),
        }

    def environment(self) -> dict[str, str]:
        """The same settings as environment variables, for a server run as its own process."""
        return {
            "HYPERTUBE_SOURCES": "yts,archive",
            "HYPERTUBE_YTS_URL": self.upstreams.url("yts"),
            "HYPERTUBE_ARCHIVE_URL": self.upstreams.url("archive"),
            "HYPERTUBE_TORRENT_TRACKERS": self.announce_url,
            "HYPERTUBE_FETCH_ALLOWED_HOSTS": "127.0.0.1",
        }

    async def start(self) -> SourceSwarm:
        app = web.Application()
        fake = self.upstreams
        routes = {
            "/yts/api/v2/list_movies.json": fake.yts_list,
            "/yts/api/v2/movie_details.json": fake.yts_details,
            "/yts/torrent/download/{info_hash}": self._yts_torrent,
            "/archive/advancedsearch.php": fake.archive_search,
            "/archive/metadata/{identifier}": fake.archive_metadata,
            "/archive/download/{identifier}/{name:.+}": self._archive_file,
            "/announce": self.tracker.announce,
        }
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        # A slow answer still being sent at the end (a `.torrent` that never comes) is cut, not awaited.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        fake.base = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _seed(
        self,
        content: Path,
        name: str,
        web_seeds: tuple[str, ...] = (),
        piece_size: int = PIECE_SIZE,
        seeder: Seeder | None = None,
    ) -> Film:
        """Makes the torrent (naming the tracker) and seeds it from `seeder`, else `self.seeder` (which
        a benchmark changes between films); blocking: hashing a 30 MB film takes a fraction of a second."""
        torrent_file = self.folder / f"{name}.torrent"
        info_hash = make_torrent(
            content,
            torrent_file,
            piece_size=piece_size,
            trackers=(self.announce_url,),
            web_seeds=web_seeds,
        )
        seeder = seeder or self.seeder
        seeder.add(torrent_file, content.parent)
        return Film(name, info_hash, torrent_file, content, seeder)

    def publish_yts(
        self,
        movie_id: int,
        title: str,
        content: Path,
        *,
        torrent_url: bool = True,
        piece_size: int = PIECE_SIZE,
        seeder: Seeder | None = None,
    ) -> Film:
        """A YTS film: its info hash (the magnet) and, unless `torrent_url` is false, its `.torrent` URL;
        a small `piece_size` spreads a small film over many pieces; `seeder` seeds it instead of
        `self.seeder`."""
        film = self._seed(content, f"yts-{movie_id}", piece_size=piece_size, seeder=seeder)
        film.title = title
        movie = yts_movie(movie_id, title, info_hash=film.info_hash.upper())
        [torrent] = movie["torrents"]
        if torrent_url:
            torrent["url"] = f"{self.base}/yts/torrent/download/{film.info_hash.upper()}"
            self.torrents[film.info_hash.upper()] = film.torrent_file
        else:
            del torrent["url"]
        self.upstreams.yts_movies.append(movie)
        return film

    def publish_yts_copies(
        self,
        movie_id: int,
        title: str,
        copies: dict[str, Path],
        *,
        piece_size: int = PIECE_SIZE,
        seeder: Seeder | None = None,
    ) -> list[Film]:
        """A YTS film with one torrent per quality (`{"1080p": file, "720p": file}`, in the order
        given), each listed with its real size and `.torrent` URL, all seeded by `seeder`."""
        films = [
            self._seed(content, f"yts-{movie_id}-{quality}", piece_size=piece_size, seeder=seeder)
            for quality, content in copies.items()
        ]
        movie = yts_movie(movie_id, title, info_hash=films[0].info_hash.upper())
        [template] = movie["torrents"]
        movie["torrents"] = []
        for (quality, content), film in zip(copies.items(), films, strict=True):
            film.title = title
            info_hash = film.info_hash.upper()
            size = content.stat().st_size
            movie["torrents"].append(
                template
                | {
                    "hash": info_hash,
                    "quality": quality,
                    "url": f"{self.base}/yts/torrent/download/{info_hash}",
                    "size": f"{size / 2**20:.2f} MB",
                    "size_bytes": size,
                }
            )
            self.torrents[info_hash] = film.torrent_file
        self.upstreams.yts_movies.append(movie)
        return films

    def publish_archive(self, identifier: str, title: str, content: Path, *, web_seed: bool = False) -> Film:
        """An Archive item: a folder named after it, its `_archive.torrent` (no info hash in the
        metadata, so the `.torrent` is the only way in) and, with `web_seed`, the Archive's download
        URL as the torrent's web seed."""
        seeds = (f"{self.base}/archive/download/",) if web_seed else ()
        film = self._seed(content, identifier, seeds)
        film.title = title
        self.archive[identifier] = film
        doc = archive_doc(identifier, title)
        self.upstreams.archive_docs.append(doc)
        self.upstreams.archive_meta[identifier] = archive_metadata(doc, btih=None)
        return film

    def publish_archive_broken(
        self, identifier: str, title: str, body: bytes | None, *, delay: float = 0.0
    ) -> None:
        """An Archive item whose `_archive.torrent` answers 404 (`body` None) or `body` (an HTML page, a
        truncated file), after `delay` seconds."""
        self.broken_torrents[identifier] = (body, delay)
        doc = archive_doc(identifier, title)
        self.upstreams.archive_docs.append(doc)
        self.upstreams.archive_meta[identifier] = archive_metadata(doc, btih=None)

    async def _yts_torrent(self, request: web.Request) -> web.StreamResponse:
        info_hash = request.match_info["info_hash"].upper()
        return await self._torrent_file(info_hash, self.torrents.get(info_hash))

    async def _archive_file(self, request: web.Request) -> web.StreamResponse:
        """The item's `_archive.torrent`, or one of its files (what a web seed asks for, by range)."""
        identifier, name = request.match_info["identifier"], request.match_info["name"]
        if identifier in self.broken_torrents:
            body, delay = self.broken_torrents[identifier]
            self.torrent_hits[identifier] = self.torrent_hits.get(identifier, 0) + 1
            await asyncio.sleep(delay)
            if body is None:
                raise web.HTTPNotFound()
            return web.Response(body=body, content_type="text/html")
        film = self.archive.get(identifier)
        if film is None:
            raise web.HTTPNotFound()
        if name == f"{identifier}_archive.torrent":
            return await self._torrent_file(identifier, film.torrent_file)
        path = (film.content / name).resolve()
        if film.content.resolve() not in path.parents or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    async def _torrent_file(self, key: str, path: Path | None) -> web.StreamResponse:
        """A `.torrent` file the sources point to, counted in `torrent_hits[key]`."""
        self.torrent_hits[key] = self.torrent_hits.get(key, 0) + 1
        await asyncio.sleep(self.torrent_delay)
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Content-Type": "application/x-bittorrent"})
