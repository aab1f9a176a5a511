"""REST API: GET /api/v1/movies and /api/v1/movies/{id} with 50 concurrent clients, next to a bare aiohttp handler.

The server (the full app, and a bare aiohttp app answering the same bytes) runs in a child process so
that the load generator (aiohttp client, this process) has its own core. Database: a fresh database on
HYPERTUBE_BENCH_DATABASE_URL or HYPERTUBE_TEST_DATABASE_URL (an admin URL), else embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.support import with_database as _with_db

CONCURRENCY = 50
WARMUP_S = 0.3
# The machine is shared, so the two servers are measured in alternating slices and each total is
# the sum over all its slices: both see the same background load.
ROUNDS = int(os.environ.get("HYPERTUBE_BENCH_ROUNDS", "4"))
SLICE_S = 1.5
MOVIES = 500


async def _serve(db_url: str | None, data_dir: str, ready, stop) -> None:
    from aiohttp import web

    from hypertube.accounts.api_clients import create_client, issue_token
    from hypertube.app import create_app
    from hypertube.http.api.core import Limits
    from hypertube.keys import API_LIMITS, POOL
    from hypertube.settings import Settings

    settings = Settings(
        data_dir=Path(data_dir),
        database_url=db_url,
        secret_key="bench-" + "k" * 40,
        sources=(),
        log_level="WARNING",
    )
    app = create_app(settings)
    app[API_LIMITS] = Limits(requests=10**9)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    pool = app[POOL]
    user_id = await pool.fetchval(
        """INSERT INTO users (email, username, first_name, last_name, email_verified)
           VALUES ('bench@example.org', 'bench', 'Bench', 'Mark', true) RETURNING id"""
    )
    await pool.executemany(
        """INSERT INTO movies (title, year, rating, runtime, genres, popularity)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        [
            (f"Film number {i}", 1950 + i % 70, (i % 100) / 10, 80 + i % 60, ["Drama"], float(i))
            for i in range(MOVIES)
        ],
    )
    movie_id = await pool.fetchval("SELECT max(id) FROM movies")
    for n in range(12):
        await pool.execute(
            "INSERT INTO comments (movie_id, user_id, body) VALUES ($1, $2, $3)", movie_id, user_id, f"c{n}"
        )
    client, _ = await create_client(pool, user_id, "bench")
    token = issue_token(settings.secret_key, client, 3600)

    bodies: dict[str, bytes] = {}

    async def bare(request: web.Request) -> web.Response:
        return web.Response(body=bodies[request.match_info["name"]], content_type="application/json")

    async def store(request: web.Request) -> web.Response:
        bodies[request.match_info["name"]] = await request.read()
        return web.Response(status=204)

    bare_app = web.Application()
    bare_app.router.add_get("/bare/{name}", bare)
    bare_app.router.add_put("/bare/{name}", store)
    bare_runner = web.AppRunner(bare_app, access_log=None)
    await bare_runner.setup()
    bare_site = web.TCPSite(bare_runner, "127.0.0.1", 0)
    await bare_site.start()

    def port(s) -> int:
        return s._server.sockets[0].getsockname()[1]

    ready.put({"api": port(site), "bare": port(bare_site), "token": token, "movie_id": movie_id})
    await asyncio.to_thread(stop.get)
    await bare_runner.cleanup()
    await runner.cleanup()


def _child(db_url, data_dir, ready, stop) -> None:
    asyncio.run(_serve(db_url, data_dir, ready, stop))


class Sample:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.seconds = 0.0
        self.errors = 0

    def row(self) -> dict:
        lat = sorted(self.latencies)
        return {
            "req_per_s": len(lat) / self.seconds,
            "p50_ms": statistics.median(lat) * 1000,
            "p99_ms": lat[max(0, int(len(lat) * 0.99) - 1)] * 1000,
            "errors": self.errors,
        }


async def _load(session: aiohttp.ClientSession, url: str, headers: dict[str, str], into: Sample) -> None:
    """CONCURRENCY clients in a closed loop for SLICE_S seconds (after a short warm-up)."""
    start = time.monotonic()
    warm_until = start + WARMUP_S
    deadline = warm_until + SLICE_S

    async def worker() -> None:
        while True:
            t0 = time.monotonic()
            if t0 >= deadline:
                return
            async with session.get(url, headers=headers) as resp:
                await resp.read()
                ok = resp.status == 200
            if t0 >= warm_until:
                into.latencies.append(time.monotonic() - t0)
                into.errors += not ok

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    into.seconds += SLICE_S


async def run() -> list[dict]:
    import asyncpg

    admin = os.environ.get("HYPERTUBE_BENCH_DATABASE_URL") or os.environ.get("HYPERTUBE_TEST_DATABASE_URL")
    db_name = f"ht_bench_{os.getpid()}_{secrets.token_hex(3)}"
    db_url = None
    if admin:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{db_name}"')
        await conn.close()
        db_url = _with_db(admin, db_name)
    data_dir = tempfile.mkdtemp(prefix="ht-bench-api-")
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_child, args=(db_url, data_dir, ready, stop), daemon=True)
    proc.start()
    rows: list[dict] = []
    try:
        info = await asyncio.to_thread(ready.get, True, 120)
        api = f"http://127.0.0.1:{info['api']}"
        bare = f"http://127.0.0.1:{info['bare']}"
        auth = {"Authorization": f"Bearer {info['token']}", "Accept": "application/json"}
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            targets = {
                "GET /api/v1/movies": "/api/v1/movies",
                "GET /api/v1/movies/{id}": f"/api/v1/movies/{info['movie_id']}",
            }
            for label, path in targets.items():
                async with session.get(api + path, headers=auth) as resp:
                    assert resp.status == 200, await resp.text()
                    body = await resp.read()
                name = "list" if path.endswith("movies") else "detail"
                async with session.put(f"{bare}/bare/{name}", data=body) as resp:
                    assert resp.status == 204
                full, plain = Sample(), Sample()
                for n in range(ROUNDS):
                    pair = [(api + path, auth, full), (f"{bare}/bare/{name}", {}, plain)]
                    for url, headers, into in pair if n % 2 == 0 else pair[::-1]:
                        await _load(session, url, headers, into)
                ratio = full.row()["req_per_s"] / plain.row()["req_per_s"]
                rows.append({"endpoint": label, "server": "hypertube", **full.row(), "vs_bare": ratio})
                rows.append({"endpoint": label, "server": "bare aiohttp", **plain.row(), "vs_bare": 1.0})
    finally:
        stop.put(True)
        await asyncio.to_thread(proc.join, 20)
        if proc.is_alive():
            proc.terminate()
        if admin:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            await conn.close()
    return rows
