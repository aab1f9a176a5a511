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


async def _lock_users(conn: asyncpg.Connection, movie_ids: list[int]) -> None:
    """Takes the per-user locks `record_interaction` takes, for every user of these films, in order."""
    await conn.execute(
        """SELECT pg_advisory_xact_lock(hashtext('film_interactions:' || user_id::bigint))
           FROM (SELECT DISTINCT user_id FROM film_interactions WHERE movie_id = ANY($1::bigint[])
                 ORDER BY user_id) u""",
        movie_ids,
    )


async def merge_interactions(conn: asyncpg.Connection, old: int, into: int) -> None:
    """Moves film `old`'s interactions onto film `into` before `old` is deleted (in the caller's
    transaction): a user of both keeps one interaction with both flags; a user of `old` only now counts
    in `into`'s audience and in its co-watch pairs with each of their other films. `old`'s own counts go
    with the film."""
    await _lock_users(conn, [old, into])
    await conn.execute(
        """UPDATE film_interactions t SET finished = t.finished OR o.finished,
                  commented = t.commented OR o.commented, first_at = least(t.first_at, o.first_at)
           FROM film_interactions o WHERE o.movie_id = $1 AND t.movie_id = $2 AND t.user_id = o.user_id""",
        old,
        into,
    )
    moved = await conn.fetch(
        """UPDATE film_interactions o SET movie_id = $2 WHERE o.movie_id = $1 AND NOT EXISTS (
               SELECT 1 FROM film_interactions t WHERE t.movie_id = $2 AND t.user_id = o.user_id)
           RETURNING user_id""",
        old,
        into,
    )
    if not moved:
        return
    users = [r["user_id"] for r in moved]
    await conn.execute(
        """INSERT INTO film_audience (movie_id, users) VALUES ($1, $2)
           ON CONFLICT (movie_id) DO UPDATE SET users = film_audience.users + EXCLUDED.users""",
        into,
        len(users),
    )
    await conn.execute(
        """WITH others AS (
               SELECT movie_id FROM film_interactions
               WHERE user_id = ANY($1::bigint[]) AND movie_id <> $2 AND movie_id <> $3
           ), pairs AS (
               SELECT $2::bigint AS a, movie_id AS b FROM others
               UNION ALL
               SELECT movie_id, $2::bigint FROM others
           )
           INSERT INTO co_watch_counts (movie_id, other_id, users)
           SELECT a, b, count(*) FROM pairs GROUP BY a, b ORDER BY a, b
           ON CONFLICT (movie_id, other_id) DO UPDATE SET users = co_watch_counts.users + EXCLUDED.users""",
        users,
        into,
        old,
    )


async def undo_comment(pool: asyncpg.Pool, user_id: int, movie_id: int) -> None:
    """After a comment was deleted: when the user has no other comment on the film, it no longer counts
    as commented; an interaction left with neither mark is removed, with its share of the audience and
    of the co-watch counts."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('film_interactions:' || $1::bigint))", user_id
        )
        row = await conn.fetchrow(
            """SELECT i.finished, EXISTS (SELECT 1 FROM comments c WHERE c.user_id = $1 AND c.movie_id = $2)
                      AS still
               FROM film_interactions i WHERE i.user_id = $1 AND i.movie_id = $2 AND i.commented""",
            user_id,
            movie_id,
        )
        if row is None or row["still"]:
            return
        if row["finished"]:
            await conn.execute(
                "UPDATE film_interactions SET commented = false WHERE user_id = $1 AND movie_id = $2",
                user_id,
                movie_id,
            )
            return
        await conn.execute(
            "DELETE FROM film_interactions WHERE user_id = $1 AND movie_id = $2", user_id, movie_id
        )
        # Counts never reach zero (CHECK users > 0): a count of one goes, the others lose one.
        await conn.execute("DELETE FROM film_audience WHERE movie_id = $1 AND users <= 1", movie_id)
        await conn.execute("UPDATE film_audience SET users = users - 1 WHERE movie_id = $1", movie_id)
        pairs = """WITH others AS (
                       SELECT movie_id FROM film_interactions WHERE user_id = $1 AND movie_id <> $2
                   ), pairs AS (
                       SELECT $2::bigint AS a, movie_id AS b FROM others
                       UNION ALL
                       SELECT movie_id, $2::bigint FROM others
                   )"""
        await conn.execute(
            pairs
            + """DELETE FROM co_watch_counts c USING pairs p
                       WHERE c.movie_id = p.a AND c.other_id = p.b AND c.users <= 1""",
            user_id,
            movie_id,
        )
        await conn.execute(
            pairs
            + """UPDATE co_watch_counts c SET users = c.users - 1 FROM pairs p
                       WHERE c.movie_id = p.a AND c.other_id = p.b""",
            user_id,
            movie_id,
        )
