"""What the probe learns about a film's streams: the picture's format and shape on screen, the audio
tracks and which one plays, the subtitle tracks (text or image)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av

# Pixel formats every browser and phone decodes: 8-bit luma with 4:2:0 chroma (full or video range).
# 10-bit (High 10, Main 10, VP9 profile 2) and 4:2:2 / 4:4:4 play only where the system's own decoders
# happen to support them.
SAFE_PIXEL_FORMATS = {"yuv420p", "yuvj420p"}
SAFE_PROFILES = {
    "h264": {"Baseline", "Constrained Baseline", "Main", "High"},
    "hevc": {"Main"},
    "vp9": {"Profile 0"},
    "av1": {"Main"},
}
TEXT_SUBTITLE_CODECS = {"subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text"}
# Decoder names (what PyAV reports) and codec names of bitmap subtitles: DVD/VobSub, Blu-ray PGS, DVB.
IMAGE_SUBTITLE_CODECS = {
    "dvdsub",
    "dvd_subtitle",
    "pgssub",
    "hdmv_pgs_subtitle",
    "dvbsub",
    "dvb_subtitle",
    "xsub",
}

ISO639 = {
    "eng": "en", "fre": "fr", "fra": "fr", "spa": "es", "ger": "de", "deu": "de", "ita": "it",
    "por": "pt", "rus": "ru", "jpn": "ja", "chi": "zh", "zho": "zh", "ara": "ar", "dut": "nl",
    "nld": "nl", "pol": "pl", "tur": "tr", "kor": "ko", "swe": "sv",
}  # fmt: skip


def language_code(value: str | None) -> str:
    value = (value or "").strip().lower()
    if len(value) == 2:
        return value
    return ISO639.get(value, value or "und")


@dataclass
class SubtitleTrack:
    index: int  # stream index in the container
    language: str  # ISO 639-1 when known ("en"), else what the file says
    codec: str
    title: str = ""


@dataclass
class AudioTrack:
    index: int  # stream index in the container
    language: str
    codec: str
    default: bool = False
    forced: bool = False
    title: str = ""
    channels: int = 2


@dataclass(frozen=True)
class Picture:
    """The video's coded format and its shape on screen."""

    profile: str
    pix_fmt: str
    bit_depth: int
    rotation: int  # degrees counter-clockwise from the display matrix: 0, 90, 180 or 270
    display_width: int  # after the pixel aspect ratio and the rotation
    display_height: int


def bit_depth(pix_fmt: str) -> int:
    try:
        return max(c.bits for c in av.VideoFormat(pix_fmt).components)
    except (ValueError, TypeError):
        return 8


def browser_safe(codec: str, picture: Picture) -> bool:
    """Whether every browser decodes this picture: the codec's common profile, 8-bit, 4:2:0."""
    allowed = SAFE_PROFILES.get(codec)
    profile_ok = allowed is None or not picture.profile or picture.profile in allowed
    return profile_ok and picture.pix_fmt in SAFE_PIXEL_FORMATS


def display_size(width: int, height: int, sar: Fraction | None, rotation: int) -> tuple[int, int]:
    """The picture's size on screen: non-square pixels stretched, then turned by the display matrix."""
    if sar and sar > 0 and sar != 1:
        width = int(round(width * sar))
    width, height = width - width % 2, height - height % 2
    return (height, width) if rotation % 180 == 90 else (width, height)


def picture(container: Any, video: Any) -> Picture:
    """Decodes the first frame: the display matrix reaches PyAV only on decoded frames."""
    ctx = video.codec_context
    rotation = 0
    pix_fmt = ctx.pix_fmt or ""
    try:
        container.seek(0, stream=video, backward=True)
        frame = next(container.decode(video), None)
    except av.FFmpegError:
        frame = None
    if frame is not None:
        rotation = int(frame.rotation or 0) % 360
        pix_fmt = frame.format.name
    sar = video.sample_aspect_ratio or ctx.sample_aspect_ratio
    width, height = display_size(ctx.width, ctx.height, sar, rotation)
    return Picture(ctx.profile or "", pix_fmt, bit_depth(pix_fmt), rotation, width, height)


def audio_tracks(container: Any) -> list[AudioTrack]:
    tracks = []
    for s in container.streams.audio:
        flags = s.disposition
        tracks.append(
            AudioTrack(
                s.index,
                language_code(s.metadata.get("language")),
                s.codec_context.name,
                bool(flags & av.stream.Disposition.default),
                bool(flags & av.stream.Disposition.forced),
                s.metadata.get("title", ""),
                s.codec_context.channels or 2,
            )
        )
    return tracks


def choose_audio(tracks: list[AudioTrack], language: str | None = None) -> AudioTrack | None:
    """The track to play: the user's language (its default track first), else the forced track, else the
    one the file flags as default, else the first."""
    if not tracks:
        return None
    if language:
        mine = [t for t in tracks if t.language == language]
        if mine:
            return next((t for t in mine if t.default or t.forced), mine[0])
    return next((t for t in tracks if t.forced), None) or next((t for t in tracks if t.default), tracks[0])


def subtitle_tracks(container: Any, codecs: set[str]) -> list[SubtitleTrack]:
    return [
        SubtitleTrack(
            s.index,
            language_code(s.metadata.get("language")),
            s.codec_context.name,
            s.metadata.get("title", ""),
        )
        for s in container.streams.subtitles
        if s.codec_context.name in codecs
    ]
