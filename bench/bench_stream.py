"""Direct play over loopback BitTorrent: first byte and first 2 MiB at 0 and at 70 %, against the bound.

A ~30 MB 720p film (256 KiB pieces) seeded by a libtorrent session capped at 2 MiB/s; the server runs
as its own process and is asked for byte ranges over HTTP, each case on a torrent it has never seen:
cold (the time includes the magnet's metadata exchange), then as a user does it, the film page opened
a second before play. The bound is bytes needed (whole pieces) ÷
the seed rate. Then three films are streamed at once from an uncapped seeder while the server's
resident memory is sampled.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg

from bench.support import (
    create_database,
    drop_database,
    insert_film,
    insert_user,
    start_server,
    stop_server,
    wait_healthy,
)
from hypertube.accounts.tokens import issue_access_token
from hypertube.db import apply_migrations
from hypertube.torrent.seeder import PIECE_SIZE, Seeder, make_torrent

FILMS = Path("var/bench/films")
RATE = 2 * 1024 * 1024
TWO_MIB = 2 * 1024 * 1024
SECRET = "bench-stream-secret-" + "x" * 32


def _film() -> Path:
    from hypertube.media.generate import generate_film

    FILMS.mkdir(parents=True, exist_ok=True)
    path = FILMS / "h264-aac-720p-stream.mp4"
    if not path.exists():
        generate_film(
            path,
            container="mp4",
            video_codec="h264",
            audio_codec="aac",
            duration_s=30,
            width=1280,
            height=720,
            noise=8,
        )
    return path


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _copies(source: Path, folder: Path, names: list[str]) -> list[tuple[Path, Path]]:
    """Hard links of the film under other names: each becomes a torrent the server has never seen."""
    out = []
    for name in names:
        path = folder / "content" / f"{name}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            try:
                os.link(source, path)
            except OSError:
                path.write_bytes(source.read_bytes())
        torrent = folder / f"{name}.torrent"
        make_torrent(path, torrent, piece_size=PIECE_SIZE)
        out.append((path, torrent))
    return out


async def _timed_range(session, url: str, first: int, last: int) -> tuple[float, float, int]:
    started = time.monotonic()
    first_byte = 0.0
    got = 0
    async with session.get(url, headers={"Range": f"bytes={first}-{last}"}) as resp:
        if resp.status != 206:
            raise RuntimeError(f"{url}: HTTP {resp.status} {await resp.text()}")
        async for chunk in resp.content.iter_any():
            if not first_byte:
                first_byte = time.monotonic() - started
            got += len(chunk)
    return first_byte, time.monotonic() - started, got


def _pieces(first: int, last: int) -> int:
    return last // PIECE_SIZE - first // PIECE_SIZE + 1


async def run() -> list[dict]:
    film = await asyncio.to_thread(_film)
    size = film.stat().st_size
    work = Path(tempfile.mkdtemp(prefix="ht-bench-stream-"))
    names = ["at0", "at70", "warm0", "warm70", "seek", "multi1", "multi2", "multi3"]
    copies = await asyncio.to_thread(_copies, film, work, names)
    # One capped seeder per timed case: the server keeps downloading the first film in the
    # background, which must not eat into the second case's 2 MiB/s.
    seeders = {name: Seeder(upload_rate=RATE) for name in ("at0", "at70", "warm0", "warm70", "seek")}
    free = Seeder()
    for seeder in (*seeders.values(), free):
        seeder.start()
    hashes = {}
    for name, (path, torrent) in zip(names, copies, strict=True):
        seeder = seeders.get(name, free)
        hashes[name] = (seeder.add(torrent, path.parent), seeder, path.name)

    admin, url, embedded = await create_database("ht_bench_stream")
    server = None
    try:
        conn = await asyncpg.connect(url)
        await apply_migrations(conn)
        user_id = await insert_user(conn)
        movies = {}
        for name, (info_hash, seeder, file_name) in hashes.items():
            movies[name] = await insert_film(conn, name, info_hash, seeder.magnet(info_hash, file_name))
        await conn.close()

        data_dir = work / "server"
        data_dir.mkdir()
        server, base = start_server(url, data_dir, SECRET)  # noqa: ASYNC220 - started once, before any timing
        token = issue_access_token(SECRET, user_id, 3600)
        rows: list[dict] = []
        async with aiohttp.ClientSession(cookies={"access_token": token}) as session:
            await wait_healthy(session, base, 30)

            cases = (("at0", 0.0, ""), ("at70", 0.7, ""), ("warm0", 0.0, " (page opened first)"),
                     ("warm70", 0.7, " (page opened first)"))  # fmt: skip
            for name, fraction, note in cases:
                if note:
                    # A user opens the film page, reads it for a second, then presses play: the server
                    # has fetched the torrent's metadata and met its peer meanwhile.
                    async with session.get(f"{base}/movies/{movies[name]}") as resp:
                        assert resp.status == 200
                    await asyncio.sleep(1.0)
                first = int(size * fraction)
                last = first + TWO_MIB - 1
                ttfb, total, got = await _timed_range(
                    session, f"{base}/stream/{movies[name]}/file", first, last
                )
                assert got == TWO_MIB
                where = f"{int(fraction * 100)} %{note}"
                one_piece = PIECE_SIZE / RATE
                bound = _pieces(first, last) * PIECE_SIZE / RATE
                rows.append(
                    {
                        "measure": f"direct, first byte at {where}",
                        "seconds": round(ttfb, 3),
                        "bound_s": round(one_piece, 3),
                        "ratio": round(ttfb / one_piece, 2),
                    }
                )
                rows.append(
                    {
                        "measure": f"direct, first 2 MiB at {where}",
                        "seconds": round(total, 3),
                        "bound_s": round(bound, 3),
                        "ratio": round(total / bound, 2),
                    }
                )

            # Watching from the start, the player's buffer full after 2 MiB, the rest of the film
            # downloading in the background for 4 s; then a jump to 70 %.
            await _timed_range(session, f"{base}/stream/{movies['seek']}/file", 0, TWO_MIB - 1)
            await asyncio.sleep(4.0)
            first = int(size * 0.7)
            ttfb, total, got = await _timed_range(
                session, f"{base}/stream/{movies['seek']}/file", first, first + TWO_MIB - 1
            )
            assert got == TWO_MIB
            bound = _pieces(first, first + TWO_MIB - 1) * PIECE_SIZE / RATE
            rows.append(
                {
                    "measure": "direct, first 2 MiB after a jump to 70 % while the rest downloads",
                    "seconds": round(total, 3),
                    "bound_s": round(bound, 3),
                    "ratio": round(total / bound, 2),
                }
            )

            baseline = _rss(server.pid)
            peak = baseline
            done = asyncio.Event()

            async def sample() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, _rss(server.pid))
                    await asyncio.sleep(0.05)

            async def whole(name: str) -> int:
                got = 0
                async with session.get(f"{base}/stream/{movies[name]}/file") as resp:
                    async for chunk in resp.content.iter_any():
                        got += len(chunk)
                return got

            sampler = asyncio.create_task(sample())
            started = time.monotonic()
            sizes = await asyncio.gather(*(whole(n) for n in ("multi1", "multi2", "multi3")))
            elapsed = time.monotonic() - started
            done.set()
            await sampler
            assert sizes == [size] * 3
            rows.append(
                {
                    "measure": "server RSS before streaming (MiB)",
                    "seconds": "",
                    "bound_s": "",
                    "ratio": round(baseline / 2**20, 1),
                }
            )
            rows.append(
                {
                    "measure": f"server RSS peak, 3 films of {size / 1e6:.0f} MB at once in {elapsed:.1f} s (MiB)",
                    "seconds": round(elapsed, 2),
                    "bound_s": "",
                    "ratio": round(peak / 2**20, 1),
                }
            )
        return rows
    finally:
        stop_server(server)
        for seeder in (*seeders.values(), free):
            seeder.stop()
        await drop_database(admin, url, embedded)
        import shutil

        shutil.rmtree(work, ignore_errors=True)
