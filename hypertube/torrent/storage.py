"""What stays on disk: the janitor deletes films nobody watched for a while and keeps under the quota.
Every node sweeps its own download folder and its own `downloads` rows."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import asyncpg

from hypertube.torrent.engine import Engine

log = logging.getLogger(__name__)
SWEEP_EVERY = 3600.0
FIRST_SWEEP_AFTER = 60.0
QUOTA_CHECK_EVERY = 2.0  # how often the downloads are weighed against the disk quota
# The advisory lock class that keeps two processes of one node (a restart overlapping the old
# process) from sweeping its downloads at the same time; each node sweeps its own, in parallel with the
# others (the migrations hold a different key).
JANITOR_LOCK = 0x4854_4A41


def disk_usage(path: Path) -> int:
    """Bytes actually allocated under `path` (sparse, half-downloaded files count what they hold)."""
    total = 0
    if path.is_file():
        return path.stat().st_blocks * 512
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


async def _downloads_by_age(pool: asyncpg.Pool, unwatched_days: int, node_id: str) -> list[asyncpg.Record]:
    """Every download of node `node_id` with the last time anyone watched its film (on any node),
    oldest first, and whether that is longer ago than `unwatched_days`."""
    return await pool.fetch(
        """SELECT d.info_hash, d.movie_id, d.save_path,
                  greatest(d.last_watched_at, max(w.watched_at)) < now() - make_interval(days => $1)
                      AS expired
           FROM downloads d LEFT JOIN watches w ON w.movie_id = d.movie_id
           WHERE d.node_id = $2
           GROUP BY d.info_hash, d.node_id
           ORDER BY greatest(d.last_watched_at, max(w.watched_at)), d.info_hash""",
        unwatched_days,
        node_id,
    )


def being_watched(engine: Engine, movie_id: int) -> bool:
    """A reader is open, an HLS player asked for a segment lately, or a watch party is open."""
    return engine.open_readers(movie_id) > 0 or engine.audience.watching(movie_id)


def downloaded_bytes(engine: Engine) -> int:
    """Verified bytes of every download in the session: what the quota check weighs every few seconds
    (the sweep itself measures the folders on disk)."""
    return sum(int(dl.handle.status().total_done) for dl in engine.downloads.values() if dl.handle.is_valid())


async def sweep(
    engine: Engine,
    pool: asyncpg.Pool,
    *,
    unwatched_days: int,
    quota_bytes: int = 0,
    on_removed: Callable[[int], Awaitable[None]] | None = None,
) -> list[str]:
    """Deletes this node's (`engine.node_id`) films unwatched for `unwatched_days`, then its
    oldest-watched ones while its downloads exceed `quota_bytes` (0: no quota). A film being watched is never deleted. Returns the
    info hashes removed; `on_removed(movie_id)` lets other parts drop what they derived from a film."""
    removed: list[str] = []
    rows = await _downloads_by_age(pool, unwatched_days, engine.node_id)
    expired = {r["info_hash"] for r in rows if r["expired"] and unwatched_days > 0}
    kept = []
    for row in rows:
        if row["info_hash"] in expired and not being_watched(engine, row["movie_id"]):
            if await engine.remove(row["info_hash"]):
                log.info(
                    "deleted film %s (%s): not watched for %s days",
                    row["movie_id"],
                    row["info_hash"],
                    unwatched_days,
                )
                removed.append(row["info_hash"])
                if on_removed is not None:
                    await on_removed(row["movie_id"])
                continue
        kept.append(row)
    if quota_bytes > 0 and kept:
        sizes = await asyncio.to_thread(lambda: [disk_usage(Path(r["save_path"])) for r in kept])
        total = sum(sizes)
        for row, size in zip(kept, sizes, strict=True):
            if total <= quota_bytes:
                break
            if being_watched(engine, row["movie_id"]):
                continue
            if await engine.remove(row["info_hash"]):
                log.info(
                    "deleted film %s (%s) to stay under the disk quota", row["movie_id"], row["info_hash"]
                )
                removed.append(row["info_hash"])
                total -= size
                if on_removed is not None:
                    await on_removed(row["movie_id"])
    return removed


def _lock_key(node_id: str) -> int:
    """The node's janitor lock: a signed 32-bit number from its id."""
    return int.from_bytes(hashlib.blake2b(node_id.encode(), digest_size=4).digest(), "big", signed=True)


async def sweep_alone(
    pool: asyncpg.Pool, run: Callable[[], Awaitable[list[str]]], node_id: str = ""
) -> list[str] | None:
    """Runs `run` (a sweep of node `node_id`'s downloads) unless that node's downloads are being swept
    right now (by another process with the same id); None then. The lock belongs to a connection held
    for the whole sweep, so a process that dies mid-sweep lets go of it with its connection."""
    key = (JANITOR_LOCK, _lock_key(node_id))
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", *key):
            log.info("node %s's downloads are being swept already; skipping this round", node_id)
            return None
        try:
            return await run()
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1, $2)", *key)


async def janitor_loop(
    engine: Engine,
    pool: asyncpg.Pool,
    unwatched_days: int,
    quota_gb: float,
    on_removed: Callable[[int], Awaitable[None]] | None = None,
    prune_images: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Sweeps every SWEEP_EVERY seconds, and also as soon as the downloads have grown past the quota;
    with each regular sweep, `prune_images` (this node's picture cache) too."""
    quota = int(quota_gb * 1024**3)
    loop = asyncio.get_running_loop()
    next_sweep = loop.time() + FIRST_SWEEP_AFTER
    swept_at_size = 0
    run = partial(
        sweep,
        engine,
        pool,
        unwatched_days=unwatched_days,
        quota_bytes=quota,
        on_removed=on_removed,
    )
    while True:
        await asyncio.sleep(QUOTA_CHECK_EVERY if quota else max(0.0, next_sweep - loop.time()))
        size = downloaded_bytes(engine) if quota else 0
        due = loop.time() >= next_sweep
        if not due and not (size > quota and size != swept_at_size):
            continue
        if due:
            next_sweep = loop.time() + SWEEP_EVERY
        swept_at_size = size
        try:
            await sweep_alone(pool, run, engine.node_id)
        except Exception:
            log.exception("the download janitor failed; trying again later")
        if due and prune_images is not None:
            try:
                await prune_images()
            except Exception:
                log.exception("pruning the pictures failed; trying again later")
