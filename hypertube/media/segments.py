"""Cutting one HLS segment (MPEG-TS) out of a film, each stream through a copy lane or a transcode lane;
blocking: run it in a worker thread."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import av.filter

from hypertube.media.convert import MediaError, MediaInfo, Opener, audio_action, open_input
from hypertube.media.timeline import TARGET_SEGMENT_S, film_time, source_time

# The display matrix's counter-clockwise angle → the filter that turns the picture upright.
UPRIGHT = {90: ("transpose", "cclock"), 180: ("hflip,vflip", None), 270: ("transpose", "clock")}
# Fast enough to stay ahead of playback on two shared cores; one keyframe a segment (no scene cuts).
X264_OPTIONS = {"preset": "ultrafast", "crf": "23", "x264-params": "scenecut=0:bframes=0"}
TS_OFFSET_S = 1.0  # MPEG-TS timestamps must stay positive (B-frames decode before their start)
EPSILON_S = 1e-3
VIDEO_CLOCK = 90_000  # the MPEG-TS clock rate
AAC_RATES = (44_100, 48_000, 32_000, 22_050, 24_000, 16_000)


@dataclass(frozen=True)
class Window:
    """The part of the film one segment holds, and how its timestamps move onto the output clock."""

    start: float
    end: float  # infinite for the last segment: it runs to the end of the file
    shift: float  # added to source seconds to get output seconds
    first: bool

    def before(self, seconds: float) -> bool:
        return seconds < self.start - EPSILON_S

    def after(self, seconds: float) -> bool:
        return seconds >= self.end - EPSILON_S


def _seconds(pts: int | None, time_base: Fraction) -> float | None:
    return float(pts * time_base) if pts is not None else None


def _shifted(value: int | None, offset: int) -> int | None:
    return value + offset if value is not None else None


# A copy lane moves packets onto the output clock as they are; a transcode lane decodes, keeps the
# frames inside the segment and encodes them (H.264, AAC). Timestamps keep the source's clock shifted
# by a constant, so segments cut in any order join without gaps.


class VideoCopyLane:
    """Packets from the segment's own keyframe up to the keyframe that starts the next segment."""

    def __init__(self, out: Any, vin: Any, window: Window):
        self.out, self.vin, self.window = out, vin, window
        self.stream = out.add_stream_from_template(vin)
        self.offset = int(round(window.shift / vin.time_base))
        self.started = self.done = False
        self.written = 0  # zero at the end means the bytes for this time are missing

    def feed(self, packet: Any) -> None:
        if self.done or packet.dts is None and packet.pts is None:
            return
        pts = _seconds(packet.pts, self.vin.time_base)
        if not self.started:
            if not packet.is_keyframe or pts is None or self.window.before(pts):
                return
            self.started = True
        if packet.is_keyframe and pts is not None and self.window.after(pts):
            self.done = True
            return
        packet.pts = _shifted(packet.pts, self.offset)
        packet.dts = _shifted(packet.dts, self.offset)
        packet.stream = self.stream
        self.out.mux(packet)
        self.written += 1

    def flush(self) -> None:
        """Nothing is held back when copying."""


class Upright:
    """Turns decoded frames by the film's display matrix (MPEG-TS cannot carry one)."""

    def __init__(self, rotation: int):
        self.rotation = rotation
        self.graph: Any = None

    def __call__(self, frame: Any) -> Any:
        if self.rotation not in UPRIGHT:
            return frame
        if self.graph is None:
            self.graph = av.filter.Graph()
            source = self.graph.add_buffer(
                width=frame.width, height=frame.height, format=frame.format.name, time_base=frame.time_base
            )
            last = source
            name, args = UPRIGHT[self.rotation]
            for step in name.split(","):
                node = self.graph.add(step, args) if args else self.graph.add(step)
                last.link_to(node)
                last = node
            last.link_to(self.graph.add("buffersink"))
            self.graph.configure()
        self.graph.push(frame)
        return self.graph.pull()


