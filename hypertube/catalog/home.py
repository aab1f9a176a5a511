"""The library home's shared rows: the most popular films, then the most popular of each of the most
common genres; one SQL statement."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Any

import asyncpg

from hypertube.catalog.search import CARD_COLUMNS, film_card

ROW_SIZE = 12
GENRE_ROWS = 4
# A genre with fewer films makes no row.
GENRE_ROW_MIN = 4

_ROWS_SQL = f"""
WITH top_genres AS (
    SELECT g, count(*) AS films FROM movies, unnest(genres) AS g
    GROUP BY g HAVING count(*) >= $3 ORDER BY films DESC, g LIMIT $2
), rows AS (
    SELECT 0 AS n, NULL::text AS genre, c.* FROM (
        SELECT {CARD_COLUMNS} FROM movies m ORDER BY m.popularity DESC, m.id DESC LIMIT $1
    ) c
    UNION ALL
    SELECT t.n, t.g, c.* FROM (SELECT g, row_number() OVER (ORDER BY films DESC, g) AS n FROM top_genres) t
    CROSS JOIN LATERAL (
        SELECT {CARD_COLUMNS} FROM movies m WHERE m.genres @> ARRAY[t.g]
        ORDER BY m.popularity DESC, m.id DESC LIMIT $1
    ) c
)
SELECT * FROM rows ORDER BY n, popularity DESC, id DESC
"""


@dataclass(frozen=True)
class HomeRow:
    """`kind` "popular" (every film) or "genre" (`genre` names it), its films most popular first."""

    kind: str
    movies: list[dict[str, Any]]
    genre: str | None = None


async def home_rows(pool: asyncpg.Pool, size: int = ROW_SIZE, genre_rows: int = GENRE_ROWS) -> list[HomeRow]:
    """The popular row (absent when there is no film), then up to `genre_rows` genre rows."""
    found = await pool.fetch(_ROWS_SQL, size, genre_rows, GENRE_ROW_MIN)
    rows = []
    for n, group in groupby(found, key=lambda r: r["n"]):
        records = list(group)
        genre = records[0]["genre"]
        rows.append(HomeRow("popular" if n == 0 else "genre", [film_card(r) for r in records], genre))
    return rows
