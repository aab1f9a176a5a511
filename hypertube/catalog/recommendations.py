"""A user's recommendation rows: "Because you watched …", "Popular with people who watch what you
watch" and, for a new user, popular films in the genres of their first picks; watched films left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

import asyncpg

from hypertube.catalog.search import initial

ROW_SIZE = 10
# "Because you watched" rows, one per recently finished film.
SEED_ROWS = 2
# Interactions behind "people who watch what you watch", and neighbours read per interaction.
RECENT_PICKS = 20
NEIGHBOURS = 50
# Below this many interactions a user is new: co-watch counts say little yet, genres say more.
NEW_USER_PICKS = 3
FIRST_PICKS = 3
# Candidates per source for a seed film: co-watched, sharing people, popular in its genres.
CANDIDATES = 50
GENRE_CANDIDATES = 20


@dataclass(frozen=True)
class Row:
    """One row of films; `seed` (id, title) is the film a "because you watched" row is about."""

    kind: str
    movies: list[dict[str, Any]]
    seed: dict[str, Any] | None = None
    genres: list[str] = field(default_factory=list)


# One statement, so a user's rows cost one round trip. Films the user started, finished or commented
# on are never recommended. Rows come out in order (`n`), each film with its score.
#
# "Because you watched": the share of the seed film's audience who also watched the film; content
# similarity (the same genres, a shared director or actor) breaks ties, and carries the row alone while
# nobody has watched the seed film with another.
# "Popular with people who watch what you watch": each recent pick votes for the films its viewers
# watched, a pick everybody watched counting less. A new user: popular films in the genres of their
# first picks (without interactions yet: of the films they started).
_ROWS_SQL = """
WITH seen AS MATERIALIZED (
    SELECT movie_id FROM watches WHERE user_id = $1
    UNION
    SELECT movie_id FROM film_interactions WHERE user_id = $1
), seeds AS MATERIALIZED (
    SELECT m.id, m.title, m.genres, m.people, coalesce(a.users, 1) AS audience,
           row_number() OVER (ORDER BY i.first_at DESC, i.movie_id) AS n
    FROM film_interactions i JOIN movies m ON m.id = i.movie_id
    LEFT JOIN film_audience a ON a.movie_id = i.movie_id
    WHERE i.user_id = $1 AND i.finished
    ORDER BY i.first_at DESC, i.movie_id LIMIT $2
), because AS (
    SELECT s.n, s.id AS seed_id, s.title AS seed_title, f.id, f.score
    FROM seeds s CROSS JOIN LATERAL (
        SELECT m.id, m.popularity,
               coalesce(c.users, 0)::float8 / s.audience
               + CASE WHEN m.genres @> s.genres AND m.genres <@ s.genres THEN 0.02
                      WHEN m.genres && s.genres THEN 0.01 ELSE 0 END
               + CASE WHEN m.people && s.people THEN 0.015 ELSE 0 END AS score
        FROM (
            (SELECT c.other_id AS id FROM co_watch_counts c WHERE c.movie_id = s.id ORDER BY c.users DESC LIMIT $4)
            UNION
            (SELECT m.id FROM movies m WHERE m.people && s.people AND m.id <> s.id LIMIT $4)
            UNION
            (SELECT m.id FROM movies m
             WHERE m.genres && s.genres AND m.id <> s.id ORDER BY m.popularity DESC, m.id LIMIT $5)
        ) candidates JOIN movies m USING (id)
        LEFT JOIN co_watch_counts c ON c.movie_id = s.id AND c.other_id = m.id
        WHERE m.id NOT IN (SELECT movie_id FROM seen)
        ORDER BY score DESC, m.popularity DESC, m.id LIMIT $3
    ) f
), picks AS (
    SELECT i.movie_id, coalesce(a.users, 1) AS audience
    FROM film_interactions i LEFT JOIN film_audience a ON a.movie_id = i.movie_id
    WHERE i.user_id = $1 ORDER BY i.first_at DESC, i.movie_id LIMIT $6
), votes AS (
    SELECT n.other_id AS id, sum(n.users / sqrt(p.audience)) AS score
    FROM picks p CROSS JOIN LATERAL (
        SELECT c.other_id, c.users FROM co_watch_counts c
        WHERE c.movie_id = p.movie_id ORDER BY c.users DESC LIMIT $7
    ) n
    WHERE n.other_id NOT IN (SELECT movie_id FROM seen)
    GROUP BY n.other_id ORDER BY score DESC, n.other_id LIMIT $3
), first_picks AS (
    (SELECT movie_id FROM film_interactions WHERE user_id = $1 ORDER BY first_at, movie_id LIMIT $9)
    UNION ALL
    (SELECT movie_id FROM watches
     WHERE user_id = $1 AND NOT EXISTS (SELECT 1 FROM film_interactions WHERE user_id = $1)
     ORDER BY watched_at, movie_id LIMIT $9)
), first_genres AS (
    SELECT coalesce(array_agg(DISTINCT g ORDER BY g), '{}') AS genres
    FROM first_picks f JOIN movies m ON m.id = f.movie_id CROSS JOIN unnest(m.genres) g
), popular AS (
    SELECT m.id, m.popularity AS score FROM movies m, first_genres f
    WHERE m.genres && f.genres AND m.id NOT IN (SELECT movie_id FROM seen)
      AND (SELECT count(*) FROM film_interactions WHERE user_id = $1) < $8
    ORDER BY m.popularity DESC, m.id LIMIT $3
)
SELECT r.kind, r.n, r.seed_id, r.seed_title, f.genres,
       m.id, m.title, m.year, m.rating::float8 AS rating, m.cover_url
