"""PyAV work (blocking; run it in a worker thread): probe a film, plan its segments, cut one HLS segment.

A segment starts on a video keyframe and runs to the keyframe that ends it, so every segment can be
cut on its own from the bytes around it: seek there, demux (decode/encode when converting), mux as
MPEG-TS. Timestamps keep the source's clock (shifted by a constant), so segments join without gaps.
"""

from __future__ import annotations

import bisect
import io
import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import av

log = logging.getLogger(__name__)

TARGET_SEGMENT_S = 4.0  # segments are cut at the first keyframe at least this far from their start
MAX_SEGMENT_S = 10.0  # a film with sparse keyframes still gets cut (transcoding only; copies need keyframes)
TS_OFFSET_S = 1.0  # MPEG-TS timestamps must stay positive (B-frames decode before their start)
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


def _open(source: Opener) -> av.container.InputContainer:
    target = source()
    try:
        return av.open(target, "r", metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.EOFError) as exc:
        raise MediaError("the video file is corrupt or in a format we cannot read.") from exc
    except av.FFmpegError as exc:
        raise MediaError(f"the video file could not be opened ({exc.__class__.__name__}).") from exc


def _close(container, target=None) -> None:
    container.close()


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


def probe(source: Opener) -> MediaInfo:
    """Reads the container's headers and index (not the whole film) and decides how to play it."""
    container = _open(source)
    try:
        if not container.streams.video:
            raise MediaError("this file has no video track.")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        vcodec = video.codec_context.name
        acodec = audio.codec_context.name if audio else None
        fmt = container.format.name
        duration = container.duration / av.time_base if container.duration else None
        if not duration and video.duration and video.time_base:
            duration = float(video.duration * video.time_base)
        if not duration or duration <= 0:
            raise MediaError("the video file has no duration: it may be truncated.")
        subtitles = [
            SubtitleTrack(
                s.index,
                language_code(s.metadata.get("language")),
                s.codec_context.name,
                s.metadata.get("title", ""),
            )
            for s in container.streams.subtitles
            if s.codec_context.name in ("subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text")
        ]
        is_direct_container = any(n in DIRECT_CONTAINERS for n in fmt.split(","))
        if (
            is_direct_container
            and not fmt.startswith("matroska")
            and vcodec in BROWSER_VIDEO
            and (acodec is None or acodec in BROWSER_AUDIO)
        ) or (
            fmt.startswith("matroska")
            and vcodec in ("vp8", "vp9", "av1")
            and acodec in (None, "opus", "vorbis")
        ):
            # MP4 with browser codecs, or a real WebM (Matroska with only WebM codecs).
            kind, vaction, aaction = "direct", "copy", "copy" if acodec else "none"
        else:
            kind = "hls"
            vaction = "copy" if vcodec in HLS_VIDEO_COPY else "transcode"
            aaction = "none" if not acodec else ("copy" if acodec in HLS_AUDIO_COPY else "transcode")
        start = container.start_time / av.time_base if container.start_time else 0.0
        segments: list[tuple[float, float]] = []
        spans: list[tuple[int, int]] = []
        origin = start
        if kind == "hls":
            keyframes = _keyframes(container, video)
            if not keyframes:
                raise MediaError("the video track has no keyframe: the file is corrupt.")
            origin = keyframes[0][0]
            segments = plan_segments(
                [t for t, _ in keyframes], start + duration, any_cut=vaction == "transcode"
            )
            spans = segment_spans(segments, keyframes)
        return MediaInfo(
            container=fmt,
            video_codec=vcodec,
            audio_codec=acodec,
            width=video.codec_context.width,
            height=video.codec_context.height,
            duration=duration,
            kind=kind,
            video_action=vaction,
            audio_action=aaction,
            segments=segments,
            spans=spans,
            origin=origin,
            subtitles=subtitles,
        )
    finally:
        container.close()


def _out_ts(seconds: float, info: MediaInfo) -> float:
    return seconds - info.origin + TS_OFFSET_S


def make_segment(source: Opener, info: MediaInfo, index: int) -> bytes:
    """One MPEG-TS segment: the packets (or re-encoded frames) from segment `index`'s start to its end."""
    if not 0 <= index < len(info.segments):
        raise IndexError(index)
    t0, t1 = info.segments[index]
    last = index == len(info.segments) - 1
    first = index == 0
    container = _open(source)
    buf = io.BytesIO()
    try:
        vin = container.streams.video[0]
        ain = container.streams.audio[0] if info.audio_action != "none" and container.streams.audio else None
        out = av.open(buf, "w", format="mpegts", options={"avoid_negative_ts": "disabled"})
        try:
            _cut(container, out, vin, ain, info, t0, math.inf if last else t1, first)
        finally:
            out.close()
    except av.FFmpegError as exc:
        raise MediaError(f"the video data around {t0:.0f} s could not be read.") from exc
    finally:
        container.close()
    return buf.getvalue()


