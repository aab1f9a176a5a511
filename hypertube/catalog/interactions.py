"""What recommendations learn from: films a user finished or commented on, and the co-watch counts
(how many users share each pair of such films), updated as each interaction arrives."""

from __future__ import annotations

import asyncpg

# A film played this far counts as watched (finished): past it there are mostly the last scene and the
# credits.
FINISHED_SHARE = 0.9


async def record_interaction(
    pool: asyncpg.Pool, user_id: int, movie_id: int, *, finished: bool = False, commented: bool = False
) -> None:
    """Notes that the user finished (or commented on) the film; the first interaction with a film adds
    one to the film's audience and to its co-watch count with each film the user interacted with before."""
    async with pool.acquire() as conn, conn.transaction():
        # One user's interactions are recorded one at a time, so two films they finish at the same
        # moment still see each other and their pair is counted.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('film_interactions:' || $1::bigint))", user_id
        )
        first = await conn.fetchval(
            """INSERT INTO film_interactions (user_id, movie_id, finished, commented) VALUES ($1, $2, $3, $4)
               ON CONFLICT (user_id, movie_id) DO NOTHING RETURNING true""",
            user_id,
            movie_id,
            finished,
            commented,
        )
        if not first:
            await conn.execute(
                """UPDATE film_interactions SET finished = finished OR $3, commented = commented OR $4
                   WHERE user_id = $1 AND movie_id = $2 AND (finished < $3 OR commented < $4)""",
                user_id,
                movie_id,
                finished,
                commented,
            )
            return
        await conn.execute(
            """INSERT INTO film_audience (movie_id, users) VALUES ($1, 1)
               ON CONFLICT (movie_id) DO UPDATE SET users = film_audience.users + 1""",
            movie_id,
        )
        # Rows are written in key order so that concurrent users never lock the same pairs crosswise.
        await conn.execute(
            """WITH earlier AS (
                   SELECT movie_id FROM film_interactions WHERE user_id = $1 AND movie_id <> $2
               ), pairs AS (
                   SELECT $2::bigint AS a, movie_id AS b FROM earlier
                   UNION ALL
                   SELECT movie_id, $2::bigint FROM earlier
               )
               INSERT INTO co_watch_counts (movie_id, other_id, users)
               SELECT a, b, 1 FROM pairs ORDER BY a, b
               ON CONFLICT (movie_id, other_id) DO UPDATE SET users = co_watch_counts.users + 1""",
            user_id,
            movie_id,
        )
