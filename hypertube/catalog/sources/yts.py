"""YTS: `list_movies.json` for search and browse, `movie_details.json` (with cast) for a film page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypertube.catalog.records import (
    FilmRecord,
    SearchFilters,
    SourceUnavailable,
    TorrentRecord,
    as_float,
    as_hash,
    as_imdb,
    as_int,
    as_list,
    as_text,
    as_year,
)
from hypertube.catalog.sources.remote import RemoteSource

TRACKERS = (
    "udp://open.demonii.com:1337/announce",
    "udp://tracker.openbittorrent.com:80",
    "udp://tracker.coppersurfer.tk:6969",
    "udp://glotorrents.pw:6969/announce",
    "udp://tracker.opentrackr.org:1337/announce",
    "udp://torrent.gresille.org:80/announce",
    "udp://p4p.arenabg.com:1337",
    "udp://tracker.leechers-paradise.org:6969",
)
SORTS = {"name": "title", "year": "year", "rating": "rating", "popularity": "download_count"}


def magnet(info_hash: str, title: str) -> str:
    trackers = "".join(f"&tr={quote(t, safe='')}" for t in TRACKERS)
    return f"magnet:?xt=urn:btih:{info_hash}&dn={quote(title, safe='')}{trackers}"


class YtsSource(RemoteSource):
    name = "yts"
    label = "YTS"

    def _data(self, answer: Any) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise SourceUnavailable(self.name, "sent an unexpected answer")
        if answer.get("status") != "ok":
            message = as_text(answer.get("status_message"), 200) or "unknown error"
            raise SourceUnavailable(self.name, f"said: {message}")
        data = answer.get("data")
        if not isinstance(data, dict):
            raise SourceUnavailable(self.name, "sent an answer without data")
        return data

    async def search(self, query: str, page: int, filters: SearchFilters) -> list[FilmRecord]:
        params = {
            "query_term": query or "",
            "page": str(page),
            "limit": str(self.page_size),
            "sort_by": SORTS.get(filters.sort, "download_count") if not query else "title",
            "order_by": filters.order if query else "desc",
        }
        if not query:
            params.pop("query_term")
        if filters.genre:
            params["genre"] = filters.genre
        if filters.rating_min:
            params["minimum_rating"] = str(int(filters.rating_min))
        answer = await self.fetcher.get(
            self.name, f"{self.base_url}/list_movies.json", params, ttl=900, check=self._data
        )
        movies = self._data(answer).get("movies") or []
        if not isinstance(movies, list):
            raise SourceUnavailable(self.name, "sent a film list that is not a list")
        records = [r for m in movies if (r := self.record(m)) is not None]
        return [
            r
            for r in records
            if (filters.year_min is None or (r.year or 0) >= filters.year_min)
            and (filters.year_max is None or (r.year or 9999) <= filters.year_max)
        ]

    async def details(self, external_id: str) -> FilmRecord | None:
        if as_int(external_id, 1) is None:
            return None
        answer = await self.fetcher.get(
            self.name,
            f"{self.base_url}/movie_details.json",
            {"movie_id": external_id, "with_cast": "true", "with_images": "true"},
            ttl=3600,
            check=self._data,
        )
        movie = self._data(answer).get("movie")
        if not isinstance(movie, dict) or not as_int(movie.get("id"), 1):
            return None
        record = self.record(movie)
        if record is not None:
            record.has_details = True
        return record

    def record(self, m: Any) -> FilmRecord | None:
        if not isinstance(m, dict):
            return None
        ext = as_int(m.get("id"), 1)
        title = as_text(m.get("title_english") or m.get("title"), 500)
        if ext is None or not title:
            return None
        torrents = []
        for t in m.get("torrents") or []:
            if not isinstance(t, dict) or not (h := as_hash(t.get("hash"))):
                continue
            torrents.append(
                TorrentRecord(
                    quality=as_text(" ".join(str(t.get(k) or "") for k in ("quality", "type")), 40),
                    size_bytes=as_int(t.get("size_bytes"), 0),
                    seeders=as_int(t.get("seeds"), 0) or 0,
                    leechers=as_int(t.get("peers"), 0) or 0,
                    info_hash=h,
                    magnet=magnet(h, title),
                    torrent_url=as_text(t.get("url"), 1000),
                )
            )
        cast = []
        for c in m.get("cast") or []:
            if isinstance(c, dict) and (name := as_text(c.get("name"), 200)):
                cast.append({"name": name, "character": as_text(c.get("character_name"), 200)})
        return FilmRecord(
            source=self.name,
            external_id=str(ext),
            title=title,
            imdb_id=as_imdb(m.get("imdb_code")),
            year=as_year(m.get("year")),
            rating=as_float(m.get("rating")) or None,  # YTS says 0 for a film nobody has rated
            runtime=as_int(m.get("runtime"), 1, 2000),
            genres=as_list(m.get("genres")),
            summary=as_text(m.get("description_full") or m.get("summary") or m.get("synopsis")),
            cast=cast,
            cover_url=_https(m.get("large_cover_image") or m.get("medium_cover_image")),
            backdrop_url=_https(m.get("background_image_original") or m.get("background_image")),
            language=as_text(m.get("language"), 20),
            popularity=float(sum(t.seeders for t in torrents)),
            torrents=torrents,
        )


def _https(value: Any) -> str | None:
    text = as_text(value, 1000)
    return text if text and text.startswith(("https://", "http://")) else None
