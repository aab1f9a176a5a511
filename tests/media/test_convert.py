"""Probe, plan and cut: every generated film converts, decodes end to end, and joins without gaps."""

from __future__ import annotations

import io

import av
import pytest

from hypertube.media import segments
from hypertube.media.convert import MediaError, probe
from hypertube.media.generate import generate_film
from hypertube.media.reader import LocalFileReader
from hypertube.media.segments import make_segment
from tests.media.conftest import CONVERTED


def _opener(path):
    return lambda: str(path)


def _decode_all(data: bytes):
    with av.open(io.BytesIO(data)) as c:
        video = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    with av.open(io.BytesIO(data)) as c:
        audio = [(float(f.pts * f.time_base), f.samples / f.sample_rate) for f in c.decode(audio=0)]
    return video, audio


def test_mp4_with_browser_codecs_plays_directly(films):
    info = probe(_opener(films["mp4-h264-aac"]))
    assert info.kind == "direct"
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert abs(info.duration - 10) < 0.1


@pytest.mark.parametrize(
    "name,video,audio",
    [
        ("mkv-h264-ac3-subs", "copy", "transcode"),
        ("mkv-h264-aac-srt", "copy", "copy"),
        ("mkv-hevc-aac", "transcode", "copy"),
        ("avi-mpeg4-mp3", "transcode", "transcode"),
    ],
)
def test_decision(films, name, video, audio):
    info = probe(_opener(films[name]))
    assert (info.kind, info.video_action, info.audio_action) == ("hls", video, audio)


