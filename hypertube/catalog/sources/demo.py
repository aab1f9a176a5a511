"""The demo films generated and seeded locally by `hypertube serve --demo`, read from their manifest."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import orjson

from hypertube.catalog.records import (
    FilmRecord,
    SearchFilters,
    TorrentRecord,
    as_float,
    as_hash,
    as_int,
    as_list,
    as_text,
    as_year,
    parse_size,
)
from hypertube.i18n import N_

log = logging.getLogger(__name__)
# Demo films are the ones that play on a machine without internet: show them first when browsing.
DEMO_POPULARITY = 1_000_000.0
# The address of a demo film's poster, made from one of its own frames (see `poster`).
FRAME_PREFIX = "demo-frame:"


class DemoSource:
    name = "demo"
    label = N_("Demo films")

    def __init__(self, manifest: Path):
        self.manifest = manifest

    async def _load(self) -> list[FilmRecord]:
        try:
            raw = await asyncio.to_thread(self.manifest.read_bytes)
        except OSError:
            return []
        try:
            items = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("demo manifest %s is not JSON", self.manifest)
            return []
        return [r for item in items if (r := self.record(item))] if isinstance(items, list) else []

    def record(self, item: Any) -> FilmRecord | None:
        if not isinstance(item, dict):
            return None
        ext = as_text(item.get("id"), 100)
        title = as_text(item.get("title"), 500)
        if not ext or not title:
            return None
        info_hash = as_hash(item.get("info_hash"))
        magnet = as_text(item.get("magnet"), 4000)
        torrents = []
        if info_hash or magnet:
            torrents.append(
                TorrentRecord(
                    quality=as_text(item.get("quality"), 40),
                    size_bytes=parse_size(item.get("size")),
                    seeders=1,
                    info_hash=info_hash,
                    magnet=magnet or f"magnet:?xt=urn:btih:{info_hash}",
                )
            )
        cast = [{"name": n, "character": None} for n in as_list(item.get("cast"))]
        return FilmRecord(
            source=self.name,
            external_id=ext,
            title=title,
            year=as_year(item.get("year")),
            rating=as_float(item.get("rating")),
            runtime=as_int(item.get("runtime"), 0, 2000),
            genres=as_list(item.get("genres")),
            summary=as_text(item.get("summary")),
            director=as_text(item.get("director"), 200),
            cast=cast,
            cover_url=as_text(item.get("cover_url"), 1000) or f"{FRAME_PREFIX}{ext}",
            popularity=DEMO_POPULARITY,
            torrents=torrents,
            has_details=True,
        )

    async def poster(self, address: str) -> bytes | None:
        """A JPEG of one frame of the demo film named by `address` (`demo-frame:{id}`), or None."""
        from hypertube.media.generate import DEMO_SPECS
        from hypertube.media.poster import poster_frame

        film = (
            await self.details(address.removeprefix(FRAME_PREFIX))
            if address.startswith(FRAME_PREFIX)
            else None
        )
        # The generator names each film's folder and file after its slug; the manifest keeps the title.
        spec = next((s for s in DEMO_SPECS if film is not None and s[1] == film.title), None)
        if spec is None:
            return None
        slug, container = spec[0], spec[2]
        return await asyncio.to_thread(
            poster_frame, self.manifest.parent / "films" / slug / f"{slug}.{container}"
        )

    def version(self) -> float | None:
        """When the manifest last changed (None while there is none)."""
        try:
            return self.manifest.stat().st_mtime
        except OSError:
            return None

    async def all(self) -> list[FilmRecord]:
        return await self._load()

    async def search(self, query: str, page: int, filters: SearchFilters) -> list[FilmRecord]:
        if page > 1:
            return []
        words = query.lower().split()
        return [r for r in await self._load() if all(w in r.title.lower() for w in words)]

    async def details(self, external_id: str) -> FilmRecord | None:
        return next((r for r in await self._load() if r.external_id == external_id), None)
