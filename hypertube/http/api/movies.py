"""API operations on films: the front page's search and a film's details with its subtitle languages."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hypertube.catalog import api_queries, search
from hypertube.catalog.records import SearchFilters
from hypertube.http.api.core import API_PREFIX, Call, Operation, Param, Reply, limit_param
from hypertube.http.api.links import FIRST_ID, link
from hypertube.http.api.schema import ID, obj, string
from hypertube.http.errors import ApiError
from hypertube.http.stream_subtitles import available_subtitles, known_subtitles
from hypertube.keys import CACHE, MEDIA, POOL

log = logging.getLogger(__name__)

SCHEMAS: dict[str, dict[str, Any]] = {
    "MovieSummary": obj(
        ["id", "name", "year", "rating"],
        id=ID,
        name=string(),
        year={"type": ["integer", "null"]},
        rating={"type": ["number", "null"]},
    ),
    "Movie": obj(
        ["id", "name", "year", "rating", "length", "subtitles", "comments_count"],
        id=ID,
        name=string(),
        year={"type": ["integer", "null"]},
        rating={"type": ["number", "null"], "description": "0–10"},
        length={"type": ["integer", "null"], "description": "Running time in minutes."},
        genres={"type": "array", "items": string()},
        subtitles={
            "type": "array",
            "items": string(),
            "description": "Languages (ISO 639-1) with subtitles available.",
        },
        comments_count={"type": "integer", "minimum": 0},
    ),
}
SORTS = list(search.SORTS)
MOVIE_CURSOR = Param(
    "cursor",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,800}$", "maxLength": 800},
    "Opaque cursor from `next_cursor` (only valid with the same filters and sort).",
)
# Film pages and details are kept this long, so a burst of clients costs one query per page.
MOVIE_CACHE_TTL = 5.0


async def list_movies(call: Call) -> Reply:
    """The library's own search (hypertube.catalog.search): same matching, sorting and cursors."""
    q = call.query
    text = " ".join(q.get("q", "").split())
    sort = q.get("sort") or ("name" if text else "popularity")
    if sort == "relevance" and not text:
        sort = "popularity"
    order = q.get("order") or ("asc" if sort == "name" else "desc")
    genre = " ".join(q.get("genre", "").split()) or None
    filters = SearchFilters(genre, q.get("year_min"), q.get("year_max"), q.get("rating_min"), sort, order)
    query = search.LibraryQuery(text, filters)
    limit = q["limit"]
    cursor = q.get("cursor")
    key = f"api:movies:{query.cache_key()}:{cursor}:{limit}"
    cache = call.app[CACHE]
    page = await cache.get(key)
    if page is None:
        try:
            after = search.decode_cursor(cursor, sort) if cursor else None
        except search.BadCursor:
            raise ApiError(
                400, "This cursor is not one we gave out.", code="bad_request", field="cursor"
            ) from None
        found = await search.search_page(call.app[POOL], query, after, limit)
        page = {
            "data": [
                {"id": m["id"], "name": m["title"], "year": m["year"], "rating": m["rating"]}
                for m in found.movies
            ],
            "next_cursor": found.next_cursor,
        }
        await cache.set(key, page, MOVIE_CACHE_TTL)
    return Reply(page)


SUBTITLE_LOOKUP_S = 3.0


async def subtitle_languages(app, movie_id: int) -> list[str]:
    """Languages `/stream/{id}/subtitles/{lang}.vtt` can serve.

    Finding the tracks inside a film that was never opened would start its download, which reading
    the API must not do: for such a film only OpenSubtitles' languages and the subtitle files of a
    torrent whose metadata is already known are listed."""
    media = app.get(MEDIA)
    if media is None:
        return []
    probed = media.movie_dir(movie_id) / "info.json"
    lookup = available_subtitles if await asyncio.to_thread(probed.is_file) else known_subtitles
    try:
        async with asyncio.timeout(SUBTITLE_LOOKUP_S):
            found = await lookup(app, movie_id)
    except Exception:  # subtitles are a nice-to-have in this answer, never a reason to fail it
        log.info("subtitle lookup failed for film %s", movie_id, exc_info=True)
        return []
    return [lang for lang in found if isinstance(lang, str)]


def movie_key(movie_id: int) -> str:
    return f"api:movie:{movie_id}"


async def get_movie(call: Call) -> Reply:
    movie_id = call.path["id"]
    cache = call.app[CACHE]
    movie = await cache.get(movie_key(movie_id))
    if movie is None:
        row = await api_queries.movie_details(call.app[POOL], movie_id)
        if row is None:
            raise ApiError(404, "No such film.", code="not_found")
        movie = {
            "id": row["id"],
            "name": row["title"],
            "year": row["year"],
            "rating": row["rating"],
            "length": row["runtime"],
            "genres": list(row["genres"]),
            "subtitles": await subtitle_languages(call.app, movie_id),
            "comments_count": row["comments_count"],
        }
        await cache.set(movie_key(movie_id), movie, MOVIE_CACHE_TTL)
    return Reply(movie)


P = API_PREFIX
OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        f"{P}/movies",
        list_movies,
        "listMovies",
        "List films (the front page)",
        "movies",
        {200: ("A page of films.", "MoviePage")},
        query=[
            limit_param(),
            MOVIE_CURSOR,
            Param("q", string(1, 200), "Words in the title (typos tolerated, as in the library)."),
            Param("genre", string(1, 60), "Only films of this genre."),
            Param("year_min", {"type": "integer", "minimum": 1870, "maximum": 2100}),
            Param("year_max", {"type": "integer", "minimum": 1870, "maximum": 2100}),
            Param("rating_min", {"type": "number", "minimum": 0, "maximum": 10}),
            Param(
                "sort",
                {"type": "string", "enum": SORTS},
                "Default: name when searching, popularity otherwise; relevance needs `q`.",
            ),
            Param(
                "order",
                {"type": "string", "enum": ["asc", "desc"]},
                "Default: asc for name, desc otherwise.",
            ),
        ],
        links={
            200: {
                "GetMovie": link("getMovie", id=FIRST_ID),
                "CommentMovie": link("createMovieComment", movie_id=FIRST_ID),
            }
        },
    ),
    Operation(
        "GET",
        f"{P}/movies/{{id}}",
        get_movie,
        "getMovie",
        "Get a film",
        "movies",
        {200: ("The film.", "Movie")},
    ),
]