@pytest.mark.parametrize("name", CONVERTED)
def test_each_converted_film_decodes_end_to_end_with_its_duration(films, name):
    info = probe(_opener(films[name]))
    assert len(info.segments) >= 2
    # Segments tile the timeline: each starts where the previous one ended.
    for (_, end), (start, _) in zip(info.segments, info.segments[1:], strict=False):
        assert start == end
    whole = b"".join(make_segment(_opener(films[name]), info, i) for i in range(len(info.segments)))
    video, audio = _decode_all(whole)
    assert len(video) == 250  # 10 s at 25 fps, no frame lost or doubled at the cuts
    span = video[-1] - video[0] + 0.04
    assert abs(span - 10.0) <= 0.5
    steps = [b - a for a, b in zip(video, video[1:], strict=False)]
    assert max(steps) < 0.1 and min(steps) > 0.03  # continuous: no gap, no jump back
    # Every frame keeps the time it had in the source (shifted by the constant MPEG-TS offset).
    with av.open(str(films[name])) as c:
        source = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    shifted = [t - segments.TS_OFFSET_S + info.origin for t in video]
    assert max(abs(a - b) for a, b in zip(sorted(source), shifted, strict=True)) < 0.002
    heard = sum(d for _, d in audio)
    assert abs(heard - 10.0) <= 0.5
    # Audio follows video closely at every cut.
    assert abs(audio[0][0] - video[0]) < 0.1
    with av.open(io.BytesIO(whole)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.audio[0].codec_context.name == "aac"


@pytest.mark.parametrize("name", ["mkv-h264-ac3-subs", "mkv-hevc-aac"])
def test_each_segment_starts_on_a_keyframe_at_its_planned_time(films, name):
    info = probe(_opener(films[name]))
    for i, (start, _end) in enumerate(info.segments):
        data = make_segment(_opener(films[name]), info, i)
        with av.open(io.BytesIO(data)) as c:
            first = next(c.demux(video=0))
            assert first.is_keyframe
            t = float(first.pts * first.time_base) - segments.TS_OFFSET_S
            assert abs(t - start) < 0.05


def test_segment_at_70_percent_reads_only_part_of_the_file(long_mkv):
    reader = LocalFileReader(long_mkv)
    opener = lambda: reader.open_sync()  # noqa: E731
    info = probe(opener)
    probe_bytes = reader.bytes_read[0]
    index = next(i for i, (s, e) in enumerate(info.segments) if s <= 0.7 * info.duration < e)
    before = reader.bytes_read[0]
    data = make_segment(opener, info, index)
    used = reader.bytes_read[0] - before
    assert data
    assert probe_bytes < reader.size * 0.25
    assert used < reader.size * 0.45, (used, reader.size)


class _Recorder(io.RawIOBase):
    """A film file that records the byte ranges read from it."""

    def __init__(self, path):
        self._fh = open(path, "rb", buffering=0)  # noqa: SIM115 (closed in close())
        self.reads: list[tuple[int, int]] = []

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        return self._fh.seek(offset, whence)

    def tell(self):
        return self._fh.tell()

    def readinto(self, b):
        pos = self._fh.tell()
        n = self._fh.readinto(b) or 0
        if n:
            self.reads.append((pos, pos + n))
        return n

    def close(self):
        self._fh.close()
        super().close()


@pytest.mark.parametrize("name", ["mkv-h264-ac3-subs", "avi-mpeg4-mp3"])
def test_segment_spans_hold_the_bytes_each_cut_reads(films, long_mkv, name):
    path = long_mkv if name.startswith("mkv") else films[name]
    size = path.stat().st_size
    info = probe(_opener(path))
    assert len(info.spans) == len(info.segments) > 2
    header = max(e for s, e in _reads_of(path, probe) if s < size // 4)
    for index, (start, end) in enumerate(info.spans):
        end = size if end < 0 else min(end, size)  # a hint: readers clamp it to the file
        assert 0 <= start < end
        reads = _reads_of(path, lambda opener, i=index: make_segment(opener, info, i))
        body = [(s, e) for s, e in reads if s >= header and s < size - 64 * 1024]
        assert body, index
        # Every read past the header (and before an index at the very end) falls inside the span.
        assert all(start <= s and e <= end for s, e in body), (index, (start, end), body)


def _reads_of(path, job) -> list[tuple[int, int]]:
    recorders: list[_Recorder] = []

    def opener():
        recorders.append(_Recorder(path))
        return recorders[-1]

    job(opener)
    return [r for rec in recorders for r in rec.reads]


def test_playlist_is_vod_with_real_duration(films):
    info = probe(_opener(films["mkv-h264-ac3-subs"]))
    text = segments.playlist(info, lambda i: f"{i}.ts")
    assert text.startswith("#EXTM3U\n")
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    total = sum(
        float(line.split(":")[1].rstrip(",")) for line in text.splitlines() if line.startswith("#EXTINF")
    )
    assert abs(total - info.duration) < 0.1


def test_corrupt_files_raise_media_errors_and_truncated_ones_play_what_they_hold(tmp_path, films):
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"\x1aE\xdf\xa3" + b"not a film" * 500)
    with pytest.raises(MediaError):
        probe(_opener(junk))
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    with pytest.raises(MediaError):
        probe(_opener(empty))
    # A file cut short plays what it holds, and no more: the playlist ends where the data ends.
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(films["mkv-hevc-aac"].read_bytes()[:40_000])
    info = probe(_opener(cut))
    assert info.missing_from is not None and info.duration < 2 and info.promised and info.promised > 9
    assert info.segments[-1][1] <= info.missing_from + 0.1
    for i in range(len(info.segments)):
        assert make_segment(_opener(cut), info, i)


def test_a_file_without_video_is_refused(tmp_path):
    with av.open(str(tmp_path / "a.mka"), "w", format="matroska") as out:
        s = out.add_stream("aac", rate=48000)
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=1024)
        for p in frame.planes:
            p.update(bytes(p.buffer_size))
        frame.sample_rate = 48000
        frame.pts = 0
        out.mux(s.encode(frame))
        out.mux(s.encode(None))
    with pytest.raises(MediaError, match="no video"):
        probe(_opener(tmp_path / "a.mka"))


def test_generator_writes_keyframes_every_two_seconds(tmp_path):
    path = generate_film(
        tmp_path / "k.mkv", container="mkv", video_codec="h264", audio_codec="aac", duration_s=6
    )
    with av.open(str(path)) as c:
        keys = [float(p.pts * p.time_base) for p in c.demux(video=0) if p.is_keyframe and p.pts is not None]
    assert keys == [0.0, 2.0, 4.0]
