"""Synthetic films for tests and the demo: a moving test pattern and a beeping tone, encoded with PyAV.
Everything here blocks (encoding): call it from a thread or a process, never on the event loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter

SAMPLE_RATE = 48_000
KEYFRAME_INTERVAL_S = 2.0


@dataclass(frozen=True)
class Cue:
    """One subtitle line: start and end in seconds, and its text (may hold several lines)."""

    start: float
    end: float
    text: str


def sample_cues(duration_s: float, language: str = "en") -> list[Cue]:
    """A cue every few seconds, so that a subtitle track has something to show wherever one seeks."""
    words = {
        "en": "Hello from the demo film",
        "fr": "Bonjour depuis le film de démonstration",
    }.get(language, f"Subtitle ({language})")
    cues: list[Cue] = []
    t = 0.5
    n = 1
    while t + 1.5 <= duration_s:
        cues.append(Cue(t, t + 2.0 if t + 2.0 <= duration_s else duration_s, f"{words} — line {n}"))
        t += 3.0
        n += 1
    return cues


def _timestamp(seconds: float, sep: str = ",") -> str:
    ms = int(round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def srt_text(cues: Sequence[Cue]) -> str:
    blocks = [
        f"{i}\n{_timestamp(c.start)} --> {_timestamp(c.end)}\n{c.text}\n" for i, c in enumerate(cues, 1)
    ]
    return "\n".join(blocks)


def write_srt(path: str | Path, cues: Sequence[Cue | tuple[float, float, str]]) -> Path:
    """Writes cues as a SubRip file (UTF-8) and returns its path."""
    path = Path(path)
    path.write_text(srt_text([c if isinstance(c, Cue) else Cue(*c) for c in cues]), encoding="utf-8")
    return path


ASS_HEADER = """[Script Info]
ScriptType: v4.00+
PlayResX: 384
PlayResY: 288

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, \
Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, \
MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""

# Container → muxer name and the codec names PyAV encodes with.
MUXERS = {"mp4": "mp4", "mkv": "matroska", "avi": "avi", "webm": "webm", "ts": "mpegts"}
VIDEO_ENCODERS = {"h264": "libx264", "hevc": "libx265", "mpeg4": "mpeg4", "vp9": "libvpx-vp9"}
AUDIO_ENCODERS = {"aac": "aac", "ac3": "ac3", "mp3": "libmp3lame", "opus": "libopus", "eac3": "eac3"}
SUBTITLE_ENCODERS = {"srt": "subrip", "subrip": "subrip", "ass": "ass"}


