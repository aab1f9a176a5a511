"""A user's recommendation rows: "Because you watched …", "Popular with people who watch what you
watch" and, for a new user, popular films in the genres of their first picks; watched films left out."""

from __future__ import annotations

from dataclasses import dataclass, field
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
CANDIDATES = 100
GENRE_CANDIDATES = 40


@dataclass(frozen=True)
class Row:
    """One row of films; `seed` (id, title) is the film a "because you watched" row is about."""

    kind: str
    movies: list[dict[str, Any]]
    seed: dict[str, Any] | None = None
    genres: list[str] = field(default_factory=list)


# Films the user has started, finished or commented on are never recommended.
_UNSEEN = """NOT EXISTS (SELECT 1 FROM watches w WHERE w.user_id = $1 AND w.movie_id = m.id)
             AND NOT EXISTS (SELECT 1 FROM film_interactions i WHERE i.user_id = $1 AND i.movie_id = m.id)"""
_FILM = "m.id, m.title, m.year, m.rating::float8 AS rating, m.cover_url"

# Co-watch strength is the cosine of the two films' audiences (so a film everyone watches does not
# follow every film), and content similarity (shared genres, shared directors and cast) carries the
# rows while few people have watched the seed film.
_BECAUSE_SQL = f"""
WITH seed AS (
    SELECT m.id, m.genres, film_people(m.director, m.cast_members) AS people,
           coalesce(a.users, 1) AS audience
    FROM movies m LEFT JOIN film_audience a ON a.movie_id = m.id
    WHERE m.id = $2
), candidates AS (
    (SELECT c.other_id AS id FROM co_watch_counts c WHERE c.movie_id = $2 ORDER BY c.users DESC LIMIT $4)
    UNION
    (SELECT m.id FROM movies m, seed
     WHERE film_people(m.director, m.cast_members) && seed.people AND m.id <> seed.id LIMIT $4)
    UNION
    (SELECT m.id FROM movies m, seed
     WHERE m.genres && seed.genres AND m.id <> seed.id ORDER BY m.popularity DESC, m.id LIMIT $5)
)
SELECT {_FILM},
       coalesce(c.users, 0) / sqrt(seed.audience * coalesce(a.users, 1))
       + 0.2 * shared_count(m.genres, seed.genres)::float8
             / greatest(cardinality(m.genres) + cardinality(seed.genres) - shared_count(m.genres, seed.genres), 1)
       + 0.15 * least(shared_count(film_people(m.director, m.cast_members), seed.people), 2) AS score
FROM candidates JOIN movies m USING (id) CROSS JOIN seed
LEFT JOIN co_watch_counts c ON c.movie_id = seed.id AND c.other_id = m.id
LEFT JOIN film_audience a ON a.movie_id = m.id
WHERE {_UNSEEN}
ORDER BY score DESC, m.popularity DESC, m.id
LIMIT $3
"""

# Item-to-item collaborative filtering: each recent pick votes for its co-watched films with their
# cosine strength.
_PEOPLE_LIKE_YOU_SQL = f"""
WITH picks AS (
    SELECT i.movie_id, coalesce(a.users, 1) AS audience
    FROM film_interactions i LEFT JOIN film_audience a ON a.movie_id = i.movie_id
    WHERE i.user_id = $1 ORDER BY i.first_at DESC, i.movie_id LIMIT $3
), votes AS (
    SELECT n.other_id AS id, sum(n.users / sqrt(p.audience)) AS votes
    FROM picks p CROSS JOIN LATERAL (
        SELECT c.other_id, c.users FROM co_watch_counts c
        WHERE c.movie_id = p.movie_id ORDER BY c.users DESC LIMIT $4
    ) n
    GROUP BY n.other_id
)
SELECT {_FILM}, v.votes / sqrt(coalesce(a.users, 1)) AS score
FROM votes v JOIN movies m ON m.id = v.id LEFT JOIN film_audience a ON a.movie_id = m.id
WHERE {_UNSEEN}
ORDER BY score DESC, m.popularity DESC, m.id
LIMIT $2
"""

_POPULAR_IN_GENRES_SQL = f"""
SELECT {_FILM} FROM movies m
WHERE m.genres && $2::text[] AND {_UNSEEN}
ORDER BY m.popularity DESC, m.id
LIMIT $3
"""

# The seeds of "because you watched" rows: the films the user finished most recently.
_SEEDS_SQL = """
SELECT m.id, m.title FROM film_interactions i JOIN movies m ON m.id = i.movie_id
WHERE i.user_id = $1 AND i.finished ORDER BY i.first_at DESC, m.id LIMIT $2
"""

# How many interactions the user has, and the genres of their first picks (for a user without
# interactions yet: of the films they started).
_PROFILE_SQL = """
SELECT
    (SELECT count(*) FROM film_interactions WHERE user_id = $1) AS picks,
    (SELECT coalesce(array_agg(DISTINCT g ORDER BY g), '{}') FROM (
        (SELECT movie_id FROM film_interactions WHERE user_id = $1 ORDER BY first_at, movie_id LIMIT $2)
        UNION ALL
        (SELECT movie_id FROM watches
         WHERE user_id = $1 AND NOT EXISTS (SELECT 1 FROM film_interactions WHERE user_id = $1)
         ORDER BY watched_at, movie_id LIMIT $2)
    ) first JOIN movies m ON m.id = first.movie_id CROSS JOIN unnest(m.genres) g) AS genres
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


class _Rows:
    """Collects rows so that a film appears in one row only (the first that has it)."""

    def __init__(self, size: int):
        self.size = size
        self.shown: set[int] = set()
        self.rows: list[Row] = []

    def add(self, kind: str, found: list[asyncpg.Record], **about: Any) -> None:
        movies = [_film(r) for r in found if r["id"] not in self.shown][: self.size]
        if movies:
            self.shown.update(m["id"] for m in movies)
            self.rows.append(Row(kind, movies, **about))


async def recommendation_rows(pool: asyncpg.Pool, user_id: int, size: int = ROW_SIZE) -> list[Row]:
    """The user's rows, best first; empty for a user who has not started any film."""
    # Each row asks for more films than it shows, so films already in an earlier row can be skipped.
    ask = size * 2
    async with pool.acquire() as conn:
        rows = _Rows(size)
        for seed in await conn.fetch(_SEEDS_SQL, user_id, SEED_ROWS):
            found = await conn.fetch(_BECAUSE_SQL, user_id, seed["id"], ask, CANDIDATES, GENRE_CANDIDATES)
            rows.add("because_you_watched", found, seed={"id": seed["id"], "title": seed["title"]})
        picks, genres = await conn.fetchrow(_PROFILE_SQL, user_id, FIRST_PICKS)
        if picks:
            found = await conn.fetch(_PEOPLE_LIKE_YOU_SQL, user_id, ask, RECENT_PICKS, NEIGHBOURS)
            rows.add("people_like_you", found)
        if picks < NEW_USER_PICKS and genres:
            found = await conn.fetch(_POPULAR_IN_GENRES_SQL, user_id, list(genres), ask)
            rows.add("popular_in_genres", found, genres=list(genres))
    return rows.rows
