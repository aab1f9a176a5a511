"""Library search and browse: 20,000 films, 50 concurrent clients against the real server on a real port.

Two phases: 50 users who pause a little between actions (0-1 s, like people scrolling), then the same 50
clients firing back to back (saturation: what the server can do at most on this machine)."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import asyncpg

from bench.support import create_database, drop_database, start_server, stop_server, wait_healthy
from hypertube.accounts.tokens import issue_access_token
from hypertube.db import apply_migrations

FILMS = 20_000
CLIENTS = 50
DURATION = 15.0
SATURATION = 8.0
WARMUP = 2.0
THINK = 1.0
SECRET = "bench-secret-" + "b" * 40
ROOT = Path(__file__).resolve().parent.parent
WORDS = (
    "silent",
    "iron",
    "crimson",
    "river",
    "moon",
    "empire",
    "garden",
    "storm",
    "kingdom",
    "tower",
    "voyage",
)
TYPOS = (
    "matirx",
    "godfathr",
    "jurasic park",
    "star wors",
    "nosferatu",
    "metropolis",
    "the generl",
    "crimsn moon",
)
GENRES = ("", "Action", "Comedy", "Drama", "Horror", "Sci-Fi", "Western")
SORTS = ("popularity", "name", "year", "rating")


def _request(rng: random.Random) -> tuple[str, str]:
    """(kind, path) of one user action."""
    roll = rng.random()
    params: dict[str, str] = {}
    if roll < 0.45:
        kind = "browse"
        params["sort"] = rng.choice(SORTS)
        if rng.random() < 0.5:
            params["genre"] = rng.choice(GENRES)
        if rng.random() < 0.3:
            low = rng.randint(1920, 2010)
            params.update(year_min=str(low), year_max=str(low + rng.randint(5, 30)))
    else:
        kind = "search"
        if rng.random() < 0.3:
            params["q"] = rng.choice(TYPOS)
        else:
            params["q"] = " ".join(rng.sample(WORDS, rng.randint(1, 2)))
        if rng.random() < 0.3:
            params["sort"] = rng.choice(("relevance", "year", "rating"))
    return kind, "/?" + urlencode(params)


async def _client(
    session: aiohttp.ClientSession,
    base: str,
    rng: random.Random,
    stop: float,
    out: dict[str, list[float]],
    think: float = 0.0,
) -> None:
    while time.monotonic() < stop:
        if think:
            await asyncio.sleep(rng.uniform(0, think))
        kind, path = _request(rng)
        scroll = rng.random() < 0.35
        if scroll:  # the infinite scroll: first page as JSON, then the next page by cursor
            path = path.replace("/?", "/library/page?", 1)
        t0 = time.perf_counter()
        async with session.get(base + path) as resp:
            body = await resp.read()
            ok = resp.status == 200
        out.setdefault(kind, []).append((time.perf_counter() - t0) * 1000 if ok else -1)
        if scroll and ok:
            import orjson

            nxt = orjson.loads(body).get("next")
            if nxt and time.monotonic() < stop:
                t0 = time.perf_counter()
                async with session.get(base + nxt) as resp:
                    await resp.read()
                    ok = resp.status == 200
                out.setdefault("next page", []).append((time.perf_counter() - t0) * 1000 if ok else -1)


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _row(kind: str, samples: list[float], seconds: float) -> dict:
    good = sorted(s for s in samples if s >= 0)
    pick = lambda p: good[min(len(good) - 1, int(p * len(good)))] if good else float("nan")  # noqa: E731
    return {
        "requests": kind,
        "count": len(samples),
        "errors": len(samples) - len(good),
        "req_per_s": len(samples) / seconds,
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
        "max_ms": good[-1] if good else float("nan"),
    }


async def run() -> list[dict]:
    admin, url, embedded = await create_database("ht_bench_library")
    server = None
    try:
        conn = await asyncpg.connect(url)
        await apply_migrations(conn)
        sys.path.insert(0, str(ROOT))
        from tests.fixtures.catalog import insert_generated_films

        t0 = time.monotonic()
        await insert_generated_films(conn, FILMS)
        print(f"   {FILMS} films generated in {time.monotonic() - t0:.1f} s", flush=True)
        user_id = await conn.fetchval(
            """INSERT INTO users (email, username, first_name, last_name, email_verified)
               VALUES ('bench@example.org', 'bench', 'Bench', 'User', true) RETURNING id"""
        )
        await conn.close()
        data_dir = Path(tempfile.mkdtemp(prefix="ht-bench-data-"))
        server, base = start_server(url, data_dir, SECRET)  # noqa: ASYNC220 - started once, before any timing
        token = issue_access_token(SECRET, user_id, 3600)
        connector = aiohttp.TCPConnector(limit=CLIENTS)
        async with aiohttp.ClientSession(connector=connector, cookies={"access_token": token}) as session:
            await wait_healthy(session, base, 20)
            warm: dict[str, list[float]] = {}
            stop = time.monotonic() + WARMUP
            await asyncio.gather(
                *(_client(session, base, random.Random(i), stop, warm) for i in range(CLIENTS))
            )
            rows = []
            for phase, duration, think, seed in (
                ("50 users", DURATION, THINK, 1000),
                ("saturation", SATURATION, 0.0, 2000),
            ):
                results: dict[str, list[float]] = {}
                cpu_before = _cpu_seconds(server.pid)
                started = time.monotonic()
                stop = started + duration
                await asyncio.gather(
                    *(
                        _client(session, base, random.Random(seed + i), stop, results, think)
                        for i in range(CLIENTS)
                    )
                )
                seconds = time.monotonic() - started
                cpu = _cpu_seconds(server.pid) - cpu_before
                for kind, samples in sorted(results.items()):
                    rows.append({"phase": phase, **_row(kind, samples, seconds)})
                every = [s for v in results.values() for s in v]
                rows.append(
                    {
                        "phase": phase,
                        **_row("all", every, seconds),
                        # CPU the server process spent per request (database work not included): a
                        # figure that depends less on what else this machine is doing.
                        "server_cpu_ms": 1000 * cpu / max(1, len(every)),
                        "server_cpu_share": cpu / seconds,
                    }
                )
        return rows
    finally:
        stop_server(server)
        await drop_database(admin, url, embedded)
