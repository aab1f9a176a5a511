"""Applies numbered SQL files from `migrations/` once each, under a PostgreSQL advisory lock."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
LOCK_ID = 0x48797065  # any constant shared by every process of this application
NAME_RE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migration_files(folder: Path = MIGRATIONS) -> list[tuple[int, str, str]]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        m = NAME_RE.match(path.name)
        if not m:
            raise RuntimeError(f"migration file {path.name} is not named NNN_name.sql")
        found.append((int(m.group(1)), path.name, path.read_text(encoding="utf-8")))
    numbers = [n for n, _, _ in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError("two migration files share a number")
    return found


async def apply_migrations(conn: asyncpg.Connection, folder: Path = MIGRATIONS) -> list[str]:
    """Applies pending migrations; returns the names applied. Safe to call from many processes at once."""
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_ID)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for number, name, sql in migration_files(folder):
            if number in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", number, name
                )
            log.info("applied migration %s", name)
            applied.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_ID)
    return applied
