"""PyAV probe (blocking; run it in a worker thread): decide direct, remux or transcode, and plan the HLS
segments, each from one video keyframe to the next so that it can be cut on its own."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import av

TARGET_SEGMENT_S = 4.0  # segments are cut at the first keyframe at least this far from their start
MAX_SEGMENT_S = 10.0  # a film with sparse keyframes still gets cut (transcoding only; copies need keyframes)
BROWSER_VIDEO = {"h264", "vp8", "vp9", "av1"}
BROWSER_AUDIO = {"aac", "mp3", "opus", "vorbis"}
DIRECT_CONTAINERS = {"mp4", "webm"}  # format names PyAV reports: "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"
HLS_AUDIO_COPY = {"aac"}  # anything else becomes AAC (AC3, E-AC3, DTS, MP3, Opus, Vorbis, …)
HLS_VIDEO_COPY = {"h264"}


class MediaError(Exception):
    """The file cannot be played: no video, corrupt or truncated data; the message says which."""


@dataclass
class SubtitleTrack:
    index: int  # stream index in the container
    language: str  # ISO 639-1 when known ("en"), else what the file says
    codec: str
    title: str = ""


@dataclass
class MediaInfo:
    container: str
    video_codec: str
    audio_codec: str | None
    width: int
    height: int
    duration: float
    kind: str  # "direct" or "hls"
    video_action: str  # "copy" or "transcode" (hls only)
    audio_action: str  # "copy", "transcode" or "none"
    segments: list[tuple[float, float]] = field(default_factory=list)  # (start, end) in film seconds
    # Per segment, the bytes [start, end) it is cut from, when the container's index tells (end -1:
    # up to the end of the file): the engine asks for those pieces before PyAV reaches them.
    spans: list[tuple[int, int]] = field(default_factory=list)
    origin: float = 0.0  # source time of the first segment's start
    subtitles: list[SubtitleTrack] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MediaInfo:
        data = dict(data)
        data["segments"] = [tuple(s) for s in data.get("segments", [])]
        data["spans"] = [tuple(s) for s in data.get("spans", [])]
        data["subtitles"] = [SubtitleTrack(**s) for s in data.get("subtitles", [])]
        return cls(**data)


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


Opener = Callable[[], Any]  # returns a path string or a seekable binary file object


def open_input(source: Opener) -> av.container.InputContainer:
    target = source()
    try:
        return av.open(target, "r", metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.EOFError) as exc:
        raise MediaError("the video file is corrupt or in a format we cannot read.") from exc
    except av.FFmpegError as exc:
        raise MediaError(f"the video file could not be opened ({exc.__class__.__name__}).") from exc


def _keyframes(container, stream) -> list[tuple[float, int]]:
    """Keyframes (time, byte position or -1) from the demuxer's index (MKV cues, AVI idx1, MP4 stss);
    scanning packets otherwise."""
    tb = stream.time_base
    try:
        container.seek(0, stream=stream, backward=True)  # makes the Matroska demuxer read its cues
    except av.FFmpegError:
        pass
    found = {
        float(e.timestamp * tb): e.pos if e.pos is not None and e.pos >= 0 else -1
        for e in stream.index_entries
        if e.is_keyframe and e.timestamp is not None
    }
    if len(found) >= 2:
        return sorted(found.items())
    # No index (MPEG-TS, MKV without cues): read the packets — not decoded — to find keyframes.
    container.seek(0, stream=stream, backward=True)
    for packet in container.demux(stream):
        if packet.is_keyframe and packet.pts is not None:
            found.setdefault(float(packet.pts * tb), packet.pos if packet.pos is not None else -1)
    return sorted(found.items())


SPAN_MARGIN = 256 * 1024  # past the next segment's keyframe: the cutter reads that whole packet


def segment_spans(
    segments: list[tuple[float, float]], keyframes: list[tuple[float, int]]
) -> list[tuple[int, int]]:
    """The bytes each segment is read from: from the keyframe at or before its start to a little past
    the first keyframe at or after its end. Empty when the index has no byte positions."""
    if not keyframes or any(pos < 0 for _, pos in keyframes):
        return []
    times = [t for t, _ in keyframes]
    spans = []
    for start, end in segments:
        before = bisect.bisect_right(times, start + 1e-6) - 1
        after = bisect.bisect_left(times, end - 1e-6)
        first = keyframes[max(0, before)][1]
        last = keyframes[after][1] + SPAN_MARGIN if after < len(keyframes) else -1
        spans.append((first, last))
    return spans


def plan_segments(keyframes: list[float], duration_end: float, *, any_cut: bool) -> list[tuple[float, float]]:
    """Groups keyframes into segments of ≥ TARGET_SEGMENT_S; `any_cut` also splits long GOPs (transcoding)."""
    points = [keyframes[0]]
    for kf in keyframes[1:]:
        while any_cut and kf - points[-1] > MAX_SEGMENT_S:
            points.append(points[-1] + TARGET_SEGMENT_S)
        if kf - points[-1] >= TARGET_SEGMENT_S - 1e-6:
            points.append(kf)
    while any_cut and duration_end - points[-1] > MAX_SEGMENT_S:
        points.append(points[-1] + TARGET_SEGMENT_S)
    if len(points) > 1 and duration_end - points[-1] < 1.0:
        points.pop()  # a tiny tail joins the segment before it
    ends = points[1:] + [max(duration_end, points[-1] + 0.1)]
    return list(zip(points, ends, strict=True))


def _duration(container, video) -> float:
    duration = container.duration / av.time_base if container.duration else None
    if not duration and video.duration and video.time_base:
        duration = float(video.duration * video.time_base)
    if not duration or duration <= 0:
        raise MediaError("the video file has no duration: it may be truncated.")
    return duration


def _subtitle_tracks(container) -> list[SubtitleTrack]:
    return [
        SubtitleTrack(
            s.index,
            language_code(s.metadata.get("language")),
            s.codec_context.name,
            s.metadata.get("title", ""),
        )
        for s in container.streams.subtitles
        if s.codec_context.name in ("subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text")
    ]


def _playback(fmt: str, vcodec: str, acodec: str | None) -> tuple[str, str, str]:
    """(kind, video action, audio action): "direct" plays the file as it is; "hls" copies or transcodes each stream."""
    is_direct_container = any(n in DIRECT_CONTAINERS for n in fmt.split(","))
    if (
        is_direct_container
        and not fmt.startswith("matroska")
        and vcodec in BROWSER_VIDEO
        and (acodec is None or acodec in BROWSER_AUDIO)
    ) or (
        fmt.startswith("matroska") and vcodec in ("vp8", "vp9", "av1") and acodec in (None, "opus", "vorbis")
    ):
        # MP4 with browser codecs, or a real WebM (Matroska with only WebM codecs).
        return "direct", "copy", "copy" if acodec else "none"
    vaction = "copy" if vcodec in HLS_VIDEO_COPY else "transcode"
    aaction = "none" if not acodec else ("copy" if acodec in HLS_AUDIO_COPY else "transcode")
    return "hls", vaction, aaction


def _hls_plan(
    container, video, end: float, any_cut: bool
) -> tuple[list[tuple[float, float]], list[tuple[int, int]], float]:
    """(segments, their byte spans, the first segment's source time) from the video keyframes."""
    keyframes = _keyframes(container, video)
    if not keyframes:
        raise MediaError("the video track has no keyframe: the file is corrupt.")
    segments = plan_segments([t for t, _ in keyframes], end, any_cut=any_cut)
    return segments, segment_spans(segments, keyframes), keyframes[0][0]


def probe(source: Opener) -> MediaInfo:
    """Reads the container's headers and index (not the whole film) and decides how to play it."""
    container = open_input(source)
    try:
        if not container.streams.video:
            raise MediaError("this file has no video track.")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        vcodec = video.codec_context.name
        acodec = audio.codec_context.name if audio else None
        duration = _duration(container, video)
        kind, vaction, aaction = _playback(container.format.name, vcodec, acodec)
        start = container.start_time / av.time_base if container.start_time else 0.0
        info = MediaInfo(
            container.format.name,
            vcodec,
            acodec,
            video.codec_context.width,
            video.codec_context.height,
            duration,
            kind,
            vaction,
            aaction,
            origin=start,
            subtitles=_subtitle_tracks(container),
        )
        if kind == "hls":
            info.segments, info.spans, info.origin = _hls_plan(
                container, video, start + duration, vaction == "transcode"
            )
        return info
    finally:
        container.close()
