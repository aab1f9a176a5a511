"""What each user watched, and where they stopped: marks films watched and remembers the position."""

from __future__ import annotations

import asyncpg

from hypertube.catalog.interactions import FINISHED_SHARE, record_interaction


async def mark_watched(
    pool: asyncpg.Pool,
    user_id: int,
    movie_id: int,
    position_s: float | None = None,
    duration_s: float | None = None,
) -> None:
    """Marks the film watched and remembers the position; a position past most of the film (its
    `duration_s` when the player's file is probed, else the catalog's running time) counts as finished."""
    finished = await pool.fetchval(
        """INSERT INTO watches (user_id, movie_id, position_s) VALUES ($1, $2, coalesce($3::float8, 0))
           ON CONFLICT (user_id, movie_id) DO UPDATE
           SET watched_at = now(), position_s = coalesce($3::float8, watches.position_s)
           RETURNING $3::float8 >= $5 * coalesce($4::float8, (SELECT runtime * 60 FROM movies WHERE id = $2))""",
        user_id,
        movie_id,
        position_s,
        duration_s,
        FINISHED_SHARE,
    )
    if finished:
        await record_interaction(pool, user_id, movie_id, finished=True)


async def last_position(pool: asyncpg.Pool, user_id: int, movie_id: int) -> float:
    value = await pool.fetchval(
        "SELECT position_s FROM watches WHERE user_id = $1 AND movie_id = $2", user_id, movie_id
    )
    return float(value or 0.0)


async def watched_ids(pool: asyncpg.Pool, user_id: int, movie_ids: list[int]) -> set[int]:
    rows = await pool.fetch(
        "SELECT movie_id FROM watches WHERE user_id = $1 AND movie_id = ANY($2::bigint[])", user_id, movie_ids
    )
    return {r["movie_id"] for r in rows}
