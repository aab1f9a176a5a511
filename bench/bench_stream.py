"""Playing a film as a user does, over loopback BitTorrent at 2 MiB/s: first 2 MiB and first HLS segment.

The server runs as its own process with YTS and the Internet Archive pointed at fakes that speak their
answer shapes (`bench/swarm.py`); each film is found by searching the library, and its peers through
the tracker its torrent names (or, for a magnet alone, the tracker the server adds to every torrent).
Three ways in: a YTS magnet only, an Archive `.torrent` file only, a YTS magnet and `.torrent` file.
Each case is a torrent the server has never seen, from its own seeder capped at 2 MiB/s (256 KiB
pieces): cold (play pressed on the search result), then with the film page opened a second before play.
The bound is the whole pieces needed ÷ 2 MiB/s: for the first 2 MiB, the 8 or 9 pieces under it; for a
segment, those the converter reads (header, seek index, the segment). Then three films are streamed at
once from an uncapped seeder while the server's resident memory is sampled.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg

from bench.bench_media import PIECE, RATE, generated, pieces_needed
from bench.support import create_database, drop_database, start_server, stop_server, wait_healthy
from bench.swarm import SourceSwarm, library_cards
from hypertube.accounts.tokens import issue_access_token
from hypertube.db import apply_migrations
from hypertube.torrent.seeder import Seeder

TWO_MIB = 2 * 1024 * 1024
SECRET = "bench-stream-secret-" + "x" * 32
PATHS = ("magnet only", ".torrent only", "magnet and .torrent")
# Titles the library search finds one by one: no two share a word, or a search would match enough
# stored films not to ask the sources.
WORDS = (
    "Alfa Bravo Charlie Delta Echo Foxtrot Golf Hotel India Juliett Kilo Lima Mike November Oscar Papa "
    "Quebec Romeo Sierra Tango Uniform Victor Whiskey Xray Yankee Zulu Amber Cobalt Crimson Indigo Jade "
    "Ochre Scarlet Teal Umber Violet"
).split()


def _mp4() -> Path:
    return generated("h264-aac-720p-stream.mp4", "h264", "aac")


def _mkv() -> Path:
    return generated("h264-ac3-720p.mkv", "h264", "ac3")


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Bench:
    """The server, the fake sources and a signed-in client; publishes and finds films."""

    def __init__(self, work: Path, swarm: SourceSwarm, session: aiohttp.ClientSession, base: str):
        self.work = work
        self.swarm = swarm
        self.session = session
        self.base = base
        self.published = 0
        # In every torrent's name: other processes seeding the same film (an earlier run, found through
        # local service discovery) would otherwise feed this run uncapped.
        self.run = os.urandom(3).hex()
        self.seeders: list[Seeder] = []

    def publish(self, source: Path, path: str) -> str:
        """A copy of `source` under a new name (a torrent the server has never seen), published by the
        fake source that gives it the way `path` says; returns its title."""
        self.published += 1
        title = WORDS[self.published - 1]
        identifier = f"{title.lower()}_{self.run}_{self.published}"
        folder = self.work / "items" / identifier
        folder.mkdir(parents=True)
        copy = folder / f"{identifier}{source.suffix}"
        try:
            os.link(source, copy)
        except OSError:
            shutil.copy(source, copy)
        if path == ".torrent only":
            self.swarm.publish_archive(identifier, title, folder)
        else:
            magnet_only = path == "magnet only"
            self.swarm.publish_yts(self.published, title, copy, torrent_url=not magnet_only)
        return title

    async def find(self, title: str) -> int:
        """The film's id, from the library search (asked again while the sources are being asked)."""
        for _ in range(50):
            async with self.session.get(f"{self.base}/", params={"q": title}) as resp:
                html = await resp.text()
            movie_id = library_cards(html).get(title)
            if movie_id is not None:
                return movie_id
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{title} was not found by the library search")

    async def open_page(self, movie_id: int) -> None:
        """The film page, then a second of reading it: the server prepares the torrent meanwhile."""
        async with self.session.get(f"{self.base}/movies/{movie_id}") as resp:
            assert resp.status == 200
        await asyncio.sleep(1.0)

    async def first_bytes(self, movie_id: int, first: int, last: int) -> float:
        started = time.monotonic()
        got = 0
        url = f"{self.base}/stream/{movie_id}/file"
        async with self.session.get(url, headers={"Range": f"bytes={first}-{last}"}) as resp:
            if resp.status != 206:
                raise RuntimeError(f"{url}: HTTP {resp.status} {await resp.text()}")
            async for chunk in resp.content.iter_any():
                got += len(chunk)
        assert got == last - first + 1
        return time.monotonic() - started

    async def first_segment(self, movie_id: int, fraction: float) -> float:
        """The playlist (the server probes the film), then the segment under `fraction` of it."""
        started = time.monotonic()
        hls = f"{self.base}/stream/{movie_id}/hls"
        async with self.session.get(f"{hls}/index.m3u8") as resp:
            if resp.status != 200:
                raise RuntimeError(f"playlist: HTTP {resp.status} {await resp.text()}")
            durations = [float(d) for d in re.findall(r"#EXTINF:([0-9.]+)", await resp.text())]
        at = fraction * sum(durations)
        index = next(i for i in range(len(durations)) if sum(durations[: i + 1]) > at)
        async with self.session.get(f"{hls}/{index}.ts") as resp:
            if resp.status != 200:
                raise RuntimeError(f"segment: HTTP {resp.status} {await resp.text()}")
            await resp.read()
        return time.monotonic() - started


