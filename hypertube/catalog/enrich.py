"""TMDB and OMDb fill in what the torrent sources lack (cast, director, producer, overview, posters,
IMDb rating), each only when its key is set."""

from __future__ import annotations

import logging
from typing import Any

from hypertube.catalog.fetch import JsonFetcher
from hypertube.catalog.records import FilmDetails, SourceUnavailable, as_float, as_int, as_list, as_text

log = logging.getLogger(__name__)
TMDB_IMAGES = "https://image.tmdb.org/t/p"
ENRICHMENT_TTL = 24 * 3600
# OMDb errors about the key or the service, not about one film.
OMDB_SERVICE_ERRORS = ("api key", "limit", "unauthorized", "server")


class KeyedEnricher:
    """An enricher asking one service with an API key; answers are kept a day, a film it lacks is None."""

    name: str
    label: str

    def __init__(self, fetcher: JsonFetcher, base_url: str, key: str):
        self.fetcher = fetcher
        self.base_url = base_url.rstrip("/")
        self.key = key

    async def _get(self, path: str, params: dict[str, str], headers: dict[str, str] | None = None) -> Any:
        return await self.fetcher.get(
            self.name,
            self.base_url + path,
            params,
            ttl=ENRICHMENT_TTL,
            headers=headers,
            not_found_ok=True,
            check=self.check,
        )

    def check(self, answer: Any) -> None:
        """Raises SourceUnavailable for an answer about the service rather than the film (not kept)."""


class TmdbEnricher(KeyedEnricher):
    name = "tmdb"
    label = "TMDB"

    def _auth(self) -> tuple[dict[str, str], dict[str, str]]:
        # A v4 read access token is a JWT (sent as Bearer); a v3 key goes in the query string.
        if self.key.count(".") == 2:
            return {}, {"Authorization": f"Bearer {self.key}"}
        return {"api_key": self.key}, {}

    async def enrich(self, imdb_id: str) -> FilmDetails | None:
        params, headers = self._auth()
        found = await self._get(f"/find/{imdb_id}", {**params, "external_source": "imdb_id"}, headers)
        results = found.get("movie_results") if isinstance(found, dict) else None
        if not results or not isinstance(results[0], dict) or not as_int(results[0].get("id"), 1):
            return None
        movie_path = f"/movie/{int(results[0]['id'])}"
        movie = await self._get(movie_path, {**params, "append_to_response": "credits"}, headers)
        if not isinstance(movie, dict):
            return None
        credits: dict[str, Any] = movie["credits"] if isinstance(movie.get("credits"), dict) else {}
        cast = []
        for c in sorted(
            (c for c in credits.get("cast") or [] if isinstance(c, dict)), key=lambda c: c.get("order") or 0
        )[:12]:
            if name := as_text(c.get("name"), 200):
                photo = c.get("profile_path")
                cast.append(
                    {
                        "name": name,
                        "character": as_text(c.get("character"), 200),
                        "photo": f"{TMDB_IMAGES}/w185{photo}" if isinstance(photo, str) else None,
                    }
                )
        crew = [c for c in credits.get("crew") or [] if isinstance(c, dict)]
        poster, backdrop = movie.get("poster_path"), movie.get("backdrop_path")
        return FilmDetails(
            summary=as_text(movie.get("overview")),
            director=_join(c.get("name") for c in crew if c.get("job") == "Director"),
            producer=_join(c.get("name") for c in crew if c.get("job") == "Producer"),
            cast=cast,
            cover_url=f"{TMDB_IMAGES}/w500{poster}" if isinstance(poster, str) else None,
            backdrop_url=f"{TMDB_IMAGES}/w1280{backdrop}" if isinstance(backdrop, str) else None,
            runtime=as_int(movie.get("runtime"), 1, 2000),
            genres=[g["name"] for g in movie.get("genres") or [] if isinstance(g, dict) and g.get("name")],
        )


class OmdbEnricher(KeyedEnricher):
    name = "omdb"
    label = "OMDb"

    def check(self, answer: Any) -> None:
        if isinstance(answer, dict) and answer.get("Response") != "True":
            error = as_text(answer.get("Error"), 200) or "unknown error"
            if any(word in error.lower() for word in OMDB_SERVICE_ERRORS):
                raise SourceUnavailable(self.name, f"said: {error}")

    async def enrich(self, imdb_id: str) -> FilmDetails | None:
        answer = await self._get("/", {"i": imdb_id, "apikey": self.key, "plot": "full"})
        if not isinstance(answer, dict) or answer.get("Response") != "True":
            # Any error that `check` let through ("Movie not found!", "Error getting data.") is about
            # this film: nothing is known about it, and that answer is kept as long as any other.
            return None
        poster = answer.get("Poster")
        # No producer: OMDb's `Production` names a company.
        return FilmDetails(
            summary=_na(answer.get("Plot")),
            director=_na(answer.get("Director")),
            cast=[{"name": n, "character": None} for n in as_list(_na(answer.get("Actors")) or "")],
            cover_url=poster if isinstance(poster, str) and poster.startswith("http") else None,
            rating=as_float(_na(answer.get("imdbRating"))),
            runtime=as_int((_na(answer.get("Runtime")) or "").split(" ")[0] or None, 1, 2000),
            genres=as_list(_na(answer.get("Genre")) or ""),
        )


def _na(value: Any) -> str | None:
    text = as_text(value)
    return None if text in (None, "N/A") else text


def _join(names: Any) -> str | None:
    seen = list(dict.fromkeys(n for n in names if isinstance(n, str) and n))[:3]
    return ", ".join(seen) or None
