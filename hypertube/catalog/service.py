"""The catalog as the pages use it: search stored films, ask the sources when the local index is thin,
fetch a film's details on first view, and say which sources are unavailable."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from hypertube.background import BackgroundTasks
from hypertube.cache import Cache
from hypertube.catalog.artwork import Artwork
from hypertube.catalog.enrich import OmdbEnricher, TmdbEnricher
from hypertube.catalog.fetch import JsonFetcher
from hypertube.catalog.records import FilmDetails, FilmRecord, Source, SourceUnavailable
from hypertube.catalog.search import LibraryQuery, Page, local_count, search_page
from hypertube.catalog.sources.demo import DemoSource
from hypertube.catalog.store import store_details, store_records
from hypertube.i18n import N_, gettext

log = logging.getLogger(__name__)
THIN = 12  # fewer stored matches than this and the sources are asked
REFRESH_TTL = 600  # the same search asks the sources again after this long
MAX_SOURCE_PAGES = 10  # pages asked from each source per search while scrolling
HOT_TTL = 20  # first pages of searches are kept this long (cleared when new films are stored)
DETAILS_RETRY = 300
SOURCE_TIMEOUT = 4.0
# Names of sources that may have stored films even when they are no longer enabled.
KNOWN_LABELS = {"yts": "YTS", "archive": "Internet Archive", "demo": N_("Demo films")}


@dataclass
class Asked:
    """What asking the sources for one search gave: labels of those still answering, and of those that
    could not answer it."""

    searching: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)


@dataclass
class LibraryResult:
    page: Page
    unavailable: list[str] = field(default_factory=list)
    searching: list[str] = field(default_factory=list)


class Catalog:
    def __init__(
        self,
        pool: asyncpg.Pool,
        cache: Cache,
        fetcher: JsonFetcher,
        sources: list[Source],
        enrichers: list[TmdbEnricher | OmdbEnricher],
        wait: float,
        artwork: Artwork,
    ):
        self.pool = pool
        self.cache = cache
        self.fetcher = fetcher
        self.sources = sources
        self.enrichers = enrichers
        self.wait = wait
        self.artwork = artwork
        self._requests = BackgroundTasks()  # source requests, awaited by `settle`
        self._watchers = BackgroundTasks()  # run until the catalog closes
        self._inflight: dict[str, asyncio.Future] = {}
        self.generation = 0
        self.demo_pending = False  # with --demo: the demo films are not in the library yet

    async def close(self) -> None:
        await self._requests.close()
        await self._watchers.close()
        await self.artwork.close()

    def start(self) -> None:
        """Starts the background work: the covers of the library's first page are made ahead, and the
        demo films stored as soon as their manifest appears."""
        self._watchers.start(self.prefetch_first_page())
        demo = next((s for s in self.sources if isinstance(s, DemoSource)), None)
        if demo is not None:
            self.demo_pending = True
            self._watchers.start(self._follow_demo(demo))

    async def prefetch_first_page(self) -> None:
        """Makes the covers of the library's first page (no search, default order) ahead."""
        try:
            page = await search_page(self.pool, LibraryQuery(), None)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("covers not made ahead: %s", exc)
            return
        self.artwork.prefetch("cover", (m["cover_url"] for m in page.movies))

    async def _follow_demo(self, demo: DemoSource, interval: float = 1.0) -> None:
        # The demo seeder writes its manifest while the server starts; store the films when it does
        # (and again whenever it changes) so they are in the library without waiting for a search.
        seen: float | None = None
        while True:
            version = demo.version()
            if version is not None and version != seen:
                seen = version
                try:
                    records = await demo.all()
                    if records:
                        await store_records(self.pool, records)
                        self.generation += 1
                        self.demo_pending = False
                        await self.prefetch_first_page()
                except Exception:
                    log.exception("storing the demo films failed")
            await asyncio.sleep(interval)

    async def settle(self) -> None:
        """Waits for the source requests still running in the background."""
        await self._requests.settle()

    def _spawn(self, coro: Any) -> asyncio.Future:
        return self._requests.start(coro)

    def label(self, name: str) -> str:
        """The source's name for people, in the language of the current request."""
        labels = {**KNOWN_LABELS, **{s.name: s.label for s in [*self.sources, *self.enrichers]}}
        return gettext(labels.get(name, name))

    # -- search -------------------------------------------------------------------------------

    async def library(self, query: LibraryQuery, after: tuple[Any, int] | None = None) -> LibraryResult:
        asked = Asked()
        if after is None and self.sources:
            asked = await self._refresh_if_thin(query)
        hot_key = f"hot:{self.generation}:{query.cache_key()}:{after!r}"
        cached = await self.cache.get(hot_key) if not asked.searching else None
        if isinstance(cached, str):
            hot = orjson.loads(cached)
            page = Page(hot["movies"], hot["next"])
        else:
            page = await search_page(self.pool, query, after)
            if after is None:  # its covers are asked for next: made while the page travels
                self.artwork.prefetch("cover", (m["cover_url"] for m in page.movies))
            if page.next_cursor is None and after is not None and self.sources:
                # The stored films run out while scrolling: ask the sources for their next page.
                asked = await self._ask_pages(query, more=True)
                page = await search_page(self.pool, query, after)
            if not asked.searching:
                # Kept as one JSON string: thousands of cached pages of small dicts would otherwise be
                # walked by every full garbage collection (pauses of 100+ ms for every request).
                hot = orjson.dumps({"movies": page.movies, "next": page.next_cursor}).decode()
                await self.cache.set(hot_key, hot, HOT_TTL)
        return LibraryResult(page, asked.unavailable, asked.searching)

    async def _refresh_if_thin(self, query: LibraryQuery) -> Asked:
        """Asks the sources for this search when few films match locally."""
        if await self.cache.get(self._first_pages_done_key(query)) is not None:
            return Asked()
        if await local_count(self.pool, query, THIN) >= THIN:
            await self.cache.set(self._first_pages_done_key(query), 1, REFRESH_TTL)
            return Asked()
        return await self._ask_pages(query, more=False)

    def _first_pages_done_key(self, query: LibraryQuery) -> str:
        # Set while this search needs no first page from the sources: enough films match locally, or
        # every source has answered it.
        return "asked:" + query.cache_key()

    def _pages_key(self, source: Source, query: LibraryQuery) -> str:
        # The last page each source answered for this search; a failure leaves it as it was.
        return f"asked:{source.name}:{query.cache_key()}"

    async def _ask_pages(self, query: LibraryQuery, *, more: bool) -> Asked:
        """Asks every source for the next page of this search it has not answered yet (page 1 first);
        waits a bounded time and lets slow sources finish in the background."""
        answered = await asyncio.gather(*(self.cache.get(self._pages_key(s, query)) for s in self.sources))
        wanted: list[tuple[Source, int]] = []
        for source, last in zip(self.sources, answered, strict=True):
            last = last if isinstance(last, int) else 0
            if (more or not last) and last < MAX_SOURCE_PAGES:
                wanted.append((source, last + 1))
        if not more and not wanted:
            # Every source has answered this search: no need to count the local matches again for a while.
            await self.cache.set(self._first_pages_done_key(query), 1, REFRESH_TTL)
        # A source that could not be reached a moment ago is left alone until its short note expires,
        # so that pages stay fast while it is down; this search shows it as unavailable and asks it
        # again once the note is gone.
        problems = await asyncio.gather(*(self.fetcher.problem(s.name) for s, _ in wanted))
        asked = Asked(
            unavailable=[self.label(s.name) for (s, _), p in zip(wanted, problems, strict=True) if p]
        )
        healthy = [(s, page) for (s, page), p in zip(wanted, problems, strict=True) if not p]
        if not healthy:
            return asked
        # Claimed before asking, so that the same search made meanwhile does not ask twice.
        await asyncio.gather(*(self.cache.set(self._pages_key(s, query), p, REFRESH_TTL) for s, p in healthy))
        tasks = {s.name: self._spawn(self._ask(s, query, page)) for s, page in healthy}
        done, pending = await asyncio.wait(tasks.values(), timeout=self.wait)
        asked.searching = [self.label(name) for name, t in tasks.items() if t in pending]
        asked.unavailable += [self.label(name) for name, t in tasks.items() if t in done and not t.result()]
        return asked

    async def _ask(self, source: Source, query: LibraryQuery, page: int) -> bool:
        """Stores what the source answers for this page; False when it failed (or only a copy kept
        from an earlier answer came back), and then the page is asked again next time."""
        try:
            records = await source.search(query.q, page, query.filters)
        except SourceUnavailable as exc:
            log.warning("source %s", exc)
            records, answered = [], False
        except Exception:
            log.exception("source %s failed", source.name)
            records, answered = [], False
        else:
            answered = await self.fetcher.problem(source.name) is None
        if records:
            await store_records(self.pool, records)
            self.generation += 1  # new films: earlier cached pages are out of date
        if not answered:
            key = self._pages_key(source, query)
            await (self.cache.set(key, page - 1, REFRESH_TTL) if page > 1 else self.cache.delete(key))
        return answered

    # -- one film -----------------------------------------------------------------------------

    async def movie(self, movie_id: int) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(
            """SELECT id, imdb_id, title, year, rating, runtime, genres, summary, director, producer,
                      cast_members, cover_url, backdrop_url, language, popularity, details_at
               FROM movies WHERE id = $1""",
            movie_id,
        )
        return dict(row) if row else None

    async def torrents(self, movie_id: int) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            """SELECT id, source, quality, size_bytes, seeders, leechers, info_hash, magnet, torrent_url
               FROM torrents WHERE movie_id = $1 ORDER BY seeders DESC, id""",
            movie_id,
        )
        return [dict(r) for r in rows]

    async def ensure_details(self, movie: dict[str, Any]) -> list[str]:
        """Fetches cast and torrents from the film's sources (and enrichment) on first view.
        Returns the labels of the sources that could not answer."""
        if movie["details_at"] is not None:
            return []
        movie_id = movie["id"]
        key = f"details:{movie_id}"
        if await self.cache.get(key) is not None:
            return []
        task = self._inflight.get(key)
        if task is None:
            task = self._spawn(self._fetch_details(movie))
            self._inflight[key] = task
            task.add_done_callback(lambda _: self._inflight.pop(key, None))
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout=self.wait)
        except TimeoutError:
            return []

    async def _fetch_details(self, movie: dict[str, Any]) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT source, external_id FROM movie_sources WHERE movie_id = $1", movie["id"]
        )
        by_name = {s.name: s for s in self.sources}
        asked = [(by_name[r["source"]], r["external_id"]) for r in rows if r["source"] in by_name]
        failed: list[str] = []
        answers = await asyncio.gather(*(s.details(ext) for s, ext in asked), return_exceptions=True)
        records: list[FilmRecord] = []
        for (source, _), answer in zip(asked, answers, strict=True):
            if isinstance(answer, FilmRecord):
                records.append(answer)
            elif isinstance(answer, BaseException):
                if not isinstance(answer, SourceUnavailable):
                    log.error("details from %s failed", source.name, exc_info=answer)
                failed.append(self.label(source.name))
        imdb_id = movie["imdb_id"] or next((r.imdb_id for r in records if r.imdb_id), None)
        extra: FilmDetails | None = None
        if imdb_id and self.enrichers:
            found = await asyncio.gather(*(e.enrich(imdb_id) for e in self.enrichers), return_exceptions=True)
            for enricher, got in zip(self.enrichers, found, strict=True):
                if isinstance(got, FilmDetails):
                    if extra is None:
                        extra = got
                    else:
                        extra.merge(got)
                elif isinstance(got, BaseException):
                    if not isinstance(got, SourceUnavailable):
                        log.error("enrichment from %s failed", enricher.name, exc_info=got)
                    failed.append(self.label(enricher.name))
        await store_details(self.pool, movie["id"], records, extra, done=not failed)
        if failed:
            # Keep what was found; try again later instead of on every view.
            await self.cache.set(f"details:{movie['id']}", 1, DETAILS_RETRY)
        return failed


