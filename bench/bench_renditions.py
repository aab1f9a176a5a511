"""Adaptive streaming: first segment, transcode speed and switch time per rendition of a 1080p film.

The switch time is the server's part of a switch: cutting a segment at 50 % that nobody asked for yet.

The film (24 s of 1080p H.264 at 25 fps in MKV, played through HLS) is read from disk, so the figures
are the conversion's own; a torrent adds the wait for its pieces (see bench_media)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.bench_media import generated
from hypertube.media.renditions import RenditionSegments, renditions
from hypertube.media.service import MediaService

MOVIE_ID = 1


async def _measure(service: MediaService) -> list[dict[str, object]]:
    cut = RenditionSegments(service, max_transcodes=1)
    info = await service.info(MOVIE_ID)
    middle = len(info.segments) // 2
    rows = []
    for rendition in renditions(info):
        t0 = time.perf_counter()
        await cut.segment(MOVIE_ID, info, rendition, 0, prefetch=0)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        await cut.segment(MOVIE_ID, info, rendition, middle, prefetch=0)
        switch = time.perf_counter() - t0
        rest = [i for i in range(1, len(info.segments)) if i != middle]
        t0 = time.perf_counter()
        for index in rest:
            await cut.segment(MOVIE_ID, info, rendition, index, prefetch=0)
        elapsed = time.perf_counter() - t0
        covered = sum(info.segments[i][1] - info.segments[i][0] for i in rest)
        rows.append(
            {
                "rendition": f"{rendition.name} {rendition.width}x{rendition.height}",
                "first_segment_s": first,
                "switch_segment_s": switch,
                "speed_x_realtime": covered / elapsed,
            }
        )
    return rows


async def run() -> list[dict[str, object]]:
    path = generated("full-hd-24s.mkv", "h264", "aac", duration_s=24, noise=0, width=1920, height=1080)
    with tempfile.TemporaryDirectory(prefix="ht-bench-renditions-") as folder:
        service = MediaService(Path(folder))
        service.register_file(MOVIE_ID, path)
        try:
            return await _measure(service)
        finally:
            await service.close()