def x264_options(max_bitrate: int | None = None) -> dict[str, str]:
    """X264_OPTIONS, with the video's bitrate capped at `max_bitrate` bits/s when given (x264's VBV with
    half a second of buffer, so that a 4 s segment stays within about 1.1× the cap)."""
    options = dict(X264_OPTIONS)
    if max_bitrate:
        kbits = max(64, max_bitrate // 1000)
        options["x264-params"] += f":vbv-maxrate={kbits}:vbv-bufsize={kbits // 2}"
    return options


class VideoTranscodeLane:
    """Decodes from the keyframe at or before the start and encodes the frames inside the segment as
    8-bit 4:2:0 H.264, upright and with square pixels at the film's display size (at most
    `max_bitrate` bits/s when given)."""

    def __init__(self, out: Any, vin: Any, info: MediaInfo, window: Window, max_bitrate: int | None = None):
        self.out, self.vin, self.window = out, vin, window
        rate = vin.average_rate or vin.guessed_rate or Fraction(25)
        self.encoder = out.add_stream("libx264", rate=rate, options=x264_options(max_bitrate))
        self.encoder.width = info.width - info.width % 2
        self.encoder.height = info.height - info.height % 2
        self.encoder.pix_fmt = "yuv420p"
        self.encoder.codec_context.time_base = Fraction(1, VIDEO_CLOCK)
        self.encoder.codec_context.gop_size = 10_000  # one keyframe, the segment's first frame
        self.upright = Upright(info.rotation)
        # Frame threads as well as slices, as the ffmpeg CLI decodes: HEVC streams rarely have slices.
        vin.codec_context.thread_type = "AUTO"
        self.started = self.done = False
        self.written = 0

    def feed(self, packet: Any) -> None:
        if self.done or packet.dts is None and packet.pts is None:
            return
        if not self.started:
            if not packet.is_keyframe or packet.pts is None:
                return
            self.started = True
        self._encode_all(packet.decode())

    def flush(self) -> None:
        # The last frames of the segment are still in the decoder when the next keyframe stops the demuxer.
        if not self.done:
            self._encode_all(self.vin.codec_context.decode(None))
        self.out.mux(self.encoder.encode(None))

    def _encode_all(self, frames: Any) -> None:
        for frame in frames:
            if frame.pts is None:
                continue
            seconds = float(frame.pts * (frame.time_base or self.vin.time_base))
            if self.window.after(seconds):
                self.done = True
                return
            if not self.window.before(seconds):
                self._encode(frame, seconds + self.window.shift)

    def _encode(self, frame: Any, out_seconds: float) -> None:
        encoder = self.encoder
        frame = self.upright(frame)
        if frame.format.name != "yuv420p" or frame.width != encoder.width or frame.height != encoder.height:
            frame = frame.reformat(width=encoder.width, height=encoder.height, format="yuv420p")
        frame.pts = int(round(out_seconds * VIDEO_CLOCK))
        frame.time_base = Fraction(1, VIDEO_CLOCK)
        frame.pict_type = av.video.frame.PictureType.NONE
        self.out.mux(encoder.encode(frame))
        self.written += 1


class AudioLane:
    """Audio packets inside the segment; the first segment also keeps what comes before its start."""

    def __init__(self, out: Any, ain: Any, window: Window):
        self.out, self.ain, self.window = out, ain, window
        self.done = False

    def feed(self, packet: Any) -> None:
        if self.done or packet.pts is None:
            return
        pts = float(packet.pts * self.ain.time_base)
        if self.window.after(pts):
            self.done = True
        elif not self.window.before(pts) or self.window.first:
            self.write(packet)

    def write(self, packet: Any) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Nothing is held back unless encoding."""


class AudioCopyLane(AudioLane):
    def __init__(self, out: Any, ain: Any, window: Window):
        super().__init__(out, ain, window)
        self.stream = out.add_stream_from_template(ain)
        self.offset = int(round(window.shift / ain.time_base))

    def write(self, packet: Any) -> None:
        packet.pts += self.offset
        packet.dts = packet.dts + self.offset if packet.dts is not None else packet.pts
        packet.stream = self.stream
        self.out.mux(packet)


class AudioTranscodeLane(AudioLane):
    """Decodes any audio and encodes stereo AAC at a rate AAC allows."""

    def __init__(self, out: Any, ain: Any, window: Window):
        super().__init__(out, ain, window)
        rate = ain.codec_context.sample_rate or 48_000
        self.encoder = out.add_stream("aac", rate=rate if rate in AAC_RATES else 48_000)
        self.encoder.layout = "stereo"
        self.encoder.codec_context.bit_rate = 160_000

    def write(self, packet: Any) -> None:
        for frame in packet.decode():
            if frame.pts is None:
                continue
            seconds = float(frame.pts * (frame.time_base or self.ain.time_base))
            frame.pts = int(round((seconds + self.window.shift) * frame.sample_rate))
            frame.time_base = Fraction(1, frame.sample_rate)
            self.out.mux(self.encoder.encode(frame))

    def flush(self) -> None:
        self.out.mux(self.encoder.encode(None))


def make_segment(
    source: Opener, info: MediaInfo, index: int, audio: int | None = None, *, max_bitrate: int | None = None
) -> bytes:
    """One MPEG-TS segment: the packets (or re-encoded frames) from segment `index`'s start to its end,
    with the audio track whose stream index is `audio` (None: the file's default track); a transcoded
    video stays under `max_bitrate` bits/s when given."""
    if not 0 <= index < len(info.segments):
        raise IndexError(index)
    t0, t1 = info.segments[index]
    last = index == len(info.segments) - 1
    shift = TS_OFFSET_S - info.origin - info.skipped(t0)  # the output clock does not jump
    window = Window(t0, math.inf if last else t1, shift, first=index == 0)
    container = open_input(source)
    buf = io.BytesIO()
    try:
        out = av.open(buf, "w", format="mpegts", options={"avoid_negative_ts": "disabled"})
        try:
            _cut(container, out, info, window, audio, max_bitrate)
        finally:
            out.close()
    except av.FFmpegError as exc:
        raise MediaError(f"the video data around {t0:.0f} s could not be read.") from exc
    finally:
        container.close()
    return buf.getvalue()


def _cut(
    container: Any, out: Any, info: MediaInfo, window: Window, audio: int | None, max_bitrate: int | None
) -> None:
    vin = container.streams.video[0]
    track = info.audio_track(audio)
    ain = container.streams[track.index] if track is not None else None
    video: VideoCopyLane | VideoTranscodeLane
    if info.video_action == "copy":
        video = VideoCopyLane(out, vin, window)
    else:
        video = VideoTranscodeLane(out, vin, info, window, max_bitrate)
    lanes: dict[int, VideoCopyLane | VideoTranscodeLane | AudioLane] = {vin.index: video}
    if ain is not None:
        copy = audio_action(track) == "copy"
        lanes[ain.index] = AudioCopyLane(out, ain, window) if copy else AudioTranscodeLane(out, ain, window)
    # Without an index (MPEG-TS, Matroska without Cues) a seek lands near the time, not on the keyframe
    # before it: start a segment's length earlier and let the lanes skip to the keyframe.
    target = window.start
    if not info.indexed:  # one segment earlier on the film's clock: a jump leaves no time to land on
        target = source_time(film_time(window.start, info.gaps) - TARGET_SEGMENT_S, info.gaps)
    container.seek(max(0, int(round(target / vin.time_base))), stream=vin, backward=True)
    for packet in container.demux([vin] + ([ain] if ain is not None else [])):
        lanes[packet.stream.index].feed(packet)
        if all(lane.done for lane in lanes.values()):
            break
    for lane in lanes.values():
        lane.flush()
    if not video.started or not video.written:
        raise MediaError(
            f"no video keyframe found at {window.start:.1f} s: the file is truncated or corrupt."
        )


def playlist(info: MediaInfo, segment_url: Callable[[int], str]) -> str:
    """The HLS VOD playlist: every segment with its real length, so the player knows the whole timeline."""
    target = max((math.ceil(info.length(i)) for i in range(len(info.segments))), default=1)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for i in range(len(info.segments)):
        lines.append(f"#EXTINF:{info.length(i):.3f},")
        lines.append(segment_url(i))
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