def video_stream(out: av.container.OutputContainer, codec: str, width: int, height: int, fps: int):
    name = VIDEO_ENCODERS.get(codec, codec)
    gop = max(1, int(round(fps * KEYFRAME_INTERVAL_S)))
    options: dict[str, str] = {}
    if name == "libx264":
        options = {"preset": "veryfast", "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
    elif name == "libx265":
        options = {
            "preset": "ultrafast",
            "x265-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:log-level=error",
        }
    elif name == "libvpx-vp9":
        options = {"deadline": "realtime", "cpu-used": "8"}
    stream: Any = out.add_stream(name, rate=fps, options=options)
    stream.width = width
    stream.height = height
    stream.pix_fmt = "yuv420p"
    stream.codec_context.gop_size = gop
    if name == "mpeg4":
        stream.codec_context.bit_rate = 800_000
        stream.codec_context.qmax = 10
    return stream


def test_pattern(width: int, height: int, fps: int, duration_s: float, noise: int = 0):
    graph = av.filter.Graph()
    src = graph.add("testsrc2", f"size={width}x{height}:rate={fps}:duration={duration_s}")
    fmt = graph.add("format", "pix_fmts=yuv420p")
    sink = graph.add("buffersink")
    if noise:
        # Film grain makes the bit rate of a real film (a clean pattern compresses to almost nothing).
        grain = graph.add("noise", f"alls={int(noise)}:allf=t")
        src.link_to(grain)
        grain.link_to(fmt)
    else:
        src.link_to(fmt)
    fmt.link_to(sink)
    graph.configure()
    return graph, sink


def tone(duration_s: float, frequency: int):
    graph = av.filter.Graph()
    src = graph.add(
        "sine", f"frequency={frequency}:beep_factor=4:sample_rate={SAMPLE_RATE}:duration={duration_s}"
    )
    fmt = graph.add("aformat", "sample_fmts=fltp:channel_layouts=stereo")
    sink = graph.add("abuffersink")
    src.link_to(fmt)
    fmt.link_to(sink)
    graph.configure()
    return graph, sink


def pull_frames(graph_and_sink):
    graph, sink = graph_and_sink  # the sink needs its graph alive
    while True:
        try:
            yield sink.pull()
        except (av.error.EOFError, av.error.BlockingIOError):
            return


def _normalise_subtitles(subtitles) -> dict[str, list[Cue]]:
    if not subtitles:
        return {}
    if isinstance(subtitles, Mapping):
        return {
            lang: [c if isinstance(c, Cue) else Cue(*c) for c in cues] for lang, cues in subtitles.items()
        }
    return {"en": [c if isinstance(c, Cue) else Cue(*c) for c in subtitles]}


ISO639_2 = {"en": "eng", "fr": "fre", "es": "spa", "de": "ger", "it": "ita", "pt": "por"}


def _ass_time(seconds: float) -> str:
    cs = int(round(seconds * 100))
    h, cs = divmod(cs, 360_000)
    m, cs = divmod(cs, 6000)
    s, cs = divmod(cs, 100)
    return f"{h}:{m:02d}:{s:02d}.{cs:02d}"


def generate_film(
    path: str | Path,
    *,
    container: str = "mp4",
    video_codec: str = "h264",
    audio_codec: str = "aac",
    duration_s: float = 10.0,
    width: int = 320,
    height: int = 180,
    fps: int = 25,
    subtitles: Sequence[Cue] | Mapping[str, Sequence[Cue]] | None = None,
    subtitle_codec: str = "srt",
    tone_hz: int = 440,
    noise: int = 0,
) -> Path:
    """Encodes a film of `duration_s` seconds with a keyframe every ~2 s and returns its path.

    `subtitles` (a list of cues, or {language: cues}) become subtitle tracks inside the container
    (MKV only), encoded as `subtitle_codec` ("srt" or "ass").
    """
    path = Path(path)
    muxer = MUXERS.get(container, container)
    tracks = _normalise_subtitles(subtitles)
    if tracks and muxer != "matroska":
        raise ValueError("embedded subtitle tracks are only written into MKV files")
    options = {"movflags": "+faststart"} if muxer == "mp4" else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with av.open(str(tmp), "w", format=muxer, options=options) as out:
        vstream: Any = video_stream(out, video_codec, width, height, fps)
        astream = audio_stream(out, audio_codec)
        sub_streams = _subtitle_streams(out, tracks, subtitle_codec)
        frames = pull_frames(test_pattern(width, height, fps, duration_s, noise))
        samples = pull_frames(tone(duration_s, tone_hz))
        _mux_interleaved(out, vstream, astream, frames, samples)
        for sstream, codec, cues in sub_streams:
            _mux_cues(out, sstream, codec, cues)
    tmp.replace(path)
    return path


def audio_stream(out: Any, audio_codec: str) -> Any:
    astream: Any = out.add_stream(AUDIO_ENCODERS.get(audio_codec, audio_codec), rate=SAMPLE_RATE)
    astream.layout = "stereo"
    if astream.codec_context.name in ("aac", "ac3", "eac3"):
        astream.codec_context.bit_rate = 128_000
    return astream


def _subtitle_streams(
    out: Any, tracks: Mapping[str, Sequence[Cue]], subtitle_codec: str
) -> list[tuple[Any, str, Sequence[Cue]]]:
    streams = []
    for lang, cues in tracks.items():
        codec = SUBTITLE_ENCODERS[subtitle_codec]
        sstream: Any = out.add_stream(codec)
        sstream.metadata["language"] = ISO639_2.get(lang, lang)
        sstream.metadata["title"] = lang
        # Both encoders need an ASS header to open; for ASS it also becomes the track's CodecPrivate.
        sstream.codec_context.subtitle_header = ASS_HEADER.encode()
        if codec == "ass":
            sstream.codec_context.extradata = ASS_HEADER.encode()
        sstream.time_base = Fraction(1, 1000)
        streams.append((sstream, codec, cues))
    return streams


def _mux_interleaved(out: Any, vstream: Any, astream: Any, frames: Any, samples: Any) -> None:
    # Interleave by time so that the muxer never buffers a long run of one stream.
    vtime = atime = 0.0
    v_done = a_done = False
    while not (v_done and a_done):
        if not v_done and (a_done or vtime <= atime):
            frame = next(frames, None)
            if frame is None:
                v_done = True
                out.mux(vstream.encode(None))
                continue
            frame.pict_type = av.video.frame.PictureType.NONE
            vtime = float(frame.pts * frame.time_base)
            out.mux(vstream.encode(frame))
        else:
            aframe = next(samples, None)
            if aframe is None:
                a_done = True
                out.mux(astream.encode(None))
                continue
            atime = float(aframe.pts * aframe.time_base)
            out.mux(astream.encode(aframe))


def _mux_cues(out: Any, sstream: Any, codec: str, cues: Sequence[Cue]) -> None:
    for n, cue in enumerate(cues):
        text = cue.text
        if codec == "ass":
            body = text.replace("\n", "\\N")
            text = f"{n},0,Default,,0,0,0,,{body}"
        packet = av.Packet(text.encode())
        packet.stream = sstream
        packet.time_base = sstream.time_base
        packet.pts = packet.dts = int(round(cue.start * 1000))
        packet.duration = int(round((cue.end - cue.start) * 1000))
        out.mux(packet)


@dataclass(frozen=True)
class DemoFilm:
    """A demo film: the title the catalogue shows and the folder (torrent content) holding it."""

    slug: str
    title: str
    directory: Path
    video: Path
    extras: list[Path] = field(default_factory=list)


# (slug, title, container, video, audio, embedded subtitles, sidecar .srt)
DEMO_SPECS = [
    ("big-buck-pattern", "Pattern of the Ages (MP4 H.264/AAC)", "mp4", "h264", "aac", None, "en"),
    ("sintel-bars", "Bars of Sintel (MKV H.264/AC3, subtitles)", "mkv", "h264", "ac3", "ass", None),
    ("tears-of-hevc", "Tears of HEVC (MKV HEVC/AAC)", "mkv", "hevc", "aac", None, None),
    ("elephants-avi", "Elephants in AVI (AVI MPEG-4/MP3)", "avi", "mpeg4", "mp3", None, "fr"),
]


def generate_demo_films(
    directory: str | Path, *, duration_s: float = 40.0, width: int = 640, height: int = 360, fps: int = 25
) -> list[DemoFilm]:
    """Generates the demo set (each film in its own folder, ready to become a torrent); skips existing ones."""
    root = Path(directory)
    films: list[DemoFilm] = []
    for i, (slug, title, container, vcodec, acodec, embedded, sidecar) in enumerate(DEMO_SPECS):
        folder = root / slug
        folder.mkdir(parents=True, exist_ok=True)
        video = folder / f"{slug}.{container}"
        extras: list[Path] = []
        if not video.exists():
            subs = None
            if embedded:
                subs = {"en": sample_cues(duration_s, "en"), "fr": sample_cues(duration_s, "fr")}
            generate_film(
                video,
                container=container,
                video_codec=vcodec,
                audio_codec=acodec,
                duration_s=duration_s,
                width=width,
                height=height,
                fps=fps,
                subtitles=subs,
                subtitle_codec=embedded or "srt",
                tone_hz=330 + 110 * i,
            )
        if sidecar:
            srt = folder / f"{slug}.{sidecar}.srt"
            if not srt.exists():
                write_srt(srt, sample_cues(duration_s, sidecar))
            extras.append(srt)
        films.append(DemoFilm(slug, title, folder, video, extras))
    return films