def _row(measure: str, seconds: float, bound: float) -> dict:
    return {
        "measure": measure,
        "seconds": round(seconds, 3),
        "bound_s": round(bound, 3),
        "ratio": round(seconds / bound, 2),
    }


async def _case(bench: Bench, path: str, what: str, fraction: float, page_first: bool) -> dict:
    film = await asyncio.to_thread(_mp4 if what == "2 MiB" else _mkv)
    # Its own seeder, kept to the end: the server goes on downloading the film in the background
    # (and cutting the next segments), which must neither stall nor eat into the next case's 2 MiB/s.
    seeder = Seeder(upload_rate=RATE)
    seeder.start()
    bench.seeders.append(seeder)
    bench.swarm.seeder = seeder
    title = await asyncio.to_thread(bench.publish, film, path)
    movie_id = await bench.find(title)
    if page_first:
        await bench.open_page(movie_id)
    where = f"{int(fraction * 100)} %, {path}, {'page first' if page_first else 'cold'}"
    if what == "2 MiB":
        first = int(film.stat().st_size * fraction)
        seconds = await bench.first_bytes(movie_id, first, first + TWO_MIB - 1)
        pieces = (first + TWO_MIB - 1) // PIECE - first // PIECE + 1
        return _row(f"first 2 MiB at {where}", seconds, pieces * PIECE / RATE)
    seconds = await bench.first_segment(movie_id, fraction)
    needed = await asyncio.to_thread(pieces_needed, film, fraction)
    return _row(f"first HLS segment (MKV) at {where}", seconds, len(needed) * PIECE / RATE)


async def _three_at_once(bench: Bench, server_pid: int) -> list[dict]:
    film = await asyncio.to_thread(_mp4)
    seeder = Seeder()
    seeder.start()
    bench.seeders.append(seeder)
    bench.swarm.seeder = seeder
    titles = [await asyncio.to_thread(bench.publish, film, "magnet and .torrent") for _ in range(3)]
    movies = [await bench.find(title) for title in titles]
    baseline = peak = _rss(server_pid)
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss(server_pid))
            await asyncio.sleep(0.05)

    async def whole(movie_id: int) -> int:
        got = 0
        async with bench.session.get(f"{bench.base}/stream/{movie_id}/file") as resp:
            async for chunk in resp.content.iter_any():
                got += len(chunk)
        return got

    sampler = asyncio.create_task(sample())
    started = time.monotonic()
    sizes = await asyncio.gather(*(whole(m) for m in movies))
    elapsed = time.monotonic() - started
    done.set()
    await sampler
    assert sizes == [film.stat().st_size] * 3
    mb = film.stat().st_size / 1e6
    return [
        {"measure": "server RSS before streaming (MiB)", "ratio": round(baseline / 2**20, 1)},
        {
            "measure": f"server RSS peak, 3 films of {mb:.0f} MB at once in {elapsed:.1f} s (MiB)",
            "seconds": round(elapsed, 2),
            "ratio": round(peak / 2**20, 1),
        },
    ]


CASES = [
    (path, what, fraction, page_first)
    for page_first in (False, True)
    for path in PATHS
    for what in ("2 MiB", "segment")
    for fraction in (0.0, 0.7)
]


async def run(cases: list[tuple[str, str, float, bool]] = CASES, together: bool = True) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix="ht-bench-stream-"))
    swarm = await SourceSwarm(work / "torrents", Seeder()).start()  # a seeder per film, set by each case
    admin, url, embedded = await create_database("ht_bench_stream")
    server = bench = None
    try:
        conn = await asyncpg.connect(url)
        await apply_migrations(conn)
        user_id = await conn.fetchval(
            """INSERT INTO users (email, username, first_name, last_name, email_verified)
               VALUES ('bench@example.org', 'bench', 'Bench', 'User', true) RETURNING id"""
        )
        await conn.close()
        data_dir = work / "server"
        data_dir.mkdir()
        server, base = start_server(url, data_dir, SECRET, swarm.environment())  # noqa: ASYNC220 - before any timing
        token = issue_access_token(SECRET, user_id, 3600)
        rows: list[dict] = []
        async with aiohttp.ClientSession(cookies={"access_token": token}) as session:
            await wait_healthy(session, base, 30, server)
            bench = Bench(work, swarm, session, base)
            for path, what, fraction, page_first in cases:
                try:
                    rows.append(await _case(bench, path, what, fraction, page_first))
                except Exception as exc:  # one stalled case must not hide the others
                    rows.append({"measure": f"{what} at {fraction} {path} failed: {exc!r}"})
            if together:
                rows += await _three_at_once(bench, server.pid)
        return rows
    finally:
        stop_server(server)
        for seeder in bench.seeders if bench else []:
            seeder.stop()
        await swarm.close()
        await drop_database(admin, url, embedded)
        shutil.rmtree(work, ignore_errors=True)
