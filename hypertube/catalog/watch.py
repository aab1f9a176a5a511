"""What each user watched, and where they stopped: positions saved by the player, films in progress and
films finished (past FINISHED_SHARE of their length, or within a second of their end)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import asyncpg

from hypertube.catalog.interactions import FINISHED_SHARE, record_interaction
from hypertube.catalog.search import film_card

# The player saves whole seconds: a position this close to the end is the end.
END_MARGIN_S = 1.0
CONTINUE_LIMIT = 12

# The film's length in seconds: what the player's file said, else the catalog's running time.
_LENGTH = "coalesce(w.duration_s, m.runtime * 60.0)"


async def mark_watched(
    pool: asyncpg.Pool,
    user_id: int,
    movie_id: int,
    position_s: float | None = None,
    duration_s: float | None = None,
) -> None:
    """Notes that the user is watching the film and remembers the position (seconds; None keeps the last
    one). `duration_s` is the film's length when the server probed its file. A position past
    FINISHED_SHARE of the length, or at its end, marks the film finished (for good: watching it again
    keeps the mark, and `continue_watching` lists it again while the new viewing is under way); before
    that it is in progress."""
    runtime = "(SELECT runtime * 60.0 FROM movies WHERE id = $2)"
    new_length = f"coalesce($4::float8, {runtime})"
    old_length = f"coalesce($4::float8, w.duration_s, {runtime})"
    finished = await pool.fetchval(
        f"""INSERT INTO watches AS w (user_id, movie_id, position_s, duration_s, finished_at)
            VALUES ($1, $2, coalesce($3::float8, 0), $4::float8,
                    CASE WHEN {_at_end(new_length)} THEN now() END)
            ON CONFLICT (user_id, movie_id) DO UPDATE
            SET watched_at = now(), position_s = coalesce($3::float8, w.position_s),
                duration_s = coalesce($4::float8, w.duration_s),
                finished_at = coalesce(w.finished_at, CASE WHEN {_at_end(old_length)} THEN now() END)
            RETURNING w.finished_at = now()""",
        user_id,
        movie_id,
        position_s,
        duration_s,
        FINISHED_SHARE,
    )
    if finished:
        await record_interaction(pool, user_id, movie_id, finished=True)


def _at_end(length: str) -> str:
    """SQL: whether the position ($3) is past FINISHED_SHARE ($5) of `length`, or at its end."""
    return (
        f"($3::float8 IS NOT NULL AND {length} > 0"
        f" AND $3::float8 >= least($5 * {length}, {length} - {END_MARGIN_S}))"
    )


async def last_position(pool: asyncpg.Pool, user_id: int, movie_id: int) -> float:
    value = await pool.fetchval(
        "SELECT position_s FROM watches WHERE user_id = $1 AND movie_id = $2", user_id, movie_id
    )
    return float(value or 0.0)


async def watched_ids(pool: asyncpg.Pool, user_id: int, movie_ids: list[int]) -> set[int]:
    """The films among `movie_ids` the user finished."""
    rows = await pool.fetch(
        """SELECT movie_id FROM watches
           WHERE user_id = $1 AND movie_id = ANY($2::bigint[]) AND finished_at IS NOT NULL""",
        user_id,
        movie_ids,
    )
    return {r["movie_id"] for r in rows}


@dataclass(frozen=True)
class Progress:
    """Where a user is in a film: `share` of it seen (0..1, None when its length is unknown)."""

    position_s: float
    share: float | None
    finished: bool

    @property
    def percent(self) -> int:
        return round(100 * (1.0 if self.finished else (self.share or 0.0)))


def _progress(row: Any) -> Progress:
    length = row["length_s"]
    share = min(1.0, row["position_s"] / length) if length else None
    return Progress(float(row["position_s"]), share, row["finished_at"] is not None)


async def progress_of(pool: asyncpg.Pool, user_id: int, movie_ids: list[int]) -> dict[int, Progress]:
    """The user's progress in each of `movie_ids` they started (a film never started is left out)."""
    rows = await pool.fetch(
        f"""SELECT w.movie_id, w.position_s, w.finished_at, {_LENGTH} AS length_s
            FROM watches w JOIN movies m ON m.id = w.movie_id
            WHERE w.user_id = $1 AND w.movie_id = ANY($2::bigint[])""",
        user_id,
        movie_ids,
    )
    return {r["movie_id"]: _progress(r) for r in rows}


async def continue_watching(
    pool: asyncpg.Pool, user_id: int, columns: str, limit: int = CONTINUE_LIMIT
) -> list[tuple[dict[str, Any], Progress]]:
    """Films the user is part way through, the most recently watched first, with their progress;
    `columns` are the film's card columns (of `movies m`). A film not finished yet counts once its
    position is past 0; a finished film counts again while it is watched again, at a position short of
    where it would be finished (its progress is then that of the new viewing)."""
    rows = await pool.fetch(
        f"""SELECT {columns}, w.position_s, w.finished_at, {_LENGTH} AS length_s
            FROM watches w JOIN movies m ON m.id = w.movie_id
            WHERE w.user_id = $1 AND w.position_s > 0
              AND (w.finished_at IS NULL OR w.position_s < least($3 * {_LENGTH}, {_LENGTH} - {END_MARGIN_S}))
            ORDER BY w.watched_at DESC, w.movie_id DESC LIMIT $2""",
        user_id,
        limit,
        FINISHED_SHARE,
    )
    return [(film_card(r), replace(_progress(r), finished=False)) for r in rows]
