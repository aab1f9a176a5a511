"""Live fan-out: 500 Socket.IO clients in one film room, chat messages delivered to all (1 process, 2 + Redis).

Real server processes (`hypertube` app under aiohttp) on loopback; receivers run in two client
processes; latency is send → receive on the shared monotonic clock, for every receiver of every message.
Settings: HYPERTUBE_BENCH_DATABASE_URL or HYPERTUBE_TEST_DATABASE_URL (an admin URL: a scratch database
is created and dropped; else an embedded PostgreSQL), HYPERTUBE_TEST_REDIS_URL (or redis://127.0.0.1:6379/0)
for the two-process row, BENCH_LIVE_CLIENTS (default 500), BENCH_LIVE_MESSAGES (default 5)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.support import free_port as _free_port
from tests.fixtures.live import forget_redis_prefix

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "z" * 40
WORKERS = 2
CONNECT_TIMEOUT = 90.0
MESSAGE_GAP = 1.1  # stays under the chat limit of 5 messages in 5 s


# --- a server process ----------------------------------------------------------------------------


def serve(port: int) -> None:
    """Runs one app process (called as `python -m bench.bench_live serve PORT`)."""
    import logging

    from aiohttp import web

    from hypertube.app import create_app
    from hypertube.settings import load_settings

    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(dotenv=None)
    settings = settings.replace(extra={"redis_prefix": os.environ["BENCH_REDIS_PREFIX"]})
    web.run_app(create_app(settings), host="127.0.0.1", port=port, print=None, access_log=None)


# --- a receiving process -------------------------------------------------------------------------


async def receive(urls: list[str], token: str, count: int, movie_id: int, messages: int) -> None:
    """Connects `count` clients round-robin over `urls`, reports READY, then the latencies as JSON.

    The clients speak the Engine.IO 4 / Socket.IO 5 wire protocol over a bare aiohttp WebSocket (what
    socket.io-client does in a browser, minus its bookkeeping), so that the figure measures the server's
    fan-out rather than the cost of running hundreds of full Python clients on the same two cores."""
    import aiohttp

    latencies: list[float] = []
    per_message: dict[str, list[float]] = {}
    done = asyncio.Event()
    joined = 0
    expected = count * messages
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))  # one connection per client

    async def one(i: int, ready: asyncio.Event) -> None:
        nonlocal joined
        url = urls[i % len(urls)].replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        async with session.ws_connect(url, headers={"Cookie": f"access_token={token}"}) as ws:
            if not (await ws.receive_str()).startswith("0"):  # Engine.IO open
                raise RuntimeError("no Engine.IO handshake")
            await ws.send_str("40")  # Socket.IO connect to namespace /
            reply = await ws.receive_str()
            if not reply.startswith("40"):
                raise RuntimeError(f"connection refused: {reply}")
            await ws.send_str("421" + json.dumps(["join", {"movie_id": movie_id}]))
            async for msg in ws:
                data = msg.data
                if data == "2":  # Engine.IO ping
                    await ws.send_str("3")
                elif data.startswith("431"):  # the join ack
                    if not json.loads(data[3:])[0].get("ok"):
                        raise RuntimeError(f"join refused: {data[:200]}")
                    joined += 1
                    ready.set()
                elif data.startswith('42["chat:message"'):
                    now = time.monotonic()
                    sent = float(json.loads(data[2:])[1]["text"])
                    latencies.append(now - sent)
                    per_message.setdefault(f"{sent:.3f}", []).append(now - sent)
                    if len(latencies) >= expected:
                        done.set()
                if done.is_set():
                    break

    tasks = []
    for start in range(0, count, 25):  # in batches: a thundering herd would measure the backlog, not fan-out
        batch = [asyncio.Event() for _ in range(start, min(count, start + 25))]
        tasks += [asyncio.create_task(one(start + k, ev)) for k, ev in enumerate(batch)]
        await asyncio.wait_for(asyncio.gather(*(ev.wait() for ev in batch)), 60)
        if os.environ.get("BENCH_LIVE_VERBOSE"):
            print(f"connected {joined}", file=sys.stderr, flush=True)
    print("READY", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), messages * MESSAGE_GAP + 20)
    print(json.dumps({"latencies": latencies, "expected": expected}), flush=True)
    if os.environ.get("BENCH_LIVE_VERBOSE"):
        for sent, values in sorted(per_message.items()):
            values.sort()
            first, median, last = values[0] * 1000, values[len(values) // 2] * 1000, values[-1] * 1000
            print(
                f"message {sent}: first {first:.1f} ms, median {median:.1f} ms, last {last:.1f} ms",
                file=sys.stderr,
            )
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await session.close()


# --- the benchmark -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _database():
    import asyncpg

    from hypertube.db import apply_migrations, database_url

    admin = os.environ.get("HYPERTUBE_BENCH_DATABASE_URL") or os.environ.get("HYPERTUBE_TEST_DATABASE_URL")
    if not admin:
        with tempfile.TemporaryDirectory(prefix="ht-bench-live-", ignore_cleanup_errors=True) as folder:
            async with database_url(None, Path(folder)) as url:
                conn = await asyncpg.connect(url)
                await apply_migrations(conn)
                await conn.close()
                yield url
        return
    name = f"ht_bench_live_{secrets.token_hex(4)}"
    base, _, query = admin.partition("?")
    url = f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        conn = await asyncpg.connect(url)
        await apply_migrations(conn)
        await conn.close()
        yield url
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def _seed(url: str) -> tuple[int, int, int]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        ids = []
        for name in ("benchsender", "benchviewer"):
            ids.append(
                await conn.fetchval(
                    """INSERT INTO users (email, username, first_name, last_name) VALUES ($1, $2, 'B', 'Ench')
                       ON CONFLICT (username) DO UPDATE SET first_name = 'B' RETURNING id""",
                    f"{name}@example.org",
                    name,
                )
            )
        movie = await conn.fetchval("INSERT INTO movies (title) VALUES ('Bench film') RETURNING id")
    finally:
        await conn.close()
    return ids[0], ids[1], movie


async def _wait_http(port: int, proc) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if proc.returncode is not None:
                raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


async def _stop(proc) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _scenario(db_url: str, redis_url: str | None, servers: int, clients: int, messages: int) -> dict:
    sender_id, viewer_id, movie_id = await _seed(db_url)
    prefix = f"htbench:{secrets.token_hex(4)}:"
    with tempfile.TemporaryDirectory(prefix="ht-bench-live-", ignore_cleanup_errors=True) as data_dir:
        env = {
            **os.environ,
            "HYPERTUBE_DATABASE_URL": db_url,
            "HYPERTUBE_SECRET_KEY": SECRET,
            "HYPERTUBE_DATA_DIR": data_dir,
            "HYPERTUBE_SOURCES": "",
            "BENCH_REDIS_PREFIX": prefix,
            "PYTHONPATH": str(ROOT),
        }
        try:
            return await _measure(env, redis_url, servers, clients, messages, sender_id, viewer_id, movie_id)
        finally:
            if redis_url:
                await forget_redis_prefix(redis_url, prefix)


async def _measure(env, redis_url, servers, clients, messages, sender_id, viewer_id, movie_id) -> dict:
    import socketio

    from hypertube.accounts.tokens import issue_access_token

    env.pop("HYPERTUBE_REDIS_URL", None)
    if redis_url:
        env["HYPERTUBE_REDIS_URL"] = redis_url
    procs, workers = [], []
    sender = socketio.AsyncClient(reconnection=False)
    try:
        ports = [_free_port() for _ in range(servers)]
        for port in ports:
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bench.bench_live", "serve", str(port), cwd=ROOT, env=env
                )
            )
        await asyncio.gather(*(_wait_http(p, proc) for p, proc in zip(ports, procs, strict=True)))
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        viewer_token = issue_access_token(SECRET, viewer_id, 3600)
        t0 = time.monotonic()
        per_worker = [clients // WORKERS + (1 if i < clients % WORKERS else 0) for i in range(WORKERS)]
        for n in per_worker:
            args = [json.dumps(urls), viewer_token, str(n), str(movie_id), str(messages)]
            workers.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.bench_live",
                    "receive",
                    *args,
                    cwd=ROOT,
                    env=env,
                    stdout=asyncio.subprocess.PIPE,
                )
            )
        for w in workers:
            assert w.stdout is not None  # started with stdout=PIPE
            line = await asyncio.wait_for(w.stdout.readline(), CONNECT_TIMEOUT)
            if line.strip() != b"READY":
                raise RuntimeError(f"receiver failed to connect: {line!r}")
        connect_s = time.monotonic() - t0
        await sender.connect(
            urls[0],
            headers={"Cookie": f"access_token={issue_access_token(SECRET, sender_id, 3600)}"},
            transports=["websocket"],
        )
        await sender.call("join", {"movie_id": movie_id})
        await asyncio.sleep(1.5)  # let the join-time presence broadcasts settle
        for _ in range(messages):
            reply = await sender.call("chat:send", {"movie_id": movie_id, "text": f"{time.monotonic():.6f}"})
            if not reply.get("ok"):
                raise RuntimeError(f"send refused: {reply}")
            await asyncio.sleep(MESSAGE_GAP)
        latencies: list[float] = []
        expected = 0
        for w in workers:
            assert w.stdout is not None
            line = await asyncio.wait_for(w.stdout.readline(), messages * MESSAGE_GAP + 30)
            result = json.loads(line)
            latencies += result["latencies"]
            expected += result["expected"]
            await w.wait()
    finally:
        if sender.connected:
            await sender.disconnect()
        for w in workers:
            await _stop(w)
        for proc in procs:
            await _stop(proc)
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    return {
        "scenario": f"{servers} process{'es' if servers > 1 else ''}" + (" + Redis" if redis_url else ""),
        "clients": clients,
        "messages": messages,
        "delivered": f"{len(ms)}/{expected}",
        "p50_ms": statistics.median(ms) if ms else float("nan"),
        "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan"),
        "max_ms": ms[-1] if ms else float("nan"),
        "connect_s": connect_s,
        "load_avg": round(os.getloadavg()[0], 1),  # the machine is shared: say how busy it was
        "goal": "p99 < 100 ms" if servers == 1 else "",
    }


async def _redis_available(url: str) -> bool:
    import redis.asyncio as redis

    conn = redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(await conn.ping())
    except Exception:
        return False
    finally:
        await conn.aclose()


async def run() -> list[dict]:
    clients = int(os.environ.get("BENCH_LIVE_CLIENTS", "500"))
    messages = int(os.environ.get("BENCH_LIVE_MESSAGES", "5"))
    redis_url = os.environ.get("HYPERTUBE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    rows = []
    async with _database() as db_url:
        rows.append(await _scenario(db_url, None, 1, clients, messages))
        if await _redis_available(redis_url):
            rows.append(await _scenario(db_url, redis_url, 2, clients, messages))
        else:
            rows.append({"scenario": "2 processes + Redis", "delivered": f"skipped: no Redis at {redis_url}"})
    return rows


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    elif sys.argv[1] == "receive":
        urls, token, count, movie_id, messages = sys.argv[2:7]
        asyncio.run(receive(json.loads(urls), token, int(count), int(movie_id), int(messages)))
