"""Keeps the embedded PostgreSQL running: notices when its server process died and starts it again."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

CHECK_EVERY_S = 1.0
MAX_BACKOFF_S = 30.0


def _lock_pid(path: Path) -> int | None:
    """The process id on the first line of a PostgreSQL lock file, if any."""
    try:
        first = path.read_text().split("\n", 1)[0].strip()
    except OSError:
        return None
    return int(first) if first.isdigit() else None


def _alive(pid: int) -> bool:
    """Whether the process runs (a killed postmaster nobody reaped is a zombie: dead, though listed)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def postmaster_alive(pgdata: Path) -> bool:
    pid = _lock_pid(pgdata / "postmaster.pid")
    return pid is not None and _alive(pid)


def _remove_stale_locks(pgdata: Path) -> None:
    """Removes the lock files a dead postmaster left behind; PostgreSQL refuses to start while its pid
    looks alive, and an unreaped zombie does."""
    pidfile = pgdata / "postmaster.pid"
    pid = _lock_pid(pidfile)
    if pid is None or _alive(pid):
        return
    lines = pidfile.read_text().splitlines()
    port = lines[3].strip() if len(lines) > 3 else ""
    socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else None
    if socket_dir is not None and port.isdigit():
        socket_lock = socket_dir / f".s.PGSQL.{port}.lock"
        if _lock_pid(socket_lock) == pid:
            socket_lock.unlink(missing_ok=True)
    pidfile.unlink(missing_ok=True)


def restart(server: Any, pgdata: Path) -> None:
    """Starts the embedded server again after its postmaster died (blocking: run it in a thread)."""
    _remove_stale_locks(pgdata)
    server.ensure_postgres_running()


async def supervise(server: Any, pgdata: Path, check_every: float = CHECK_EVERY_S) -> None:
    """Checks the embedded postmaster every `check_every` seconds and restarts it when it died, with a
    growing pause between failed attempts (its old backends may still hold the shared memory)."""
    backoff = check_every
    while True:
        await asyncio.sleep(backoff)
        if await asyncio.to_thread(postmaster_alive, pgdata):
            backoff = check_every
            continue
        log.warning("embedded PostgreSQL in %s is not running: restarting it", pgdata)
        try:
            await asyncio.to_thread(restart, server, pgdata)
        except Exception as exc:
            backoff = min(MAX_BACKOFF_S, backoff * 2)
            log.warning("embedded PostgreSQL did not restart (%s); trying again in %.0f s", exc, backoff)
            continue
        log.warning("embedded PostgreSQL restarted")
        backoff = check_every
