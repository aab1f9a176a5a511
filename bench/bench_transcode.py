"""Transcoding 1080p HEVC → H.264: our PyAV cutter against the ffmpeg CLI, same file, same encoder settings."""

from __future__ import annotations

import asyncio
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.bench_media import _convert_all, generated
from hypertube.media.segments import X264_OPTIONS

SECONDS = 10


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ffmpeg(film: Path) -> tuple[float, float]:
    """(wall, CPU seconds) of the CLI doing what the transcoded segments do: H.264 with the same x264
    options, 8-bit 4:2:0, audio copied, into MPEG-TS."""
    args = [arg for name, value in X264_OPTIONS.items() for arg in (f"-{name}", value)]
    with tempfile.TemporaryDirectory() as folder:
        command = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(film), "-map", "0:v:0", "-map", "0:a:0",
                   "-c:v", "libx264", *args, "-pix_fmt", "yuv420p", "-c:a", "copy", "-f", "mpegts",
                   str(Path(folder) / "out.ts")]  # fmt: skip
        cpu, t0 = _children_cpu(), time.perf_counter()
        subprocess.run(command, check=True)
        return time.perf_counter() - t0, _children_cpu() - cpu


def _row(measure: str, value: float, unit: str) -> dict[str, object]:
    return {"measure": measure, "value": round(value, 2), "unit": unit}


def _measure() -> list[dict[str, object]]:
    film = generated(
        "hevc-aac-1080p.mkv", "hevc", "aac", duration_s=SECONDS, noise=3, width=1920, height=1080
    )
    cpu = time.process_time()
    elapsed, covered, _info = _convert_all(film)
    ours_cpu = time.process_time() - cpu
    rows = [
        _row("transcode 1080p HEVC → H.264, PyAV, every segment", covered / elapsed, "× real time"),
        _row("the same, CPU seconds per film second", ours_cpu / covered, "s"),
    ]
    if shutil.which("ffmpeg") is None:
        rows.append({"measure": "ffmpeg CLI", "value": "not installed (Debian package ffmpeg)"})
        return rows
    wall, cli_cpu = min(_ffmpeg(film) for _ in range(2))
    rows += [
        _row("transcode 1080p HEVC → H.264, ffmpeg CLI", SECONDS / wall, "× real time"),
        _row("the same, CPU seconds per film second", cli_cpu / SECONDS, "s"),
        _row("PyAV speed ÷ ffmpeg CLI speed (wall clock)", (covered / elapsed) / (SECONDS / wall), "×"),
        _row(
            "PyAV ÷ ffmpeg CLI by CPU time (load-independent)",
            (cli_cpu / SECONDS) / (ours_cpu / covered),
            "×",
        ),
    ]
    return rows


async def run() -> list[dict[str, object]]:
    return await asyncio.to_thread(_measure)
