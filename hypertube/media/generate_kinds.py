"""Films shaped like the awkward ones people download (10-bit, turned, non-square pixels, several audio
tracks, no seek index, timestamps far from zero, image subtitles), generated with PyAV for the tests.
Blocking: call it from a thread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from hypertube.media.generate import (
    ISO639_2,
    MUXERS,
    SAMPLE_RATE,
    audio_stream,
    pull_frames,
    test_pattern,
    tone,
    video_stream,
)


@dataclass(frozen=True)
class AudioSpec:
    language: str
    codec: str = "aac"
    default: bool = False
    forced: bool = False
    tone_hz: int = 440  # each track its own pitch, so that a test can tell which one it hears


@dataclass(frozen=True)
class Shape:
    container: str = "mkv"
    video_codec: str = "h264"
    pix_fmt: str = "yuv420p"  # "yuv420p10le": H.264 High 10 / HEVC Main 10; "yuv422p": High 4:2:2
    rotation: int = 0  # the display matrix, degrees counter-clockwise
    sar: Fraction | None = None  # pixel aspect ratio (64/45: a 720×576 picture shown at 16:9)
    audio: Sequence[AudioSpec] = (AudioSpec("en"),)
    cues: bool = True  # False: a Matroska file without a seek index (written as a stream is)
    start_s: float = 0.0  # the first timestamp (MPEG-TS recordings rarely start at zero)
    jump_at_s: float | None = None  # from here on, timestamps jump forward by `jump_s`
    jump_s: float = 0.0
    image_subtitles: Sequence[str] = field(default_factory=tuple)  # languages of DVD subtitle tracks


class _StreamOnly:
    """A write-only file without seek: the Matroska muxer then writes no Cues (nor a duration)."""

    def __init__(self, fh: Any):
        self.fh = fh

    def write(self, data: bytes) -> int:
        return self.fh.write(data)


def _shift(seconds: float, shape: Shape) -> float:
    jump = shape.jump_s if shape.jump_at_s is not None and seconds >= shape.jump_at_s else 0.0
    return seconds + shape.start_s + jump


def _mux_video(out: Any, stream: Any, shape: Shape, frames: Any) -> None:
    clock = stream.codec_context.time_base
    for frame in frames:
        seconds = float(frame.pts * frame.time_base)
        if frame.format.name != shape.pix_fmt:
            frame = frame.reformat(format=shape.pix_fmt)
        frame.pts = int(round(_shift(seconds, shape) / clock))
        frame.time_base = clock
        frame.pict_type = av.video.frame.PictureType.NONE
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _mux_audio(out: Any, stream: Any, shape: Shape, samples: Any) -> None:
    for frame in samples:
        seconds = float(frame.pts * frame.time_base)
        frame.pts = int(round(_shift(seconds, shape) * SAMPLE_RATE))
        frame.time_base = Fraction(1, SAMPLE_RATE)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _image_subtitle_stream(out: Any, language: str) -> Any:
    stream: Any = out.add_stream("dvdsub")
    stream.metadata["language"] = ISO639_2.get(language, language)
    stream.time_base = Fraction(1, 1000)
    return stream


def _mux_image_subtitles(out: Any, stream: Any, duration_s: float) -> None:
    """Bitmap packets (an empty DVD subtitle picture): pictures of text, not text."""
    for n in range(int(duration_s // 3)):
        packet = av.Packet(bytes([0, 8, 0, 4, 0, 0, 0xFF, 0]))
        packet.stream = stream
        packet.time_base = stream.time_base
        packet.pts = packet.dts = n * 3000 + 500
        packet.duration = 2000
        out.mux(packet)


def generate_shaped(
    path: str | Path,
    shape: Shape,
    *,
    duration_s: float = 6.0,
    width: int = 192,
    height: int = 108,
    fps: int = 25,
) -> Path:
    """Encodes a film of the given shape (a test pattern, one tone per audio track) and returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    muxer = MUXERS.get(shape.container, shape.container)
    with open(path, "wb") as fh:
        target: Any = fh if shape.cues else _StreamOnly(fh)
        with av.open(target, "w", format=muxer) as out:
            video: Any = video_stream(out, shape.video_codec, width, height, fps)
            video.pix_fmt = shape.pix_fmt
            # A fine clock for shifted timestamps; MPEG-4 Part 2 allows at most 65535 ticks a second.
            video.codec_context.time_base = Fraction(1, fps if shape.video_codec == "mpeg4" else 90_000)
            if shape.sar:
                video.codec_context.sample_aspect_ratio = shape.sar
            if shape.rotation:
                video.set_display_rotation(shape.rotation)
            audios = []
            for spec in shape.audio:
                stream = audio_stream(out, spec.codec)
                stream.metadata["language"] = ISO639_2.get(spec.language, spec.language)
                stream.disposition = (av.stream.Disposition.default if spec.default else 0) | (
                    av.stream.Disposition.forced if spec.forced else 0
                )
                audios.append((stream, spec))
            images = [_image_subtitle_stream(out, lang) for lang in shape.image_subtitles]
            _mux_video(out, video, shape, pull_frames(test_pattern(width, height, fps, duration_s)))
            for stream, spec in audios:
                _mux_audio(out, stream, shape, pull_frames(tone(duration_s, spec.tone_hz)))
            for stream in images:
                _mux_image_subtitles(out, stream, duration_s)
    return path


def write_vobsub_pair(folder: str | Path, stem: str, language: str) -> tuple[Path, Path]:
    """A VobSub `.idx`/`.sub` pair as DVD rippers leave them beside a film (the `.sub` holds pictures)."""
    folder = Path(folder)
    idx = folder / f"{stem}.idx"
    idx.write_text(
        "# VobSub index file, v7 (do not modify this line!)\nsize: 720x576\n"
        f"id: {language}, index: 0\ntimestamp: 00:00:01:000, filepos: 000000000\n",
        encoding="ascii",
    )
    sub = folder / f"{stem}.sub"
    sub.write_bytes(b"\x00\x00\x01\xba" + bytes(2044))  # an MPEG program stream pack, as in real files
    return idx, sub