def build_catalog(pool: asyncpg.Pool, cache: Cache, session: Any, settings: Any) -> Catalog:
    """The catalog with the sources and enrichers the settings ask for."""
    from hypertube.catalog.sources import build_sources

    timeout = source_timeout(settings)
    fetcher = JsonFetcher(session, cache, timeout=timeout)
    enrichers: list[TmdbEnricher | OmdbEnricher] = []
    if settings.tmdb_key:
        enrichers.append(TmdbEnricher(fetcher, settings.tmdb_url, settings.tmdb_key))
    if settings.omdb_key:
        enrichers.append(OmdbEnricher(fetcher, settings.omdb_url, settings.omdb_key))
    sources = build_sources(settings, fetcher, cache)
    demo = next((s for s in sources if isinstance(s, DemoSource)), None)
    artwork = Artwork(
        settings.data_dir / "images",
        settings.secret_key,
        cache,
        settings.fetch_allowed_hosts,
        read_local=demo.poster if demo is not None else None,
    )
    return Catalog(pool, cache, fetcher, sources, enrichers, wait=timeout + 0.5, artwork=artwork)


def source_timeout(settings: Any) -> float:
    """Seconds one request to a source may take (`extra["source_timeout"]` overrides, for tests)."""
    try:
        value = float(settings.extra.get("source_timeout", SOURCE_TIMEOUT))
    except (TypeError, ValueError):
        value = SOURCE_TIMEOUT
    return value if 0 < value <= 60 else SOURCE_TIMEOUT
