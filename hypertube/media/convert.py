"""PyAV probe (blocking; run it in a worker thread): decide direct, remux or transcode, and plan the HLS
segments, each from one video keyframe to the next so that it can be cut on its own."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import av

from hypertube.media.timeline import film_time, keyframes, plan_segments, segment_spans, source_time
from hypertube.media.tracks import (
    IMAGE_SUBTITLE_CODECS,
    TEXT_SUBTITLE_CODECS,
    AudioTrack,
    Picture,
    SubtitleTrack,
    audio_tracks,
    browser_safe,
    choose_audio,
    picture,
    subtitle_tracks,
)

BROWSER_VIDEO = {"h264", "vp8", "vp9", "av1"}
BROWSER_AUDIO = {"aac", "mp3", "opus", "vorbis"}
DIRECT_CONTAINERS = {"mp4", "webm"}  # format names PyAV reports: "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"
HLS_AUDIO_COPY = {"aac"}  # anything else becomes AAC (AC3, E-AC3, DTS, MP3, Opus, Vorbis, …)
HLS_VIDEO_COPY = {"h264"}
PROBE_VERSION = 3  # bumped when MediaInfo changes, so that probes cached on disk are made again


class MediaError(Exception):
    """The file cannot be played: no video, corrupt or truncated data; the message says which."""


@dataclass
class MediaInfo:
    container: str
    video_codec: str
    audio_codec: str | None
    width: int  # on screen: non-square pixels and the display matrix applied
    height: int
    duration: float  # what the file holds (less than its header says when it is truncated)
    kind: str  # "direct" or "hls"
    video_action: str  # "copy" or "transcode" (hls only)
    audio_action: str  # "copy", "transcode" or "none", for the default audio track
    segments: list[tuple[float, float]] = field(default_factory=list)  # (start, end) in film seconds
    # Per segment, the bytes [start, end) it is cut from, when the container's index tells (end -1:
    # up to the end of the file): the engine asks for those pieces before PyAV reaches them.
    spans: list[tuple[int, int]] = field(default_factory=list)
    origin: float = 0.0  # source time of the first segment's start
    subtitles: list[SubtitleTrack] = field(default_factory=list)
    image_subtitles: list[SubtitleTrack] = field(default_factory=list)  # not convertible to text
    audio_tracks: list[AudioTrack] = field(default_factory=list)
    audio_index: int | None = None  # the stream the file itself would play (flags), before user choice
    profile: str = ""
    pix_fmt: str = ""
    bit_depth: int = 8
    rotation: int = 0
    indexed: bool = True  # False: keyframes found by a scan, seeks land anywhere near the target
    gaps: list[tuple[float, float]] = field(default_factory=list)  # jumps of the source clock (MPEG-TS)
    missing_from: float | None = None  # the header promises more than the file holds, from here on
    promised: float | None = None  # the duration the header promises when the file is truncated
    copy: str = ""  # the torrent copy probed (its info hash); "" for a file on disk

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MediaInfo:
        data = dict(data)
        data["segments"] = [tuple(s) for s in data.get("segments", [])]
        data["spans"] = [tuple(s) for s in data.get("spans", [])]
        data["subtitles"] = [SubtitleTrack(**s) for s in data.get("subtitles", [])]
        data["image_subtitles"] = [SubtitleTrack(**s) for s in data.get("image_subtitles", [])]
        data["audio_tracks"] = [AudioTrack(**s) for s in data.get("audio_tracks", [])]
        data["gaps"] = [tuple(g) for g in data.get("gaps", [])]
        return cls(**data)

    def length(self, index: int) -> float:
        """Segment `index`'s playing time: without the time a jump of the source clock skips."""
        start, end = self.segments[index]
        return film_time(end, self.gaps) - film_time(start, self.gaps)

    def skipped(self, seconds: float) -> float:
        """Source seconds skipped by jumps of the clock up to `seconds`."""
        return seconds - film_time(seconds, self.gaps)

    def audio_track(self, index: int | None) -> AudioTrack | None:
        """The audio track with this stream index; None picks the file's own default."""
        wanted = self.audio_index if index is None else index
        return next((t for t in self.audio_tracks if t.index == wanted), None)


def audio_action(track: AudioTrack | None) -> str:
    if track is None:
        return "none"
    return "copy" if track.codec in HLS_AUDIO_COPY else "transcode"


Opener = Callable[[], Any]  # returns a path string or a seekable binary file object


def open_input(source: Opener) -> av.container.InputContainer:
    target = source()
    try:
        return av.open(target, "r", metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.EOFError) as exc:
        raise MediaError("the video file is corrupt or in a format we cannot read.") from exc
    except av.FFmpegError as exc:
        raise MediaError(f"the video file could not be opened ({exc.__class__.__name__}).") from exc


def _size(target: Any) -> int | None:
    """The file's length in bytes, so that index entries past a truncated end are not trusted."""
    try:
        if isinstance(target, str | os.PathLike):
            return os.path.getsize(target)
        here = target.tell()
        size = target.seek(0, os.SEEK_END)
        target.seek(here)
        return int(size)
    except (OSError, AttributeError, ValueError):
        return None


