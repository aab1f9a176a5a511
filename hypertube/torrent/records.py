"""The `downloads` rows: what is kept about each film's download across restarts, for the janitor
and for status when the torrent is not in the session."""

from __future__ import annotations

from typing import Any

import asyncpg

from hypertube.torrent.download import Download
from hypertube.torrent.files import TorrentFile

IDLE = {"progress": 0.0, "rate": 0, "peers": 0, "ready": False, "state": "idle", "size": None}


async def record(pool: asyncpg.Pool, dl: Download, source: str) -> None:
    await pool.execute(
        """INSERT INTO downloads (info_hash, movie_id, source, save_path) VALUES ($1, $2, $3, $4)
           ON CONFLICT (info_hash) DO UPDATE SET movie_id = $2, source = $3, save_path = $4,
           error = NULL, updated_at = now()""",
        dl.info_hash,
        dl.movie_id,
        source,
        str(dl.save_path),
    )


async def known(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    """Every recorded download, to be added back to a new session."""
    return await pool.fetch("SELECT info_hash, movie_id, source, save_path FROM downloads")


async def opened(pool: asyncpg.Pool, dl: Download, file: TorrentFile) -> None:
    """A reader opened the download: watched now, and which file is the film."""
    main = dl.main_file()
    await pool.execute(
        """UPDATE downloads SET last_watched_at = now(), file_index = $2, file_path = $3,
           size_bytes = $4, updated_at = now() WHERE info_hash = $1""",
        dl.info_hash,
        main.index if main else file.index,
        main.path if main else file.path,
        main.size if main else file.size,
    )


async def watched(pool: asyncpg.Pool, info_hash: str) -> None:
    await pool.execute("UPDATE downloads SET last_watched_at = now() WHERE info_hash = $1", info_hash)


async def progressed(pool: asyncpg.Pool, dl: Download, status: dict[str, Any], *, error: bool = True) -> None:
    """Stores the download's progress and state (and its error, unless `error` is false)."""
    if error:
        await pool.execute(
            "UPDATE downloads SET progress = $2, state = $3, error = $4, updated_at = now() WHERE info_hash = $1",
            dl.info_hash,
            status["progress"],
            status["state"],
            dl.error,
        )
    else:
        await pool.execute(
            "UPDATE downloads SET progress = $2, state = $3, updated_at = now() WHERE info_hash = $1",
            dl.info_hash,
            status["progress"],
            status["state"],
        )


async def completed(pool: asyncpg.Pool, info_hash: str) -> None:
    await pool.execute(
        """UPDATE downloads SET progress = 1, state = 'finished', completed_at = coalesce(completed_at, now()),
           updated_at = now() WHERE info_hash = $1""",
        info_hash,
    )


async def last_status(pool: asyncpg.Pool, movie_id: int) -> dict[str, Any]:
    """The film's status as last recorded (its torrent is not in the session)."""
    row = await pool.fetchrow(
        "SELECT progress, state FROM downloads WHERE movie_id = $1 ORDER BY updated_at DESC LIMIT 1",
        movie_id,
    )
    if row is None:
        return dict(IDLE)
    # Not in the session means not downloading, whatever the row said when it was last written.
    done = row["progress"] >= 1.0
    return {
        "progress": float(row["progress"]),
        "rate": 0,
        "peers": 0,
        "ready": done,
        "state": "finished" if done else "idle",
        "size": None,
    }


async def forget(pool: asyncpg.Pool, info_hash: str) -> str | None:
    """Deletes the download's row; returns its folder as recorded, if there was a row."""
    row = await pool.fetchrow("DELETE FROM downloads WHERE info_hash = $1 RETURNING save_path", info_hash)
    return None if row is None else row["save_path"]
