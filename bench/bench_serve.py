"""Serving cost of a downloaded film: our /stream/{id}/file against a bare aiohttp FileResponse server.

A 60 MB film is first downloaded whole by the server over loopback BitTorrent. Then 1 and 16 viewers
each read the whole file at once, from our server and from a bare aiohttp server sending the same file
with `web.FileResponse`, in the same run. Throughput is bytes ÷ wall time; CPU is the server process's
user + system seconds (from /proc/<pid>/stat) per GiB sent.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg

from bench import support
from hypertube.accounts.tokens import issue_access_token
from hypertube.db import apply_migrations
from hypertube.torrent.seeder import PIECE_SIZE, Seeder, make_torrent

FILMS = Path("var/bench/films")
FILM_BYTES = 60 * 1000 * 1000
VIEWERS = (1, 16)
SECRET = "bench-serve-secret-" + "x" * 32
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _film() -> Path:
    """60 MB of noise named like a film: what is measured is moving bytes, not decoding them."""
    path = FILMS / "serve-60mb" / "serve-60mb.mp4"
    if not path.exists() or path.stat().st_size != FILM_BYTES:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            for _ in range(FILM_BYTES // 1_000_000):
                fh.write(os.urandom(1_000_000))
    return path


def _cpu_seconds(pid: int) -> float:
    # Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def _read_all(session: aiohttp.ClientSession, url: str) -> int:
    got = 0
    async with session.get(url) as resp:
        if resp.status != 200:
            raise RuntimeError(f"{url}: HTTP {resp.status} {await resp.text()}")
        async for chunk in resp.content.iter_any():
            got += len(chunk)
    return got


async def _measure(session: aiohttp.ClientSession, url: str, pid: int, viewers: int) -> tuple[float, float]:
    """(MB/s, CPU seconds per GiB) for `viewers` clients each reading the whole file at once."""
    cpu = _cpu_seconds(pid)
    started = time.monotonic()
    sizes = await asyncio.gather(*(_read_all(session, url) for _ in range(viewers)))
    elapsed = time.monotonic() - started
    cpu = _cpu_seconds(pid) - cpu
    if sizes != [FILM_BYTES] * viewers:
        raise RuntimeError(f"{url}: short reads {sizes}")
    sent = sum(sizes)
    return sent / elapsed / 1e6, cpu / (sent / 2**30)


async def _downloaded(conn: asyncpg.Connection, movie_id: int, data_dir: Path) -> Path:
    """Waits until the server records the film as complete; returns the file on its disk."""
    for _ in range(600):
        progress = await conn.fetchval("SELECT max(progress) FROM downloads WHERE movie_id = $1", movie_id)
        if progress is not None and progress >= 1.0:
            return next((data_dir / "downloads").rglob("serve-60mb.mp4"))
        await asyncio.sleep(0.1)
    raise RuntimeError("the film did not finish downloading within 60 s")


def _start_bare_server(path: Path) -> tuple[subprocess.Popen, str]:
    port = support.free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.bench_serve", str(path), str(port)])
    return server, f"http://127.0.0.1:{port}"


async def _compare(
    ours: tuple[aiohttp.ClientSession, str, int], bare: tuple[aiohttp.ClientSession, str, int]
):
    rows = []
    for viewers in VIEWERS:
        our_rate, our_cpu = await _measure(*ours, viewers)
        bare_rate, bare_cpu = await _measure(*bare, viewers)
        for server, rate, cpu in (
            ("/stream/{id}/file", our_rate, our_cpu),
            ("bare FileResponse", bare_rate, bare_cpu),
        ):
            rows.append(
                {"server": server, "viewers": viewers, "MB/s": round(rate), "cpu_s_per_GiB": round(cpu, 2)}
            )
        rows[-2]["throughput_vs_bare"] = round(our_rate / bare_rate, 2)
        rows[-2]["cpu_vs_bare"] = round(our_cpu / bare_cpu, 1) if bare_cpu else ""
    return rows


async def run() -> list[dict]:
    film = await asyncio.to_thread(_film)
    work = Path(tempfile.mkdtemp(prefix="ht-bench-serve-"))
    torrent = work / "serve-60mb.torrent"
    await asyncio.to_thread(make_torrent, film, torrent, piece_size=PIECE_SIZE)
    seeder = Seeder()
    seeder.start()
    info_hash = seeder.add(torrent, film.parent)
    admin, url, embedded = await support.create_database("ht_bench_serve")
    server = bare = None
    try:
        conn = await asyncpg.connect(url)
        await apply_migrations(conn)
        user_id = await support.insert_user(conn)
        movie_id = await support.insert_film(conn, "serve", info_hash, seeder.magnet(info_hash, film.name))
        data_dir = work / "server"
        data_dir.mkdir()
        server, base = support.start_server(url, data_dir, SECRET)  # noqa: ASYNC220 - started once, before any timing
        token = issue_access_token(SECRET, user_id, 3600)
        async with (
            aiohttp.ClientSession(cookies={"access_token": token}) as session,
            aiohttp.ClientSession() as plain,
        ):
            await support.wait_healthy(session, base, 30, server)
            ours = f"{base}/stream/{movie_id}/file"
            assert await _read_all(session, ours) == FILM_BYTES  # the download itself, not timed
            downloaded = await _downloaded(conn, movie_id, data_dir)
            bare, bare_base = _start_bare_server(downloaded)  # noqa: ASYNC220 - before any timing
            await support.wait_healthy(plain, bare_base, 30, bare)
            await _read_all(plain, f"{bare_base}/file")  # same warm start as ours
            rows = await _compare((session, ours, server.pid), (plain, f"{bare_base}/file", bare.pid))
        await conn.close()
        return rows
    finally:
        support.stop_server(bare)
        support.stop_server(server)
        seeder.stop()
        await support.drop_database(admin, url, embedded)
        shutil.rmtree(work, ignore_errors=True)


def serve_file(path: str, port: int) -> None:
    """The bare server: one route sending the file with aiohttp's FileResponse (sendfile)."""
    from aiohttp import web

    async def file(request: web.Request) -> web.FileResponse:
        return web.FileResponse(path)

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/file", file)
    app.router.add_get("/healthz", health)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    serve_file(sys.argv[1], int(sys.argv[2]))
