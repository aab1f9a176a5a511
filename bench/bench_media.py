"""Media: remux and transcode speed for 720p, time to the first playable segment at 0 and 70 % at 2 MiB/s."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import asyncpg

from hypertube.db import apply_migrations, connect_pool, database_url
from hypertube.media import convert, segments
from hypertube.media.generate import generate_film
from hypertube.media.service import MediaService
from hypertube.torrent import Engine
from hypertube.torrent.seeder import Seeder, make_torrent

FILMS = Path("var/bench/films")
RATE = 2 * 1024 * 1024  # the seeder's cap, bytes per second
PIECE = 256 * 1024


def _film(name: str, **kwargs) -> Path:
    FILMS.mkdir(parents=True, exist_ok=True)
    path = FILMS / name
    if not path.exists():
        generate_film(path, **kwargs)
    return path


def _convert_all(path: Path, limit: int | None = None) -> tuple[float, float, convert.MediaInfo]:
    """Seconds to cut every segment (or the first `limit`), and the film seconds they cover."""
    info = convert.probe(lambda: str(path))
    indexes = range(len(info.segments) if limit is None else min(limit, len(info.segments)))
    t0 = time.perf_counter()
    for i in indexes:
        segments.make_segment(lambda: str(path), info, i)
    elapsed = time.perf_counter() - t0
    covered = sum(e - s for s, e in info.segments[: len(indexes)])
    return elapsed, min(covered, info.duration), info


class PieceFile(io.RawIOBase):
    """A film that arrives piece by piece from one seeder capped at RATE: each piece not yet here costs
    PIECE / RATE seconds, in the order the reader asks for them (an ideal engine with deadlines and no
    readahead). Records which pieces were needed."""

    def __init__(self, path: Path, have: set[int], latency: float = 0.0, charge: bool = True):
        self._fh = open(path, "rb", buffering=0)  # noqa: SIM115 (closed in close())
        self.have = have
        self.latency = latency
        self.charge = charge
        self.size = path.stat().st_size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def readinto(self, b) -> int:
        pos = self._fh.tell()
        n = min(len(b), max(0, self.size - pos))
        if n:
            for piece in range(pos // PIECE, (pos + n - 1) // PIECE + 1):
                if piece not in self.have:
                    if self.charge:
                        time.sleep(min(PIECE, self.size - piece * PIECE) / RATE + self.latency)
                    self.have.add(piece)
        return self._fh.readinto(b) or 0

    def close(self) -> None:
        self._fh.close()
        super().close()


def _first_segment(path: Path, fraction: float) -> dict[str, object]:
    """Cold start: probe (header and index) then the segment under `fraction` of the film."""
    have: set[int] = set()
    t0 = time.perf_counter()
    info = convert.probe(lambda: PieceFile(path, have))
    segments.make_segment(lambda: PieceFile(path, have), info, _segment_at(info, fraction))
    elapsed = time.perf_counter() - t0
    needed = sum(min(PIECE, path.stat().st_size - p * PIECE) for p in have)
    bound = needed / RATE
    return {
        "measure": f"first segment at {int(fraction * 100)} % (converted MKV, ideal 2 MiB/s piece feed)",
        "value": round(elapsed, 3),
        "unit": "s",
        "bound_s": round(bound, 3),
        "ratio": round(elapsed / bound, 2) if bound else None,
        "bytes_needed": needed,
        "film_bytes": path.stat().st_size,
    }


def _pieces_needed(path: Path, fraction: float) -> set[int]:
    """The pieces the converter reads for a cold start at `fraction`: header, index, the segment."""
    have: set[int] = set()
    probe_info = convert.probe(lambda: PieceFile(path, have, charge=False))
    index = _segment_at(probe_info, fraction)
    segments.make_segment(lambda: PieceFile(path, have, charge=False), probe_info, index)
    return have


def _segment_at(info: convert.MediaInfo, fraction: float) -> int:
    return next(i for i, (s, e) in enumerate(info.segments) if s <= fraction * info.duration < e)


@contextlib.asynccontextmanager
async def _database():
    """A scratch database: a new one next to HYPERTUBE_TEST_DATABASE_URL, else embedded PostgreSQL."""
    admin = os.environ.get("HYPERTUBE_TEST_DATABASE_URL")
    folder = Path(tempfile.mkdtemp(prefix="ht-bench-media-db-"))
    try:
        if admin:
            name = f"ht_bench_media_{secrets.token_hex(3)}"
            conn = await asyncpg.connect(admin)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
            base, _, query = admin.partition("?")
            url = f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")
            try:
                pool = await connect_pool(url, min_size=1, max_size=4)
                async with pool.acquire() as c:
                    await apply_migrations(c)
                yield pool
                await pool.close()
            finally:
                conn = await asyncpg.connect(admin)
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await conn.close()
        else:
            async with database_url(None, folder) as url:
                pool = await connect_pool(url, min_size=1, max_size=4)
                async with pool.acquire() as c:
                    await apply_migrations(c)
                yield pool
                await pool.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def _swarm_first_segment(
    film: Path, fraction: float, raw_bytes: int = 0, warm: bool = False
) -> dict[str, object]:
    """Cold start through the real engine and a loopback seeder capped at RATE (`raw_bytes`: just read
    that many bytes from the engine, for comparison; `warm`: the film page was opened a second before,
    as a user does, so the torrent's metadata and peer are there already)."""
    work = Path(tempfile.mkdtemp(prefix="ht-bench-media-"))
    seeder = Seeder(upload_rate=RATE)
    seeder.start()
    try:
        async with _database() as pool:
            torrent = work / "film.torrent"
            info_hash = await asyncio.to_thread(make_torrent, film, torrent, piece_size=PIECE)
            seeder.add(torrent, film.parent)
            movie_id = await pool.fetchval("INSERT INTO movies (title) VALUES ('Bench') RETURNING id")
            await pool.execute(
                """INSERT INTO torrents (movie_id, source, info_hash, magnet, seeders)
                   VALUES ($1, 'bench', $2, $3, 1)""",
                movie_id,
                info_hash,
                seeder.magnet(info_hash, film.name),
            )
            engine = Engine(work / "downloads", pool, dht=False)
            await engine.start()
            media = MediaService(work / "hls", lambda: engine)
            try:
                if warm:
                    engine.warm(movie_id)
                    await asyncio.sleep(1.0)
                t0 = time.perf_counter()
                if raw_bytes:
                    # The engine alone: the same amount of bytes announced and read in order (as the
                    # HTTP range handler and the segment cutter do), no probing, no cutting.
                    reader = await engine.open_reader(movie_id)
                    start = int(reader.size * fraction) // PIECE * PIECE
                    reader.expect(start, start + raw_bytes)
                    got = 0
                    while got < raw_bytes:
                        got += len(await reader.read(start + got, 32 * 1024)) or raw_bytes
                    reader.close()
                else:
                    info = await media.info(movie_id)
                    await media.segment(movie_id, _segment_at(info, fraction), prefetch=0)
                elapsed = time.perf_counter() - t0
            finally:
                await media.close()
                await engine.close()
    finally:
        seeder.stop()
        shutil.rmtree(work, ignore_errors=True)
    size = (await asyncio.to_thread(film.stat)).st_size
    if raw_bytes:
        needed_bytes = raw_bytes
        label = (
            f"engine alone: {raw_bytes / 2**20:.1f} MiB announced, read in order at {int(fraction * 100)} %"
        )
    else:
        needed = await asyncio.to_thread(_pieces_needed, film, fraction)
        needed_bytes = sum(min(PIECE, size - p * PIECE) for p in needed)
        label = f"first segment at {int(fraction * 100)} % (converted MKV, loopback seeder at 2 MiB/s)"
        if warm:
            label += ", page opened first"
    bound = needed_bytes / RATE
    return {
        "measure": label,
        "value": round(elapsed, 3),
        "unit": "s",
        "bound_s": round(bound, 3),
        "ratio": round(elapsed / bound, 2),
        "bytes_needed": needed_bytes,
        "film_bytes": size,
    }


# (what is measured, film file, codecs, seconds, grain, segments cut: None for all)
SPEEDS = (
    ("remux 720p H.264/AC3 MKV → HLS (video copied, audio to AAC)", "h264-ac3-720p.mkv", "h264", "ac3", 30, 8, None),
    ("remux 720p H.264/AAC MKV → HLS (both copied)", "h264-aac-720p.mkv", "h264", "aac", 30, 3, None),
    ("transcode 720p HEVC → H.264 (libx264 ultrafast)", "hevc-aac-720p.mkv", "hevc", "aac", 12, 3, 2),
)  # fmt: skip


def _measure() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for label, name, video, audio, seconds, noise, limit in SPEEDS:
        film = _film(
            name,
            container="mkv",
            video_codec=video,
            audio_codec=audio,
            duration_s=seconds,
            width=1280,
            height=720,
            noise=noise,
        )
        elapsed, covered, _info = _convert_all(film, limit=limit)
        rows.append(
            {
                "measure": label,
                "value": round(covered / elapsed, 1 if limit is None else 2),
                "unit": "× real time",
                "film_bytes": film.stat().st_size,
            }
        )
    remux_src = FILMS / SPEEDS[0][1]
    rows.append(_first_segment(remux_src, 0.0))
    rows.append(_first_segment(remux_src, 0.7))
    return rows


async def run() -> list[dict[str, object]]:
    rows = await asyncio.to_thread(_measure)
    film = FILMS / "h264-ac3-720p.mkv"
    cases = ((0.0, 0, False), (0.7, 0, False), (0.0, 0, True), (0.7, 0, True), (0.0, 3_500_000, False),
             (0.7, 3_500_000, False))  # fmt: skip
    for fraction, raw, warm in cases:
        try:
            rows.append(await _swarm_first_segment(film, fraction, raw, warm))
        except Exception as exc:  # one stalled swarm must not hide the other figures
            rows.append({"measure": f"swarm run at {int(fraction * 100)} % failed", "value": repr(exc)})
    return rows