FROM (
    SELECT 'because_you_watched' AS kind, n, seed_id, seed_title, id, score FROM because
    UNION ALL
    SELECT 'people_like_you', $2 + 1, NULL, NULL, id, score FROM votes
    UNION ALL
    SELECT 'popular_in_genres', $2 + 2, NULL, NULL, id, score FROM popular
) r JOIN movies m ON m.id = r.id CROSS JOIN first_genres f
ORDER BY r.n, r.score DESC, m.popularity DESC, m.id
"""


def _film(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "year": row["year"],
        "rating": row["rating"],
        "cover_url": row["cover_url"],
        "initial": initial(row["title"]),
    }


def _row(found: list[asyncpg.Record], size: int, shown: set[int]) -> Row | None:
    """The row of `found` (one row's films, best first), without films an earlier row shows."""
    movies = [_film(r) for r in found if r["id"] not in shown][:size]
    if not movies:
        return None
    shown.update(m["id"] for m in movies)
    first = found[0]
    seed = {"id": first["seed_id"], "title": first["seed_title"]} if first["seed_id"] is not None else None
    genres = list(first["genres"]) if first["kind"] == "popular_in_genres" else []
    return Row(first["kind"], movies, seed, genres)


async def recommendation_rows(
    pool: asyncpg.Pool, user_id: int, size: int = ROW_SIZE, seed_rows: int = SEED_ROWS
) -> list[Row]:
    """The user's rows, best first, a film in one row only; none for a user who has not started a film.

    `seed_rows` "because you watched" rows come first (0 leaves them out)."""
    # Each row asks for more films than it shows, so films already in an earlier row can be skipped.
    found = await pool.fetch(
        _ROWS_SQL,
        user_id,
        seed_rows,
        size * 2,
        CANDIDATES,
        GENRE_CANDIDATES,
        RECENT_PICKS,
        NEIGHBOURS,
        NEW_USER_PICKS,
        FIRST_PICKS,
    )
    shown: set[int] = set()
    rows = (_row(list(group), size, shown) for _, group in groupby(found, key=lambda r: r["n"]))
    return [row for row in rows if row is not None]
