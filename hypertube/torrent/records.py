"""The `downloads` rows: what is kept about each film's download across restarts, for the janitor
and for status when the torrent is not in the session. A row belongs to one node (`node_id`, the
engine's): a node reads, updates and deletes only its own rows."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import asyncpg

from hypertube.torrent.download import Download
from hypertube.torrent.files import TorrentFile

log = logging.getLogger(__name__)
IDLE = {"progress": 0.0, "rate": 0, "peers": 0, "ready": False, "state": "idle", "size": None}


async def record(pool: asyncpg.Pool, dl: Download, source: str) -> None:
    await pool.execute(
        """INSERT INTO downloads (info_hash, node_id, movie_id, source, save_path) VALUES ($1, $5, $2, $3, $4)
           ON CONFLICT (info_hash, node_id) DO UPDATE SET movie_id = $2, source = $3, save_path = $4,
           error = NULL, updated_at = now()""",
        dl.info_hash,
        dl.movie_id,
        source,
        str(dl.save_path),
        dl.node_id,
    )


async def adopt(pool: asyncpg.Pool, node_id: str, download_dir: Path) -> int:
    """Gives `node_id` the rows written before nodes had ids ('') whose folder is in `download_dir`
    (this node's); returns how many. Nothing to do for a node without an id."""
    if not node_id:
        return 0
    folder = str(download_dir).rstrip("/")
    result = await pool.execute(
        """UPDATE downloads d SET node_id = $1 WHERE d.node_id = ''
           AND (d.save_path = $2 OR starts_with(d.save_path, $2 || '/'))
           AND NOT EXISTS (SELECT 1 FROM downloads o WHERE o.info_hash = d.info_hash AND o.node_id = $1)""",
        node_id,
        folder,
    )
    adopted = int(result.split()[-1])
    if adopted:
        log.info("%s downloads recorded before node ids are now node %s's", adopted, node_id)
    return adopted


async def known(pool: asyncpg.Pool, node_id: str) -> list[asyncpg.Record]:
    """Every download recorded by node `node_id`, to be added back to its new session."""
    return await pool.fetch(
        "SELECT info_hash, movie_id, source, save_path FROM downloads WHERE node_id = $1", node_id
    )


async def opened(pool: asyncpg.Pool, dl: Download, file: TorrentFile) -> None:
    """A reader opened the download: watched now, and which file is the film."""
    main = dl.main_file()
    await pool.execute(
        """UPDATE downloads SET last_watched_at = now(), file_index = $2, file_path = $3,
           size_bytes = $4, updated_at = now() WHERE info_hash = $1 AND node_id = $5""",
        dl.info_hash,
        main.index if main else file.index,
        main.path if main else file.path,
        main.size if main else file.size,
        dl.node_id,
    )


async def watched(pool: asyncpg.Pool, dl: Download) -> None:
    await pool.execute(
        "UPDATE downloads SET last_watched_at = now() WHERE info_hash = $1 AND node_id = $2",
        dl.info_hash,
        dl.node_id,
    )


async def progressed(pool: asyncpg.Pool, dl: Download, status: dict[str, Any], *, error: bool = True) -> None:
    """Stores the download's progress and state (and its error, unless `error` is false)."""
    if error:
        await pool.execute(
            "UPDATE downloads SET progress = $2, state = $3, error = $4, updated_at = now()"
            " WHERE info_hash = $1 AND node_id = $5",
            dl.info_hash,
            status["progress"],
            status["state"],
            dl.error,
            dl.node_id,
        )
    else:
        await pool.execute(
            "UPDATE downloads SET progress = $2, state = $3, updated_at = now()"
            " WHERE info_hash = $1 AND node_id = $4",
            dl.info_hash,
            status["progress"],
            status["state"],
            dl.node_id,
        )


async def completed(pool: asyncpg.Pool, dl: Download) -> None:
    await pool.execute(
        """UPDATE downloads SET progress = 1, state = 'finished', completed_at = coalesce(completed_at, now()),
           updated_at = now() WHERE info_hash = $1 AND node_id = $2""",
        dl.info_hash,
        dl.node_id,
    )


async def last_status(pool: asyncpg.Pool, movie_id: int, node_id: str) -> dict[str, Any]:
    """The film's status on node `node_id` as last recorded (its torrent is not in the session): what
    another node holds is not here to play."""
    row = await pool.fetchrow(
        """SELECT progress, state FROM downloads WHERE movie_id = $1 AND node_id = $2
           ORDER BY updated_at DESC LIMIT 1""",
        movie_id,
        node_id,
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


async def forget(pool: asyncpg.Pool, info_hash: str, node_id: str) -> str | None:
    """Deletes node `node_id`'s row of the download; returns its folder as recorded, if there was a row."""
    row = await pool.fetchrow(
        "DELETE FROM downloads WHERE info_hash = $1 AND node_id = $2 RETURNING save_path", info_hash, node_id
    )
    return None if row is None else row["save_path"]