def _cut(container, out, vin, ain, info: MediaInfo, t0: float, t1: float, first: bool) -> None:
    eps = 1e-3
    vtb = vin.time_base
    shift = TS_OFFSET_S - info.origin
    if info.video_action == "copy":
        vout: Any = out.add_stream_from_template(vin)
        venc = None
    else:
        rate = vin.average_rate or vin.guessed_rate or Fraction(25)
        venc = out.add_stream(
            "libx264",
            rate=rate,
            options={"preset": "ultrafast", "crf": "23", "x264-params": "scenecut=0:bframes=0"},
        )
        venc.width = info.width - info.width % 2
        venc.height = info.height - info.height % 2
        venc.pix_fmt = "yuv420p"
        venc.codec_context.time_base = Fraction(1, 90_000)
        venc.codec_context.gop_size = 10_000  # one keyframe, the segment's first frame
        vout = venc
    aout: Any = None
    aenc: Any = None
    if ain is not None:
        if info.audio_action == "copy":
            aout = out.add_stream_from_template(ain)
        else:
            rate = ain.codec_context.sample_rate or 48_000
            if rate not in (44_100, 48_000, 32_000, 22_050, 24_000, 16_000):
                rate = 48_000
            aenc = out.add_stream("aac", rate=rate)
            aenc.layout = "stereo"
            aenc.codec_context.bit_rate = 160_000
            aout = aenc
    streams = [vin] + ([ain] if ain is not None else [])
    container.seek(max(0, int(round(t0 / vtb))), stream=vin, backward=True)
    video_started = False
    video_out = 0  # frames or packets written: zero means the bytes for this time are missing
    video_done = False
    audio_done = ain is None
    for packet in container.demux(streams):
        if packet.stream.index == vin.index:
            if video_done or packet.dts is None and packet.pts is None:
                continue
            pts = float(packet.pts * vtb) if packet.pts is not None else None
            if not video_started:
                # Copies start on the segment's own keyframe; conversions decode from the one before t0.
                if not packet.is_keyframe or pts is None or (venc is None and pts < t0 - eps):
                    continue
                video_started = True
            if packet.is_keyframe and pts is not None and pts >= t1 - eps and info.video_action == "copy":
                video_done = True
            elif venc is None:
                packet.pts = packet.pts + int(round(shift / vtb)) if packet.pts is not None else None
                packet.dts = packet.dts + int(round(shift / vtb)) if packet.dts is not None else None
                packet.stream = vout
                out.mux(packet)
                video_out += 1
            else:
                for frame in packet.decode():
                    if frame.pts is None:
                        continue
                    ft = float(frame.pts * (frame.time_base or vtb))
                    if ft >= t1 - eps:
                        video_done = True
                        break
                    if ft < t0 - eps:
                        continue
                    _encode_video(out, venc, frame, ft + shift)
                    video_out += 1
        elif ain is not None and packet.stream.index == ain.index:
            if audio_done or packet.pts is None:
                continue
            pts = float(packet.pts * ain.time_base)
            if pts >= t1 - eps:
                audio_done = True
            elif pts < t0 - eps and not first:
                continue
            elif aenc is None:
                offset = int(round(shift / ain.time_base))
                packet.pts += offset
                packet.dts = packet.dts + offset if packet.dts is not None else packet.pts
                packet.stream = aout
                out.mux(packet)
            else:
                for frame in packet.decode():
                    if frame.pts is None:
                        continue
                    at = float(frame.pts * (frame.time_base or ain.time_base))
                    frame.pts = int(round((at + shift) * frame.sample_rate))
                    frame.time_base = Fraction(1, frame.sample_rate)
                    out.mux(aenc.encode(frame))
        if video_done and audio_done:
            break
    if venc is not None:
        # The last frames of the segment are still in the decoder when the next keyframe stops the loop.
        if not video_done:
            for frame in vin.codec_context.decode(None):
                if frame.pts is None:
                    continue
                ft = float(frame.pts * (frame.time_base or vtb))
                if t0 - eps <= ft < t1 - eps:
                    _encode_video(out, venc, frame, ft + shift)
                    video_out += 1
        out.mux(venc.encode(None))
    if aenc is not None:
        out.mux(aenc.encode(None))
    if not video_started or not video_out:
        raise MediaError(f"no video keyframe found at {t0:.1f} s: the file is truncated or corrupt.")


def _encode_video(out, venc, frame, out_seconds: float) -> None:
    if frame.format.name != "yuv420p" or frame.width != venc.width or frame.height != venc.height:
        frame = frame.reformat(width=venc.width, height=venc.height, format="yuv420p")
    frame.pts = int(round(out_seconds * 90_000))
    frame.time_base = Fraction(1, 90_000)
    frame.pict_type = av.video.frame.PictureType.NONE
    out.mux(venc.encode(frame))


def playlist(info: MediaInfo, segment_url: Callable[[int], str]) -> str:
    """The HLS VOD playlist: every segment with its real length, so the player knows the whole timeline."""
    target = max((math.ceil(e - s) for s, e in info.segments), default=1)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for i, (start, end) in enumerate(info.segments):
        lines.append(f"#EXTINF:{end - start:.3f},")
        lines.append(segment_url(i))
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
