"""Media: remux and transcode speed for 720p, first segment at 0 and 70 % from an ideal 2 MiB/s piece feed."""

from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path
from typing import Any

from hypertube.media import convert, segments
from hypertube.media.generate import generate_film

FILMS = Path("var/bench/films")
RATE = 2 * 1024 * 1024  # the seeder's cap, bytes per second
PIECE = 256 * 1024


# What `generated` films are unless told: 720p, 30 s, with grain for a real bit rate.
BENCH_FILM: dict[str, Any] = {"duration_s": 30, "noise": 8, "width": 1280, "height": 720}


def generated(name: str, video: str, audio: str, **film: Any) -> Path:
    """A film made once into var/bench/films (container from `name`); `film`: `generate_film`'s keywords
    over `BENCH_FILM`."""
    FILMS.mkdir(parents=True, exist_ok=True)
    path = FILMS / name
    if not path.exists():
        options = {**BENCH_FILM, **film}
        generate_film(
            path, container=path.suffix.lstrip("."), video_codec=video, audio_codec=audio, **options
        )
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


def pieces_needed(path: Path, fraction: float) -> set[int]:
    """The pieces the converter reads for a cold start at `fraction`: header, index, the segment."""
    have: set[int] = set()
    probe_info = convert.probe(lambda: PieceFile(path, have, charge=False))
    index = _segment_at(probe_info, fraction)
    segments.make_segment(lambda: PieceFile(path, have, charge=False), probe_info, index)
    return have


def _segment_at(info: convert.MediaInfo, fraction: float) -> int:
    return next(i for i, (s, e) in enumerate(info.segments) if s <= fraction * info.duration < e)


# (what is measured, film file, codecs, seconds, grain, segments cut: None for all)
SPEEDS = (
    ("remux 720p H.264/AC3 MKV → HLS (video copied, audio to AAC)", "h264-ac3-720p.mkv", "h264", "ac3", 30, 8, None),
    ("remux 720p H.264/AAC MKV → HLS (both copied)", "h264-aac-720p.mkv", "h264", "aac", 30, 3, None),
    ("transcode 720p HEVC → H.264 (libx264 ultrafast)", "hevc-aac-720p.mkv", "hevc", "aac", 12, 3, 2),
)  # fmt: skip


def _measure() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for label, name, video, audio, seconds, noise, limit in SPEEDS:
        film = generated(name, video, audio, duration_s=seconds, noise=noise)
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
    # The first segment over BitTorrent, through the server as a user reaches it: `bench_stream`.
    return await asyncio.to_thread(_measure)
