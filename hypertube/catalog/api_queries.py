"""Film details as the API shows them: one row with its comment count."""

from __future__ import annotations

from typing import Any

import asyncpg


async def movie_details(pool: asyncpg.Pool, movie_id: int) -> dict[str, Any] | None:
    """Title, year, rating, runtime, genres and comment count of a film, or None."""
    row = await pool.fetchrow(
        """SELECT id, title, year, rating::float8 AS rating, runtime, genres,
                  (SELECT count(*) FROM comments WHERE movie_id = m.id) AS comments_count
           FROM movies m WHERE id = $1""",
        movie_id,
    )
    return dict(row) if row is not None else None
