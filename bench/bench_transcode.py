"""Transcoding 1080p HEVC → H.264: our PyAV cutter against the ffmpeg CLI, same file, same encoder settings."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.bench_media import FILMS, _convert_all, _film
from hypertube.media.segments import X264_OPTIONS

SECONDS = 10


def _ffmpeg_seconds(film: Path) -> float:
    """The CLI doing what a transcoded segment does: H.264 with the same x264 options, 8-bit 4:2:0,
    audio copied, into MPEG-TS."""
    args = [arg for name, value in X264_OPTIONS.items() for arg in (f"-{name}", value)]
    with tempfile.TemporaryDirectory() as folder:
        command = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(film), "-map", "0:v:0", "-map", "0:a:0",
                   "-c:v", "libx264", *args, "-pix_fmt", "yuv420p", "-c:a", "copy", "-f", "mpegts",
                   str(Path(folder) / "out.ts")]  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run(command, check=True)
        return time.perf_counter() - t0


def _measure() -> list[dict[str, object]]:
    film = _film(
        "hevc-aac-1080p.mkv",
        container="mkv",
        video_codec="hevc",
        audio_codec="aac",
        duration_s=SECONDS,
        width=1920,
        height=1080,
        noise=3,
    )
    elapsed, covered, _info = _convert_all(film)
    ours = covered / elapsed
    rows: list[dict[str, object]] = [
        {
            "measure": "transcode 1080p HEVC → H.264, PyAV (every segment)",
            "value": round(ours, 2),
            "unit": "× real time",
        }
    ]
    if shutil.which("ffmpeg") is None:
        rows.append({"measure": "ffmpeg CLI", "value": "not installed (Debian package ffmpeg)"})
        return rows
    cli = SECONDS / min(_ffmpeg_seconds(film) for _ in range(2))
    rows.append(
        {"measure": "transcode 1080p HEVC → H.264, ffmpeg CLI", "value": round(cli, 2), "unit": "× real time"}
    )
    rows.append(
        {"measure": "PyAV ÷ ffmpeg CLI", "value": round(ours / cli, 2), "unit": "×", "film": str(FILMS)}
    )
    return rows


async def run() -> list[dict[str, object]]:
    return await asyncio.to_thread(_measure)