def _header_duration(container: Any, video: Any) -> float | None:
    duration = container.duration / av.time_base if container.duration else None
    if not duration and video.duration and video.time_base:
        duration = float(video.duration * video.time_base)
    return duration if duration and duration > 0 else None


def _playback(fmt: str, vcodec: str, shape: Picture, tracks: list[AudioTrack]) -> tuple[str, str]:
    """(kind, video action): "direct" plays the file as it is; "hls" copies or transcodes the video.
    A film with several audio tracks is cut to HLS so that the player can choose one. Browsers honour
    an MP4's display matrix, MPEG-TS has none: a turned picture is turned while transcoding."""
    safe = browser_safe(vcodec, shape)
    acodec = tracks[0].codec if tracks else None
    webm_codecs = vcodec in ("vp8", "vp9", "av1") and acodec in (None, "opus", "vorbis")
    mp4 = any(n in DIRECT_CONTAINERS for n in fmt.split(",")) and not fmt.startswith("matroska")
    direct = (mp4 and vcodec in BROWSER_VIDEO and (acodec is None or acodec in BROWSER_AUDIO)) or (
        fmt.startswith("matroska") and webm_codecs  # a real WebM: Matroska with only WebM codecs
    )
    if direct and safe and len(tracks) <= 1:
        return "direct", "copy"
    return "hls", "copy" if vcodec in HLS_VIDEO_COPY and safe and not shape.rotation else "transcode"


def _timeline(info: MediaInfo, container: Any, video: Any, header: float | None, size: int | None) -> None:
    """Fills the segments, their byte spans and what the file really holds (hls only)."""
    found = keyframes(container, video, info.origin, header, size)
    if not found.points:
        raise MediaError("the video track has no keyframe: the file is corrupt.")
    end = info.origin + (header or 0.0)
    info.indexed = found.end is None
    if found.end is not None:
        if header and found.end < end - 1.0:
            info.missing_from, info.promised = found.end - info.origin, header
        end = found.end
    # Segments are planned on the film's own clock (jumps removed), then placed back on the source's.
    gaps = info.gaps = found.gaps
    planned = plan_segments(
        [film_time(t, gaps) for t, _ in found.points],
        film_time(end, gaps),
        any_cut=info.video_action == "transcode",
        forced=[film_time(at, gaps) for at, _ in gaps],
    )
    info.segments = [(source_time(s, gaps), source_time(e, gaps)) for s, e in planned]
    info.duration = film_time(end, gaps) - info.origin
    info.spans = segment_spans(info.segments, found.points)
    info.origin = found.points[0][0]


def _direct_timeline(
    info: MediaInfo, container: Any, video: Any, header: float | None, size: int | None
) -> None:
    """Segments for a film that plays directly, so that it can step down to a smaller rendition (adaptive
    streaming, the video copied into MPEG-TS); the direct play's own duration is kept. A file whose
    index cannot be read simply has none."""
    planned = replace(info)
    try:
        _timeline(planned, container, video, header, size)
    except (MediaError, av.FFmpegError):
        return
    if planned.missing_from is None:
        info.segments, info.spans, info.gaps = planned.segments, planned.spans, planned.gaps
        info.origin, info.indexed = planned.origin, planned.indexed


def probe(source: Opener) -> MediaInfo:
    """Reads the container's headers and index (not the whole film) and decides how to play it."""
    target = source()
    size = _size(target)
    container = open_input(lambda: target)
    try:
        if not container.streams.video:
            raise MediaError("this file has no video track.")
        video = container.streams.video[0]
        vcodec = video.codec_context.name
        shape: Picture = picture(container, video)
        tracks = audio_tracks(container)
        default = choose_audio(tracks)
        kind, vaction = _playback(container.format.name, vcodec, shape, tracks)
        header = _header_duration(container, video)
        info = MediaInfo(
            container.format.name,
            vcodec,
            default.codec if default else None,
            shape.display_width,
            shape.display_height,
            header or 0.0,
            kind,
            vaction,
            audio_action(default),
            origin=container.start_time / av.time_base if container.start_time else 0.0,
            subtitles=subtitle_tracks(container, TEXT_SUBTITLE_CODECS),
            image_subtitles=subtitle_tracks(container, IMAGE_SUBTITLE_CODECS),
            audio_tracks=tracks,
            audio_index=default.index if default else None,
            profile=shape.profile,
            pix_fmt=shape.pix_fmt,
            bit_depth=shape.bit_depth,
            rotation=shape.rotation,
        )
        if kind == "hls":
            _timeline(info, container, video, header, size)
        elif not header:
            raise MediaError("the video file has no duration: it may be truncated.")
        elif vcodec in HLS_VIDEO_COPY and not shape.rotation:  # MPEG-TS has no display matrix
            _direct_timeline(info, container, video, header, size)
        return info
    finally:
        container.close()
