"""SRT, ASS and VTT to WebVTT, on clean and nasty inputs; tracks inside the container."""

from __future__ import annotations

import av
import pytest

from hypertube.media.convert import probe
from hypertube.media.subtitles import clean_text, convert_to_vtt, extract_track, parse_ass, parse_srt


def _cues(vtt: str) -> list[tuple[str, str]]:
    blocks = [b for b in vtt.split("\n\n") if "-->" in b]
    out = []
    for b in blocks:
        lines = b.strip().split("\n")
        timing = next(line for line in lines if "-->" in line)
        out.append((timing, "\n".join(lines[lines.index(timing) + 1 :])))
    return out


def assert_valid_vtt(vtt: str) -> None:
    assert vtt.startswith("WEBVTT\n")
    for timing, text in _cues(vtt):
        a, b = timing.split(" --> ")
        assert len(a) == len(b) == 12 and a[2] == ":" and a[8] == "."
        assert text.strip()
        assert "-->" not in text and "\n\n" not in text


def test_plain_srt():
    vtt = convert_to_vtt(
        "1\n00:00:01,000 --> 00:00:02,500\nHello\n\n2\n00:00:03,000 --> 00:00:04,000\nWorld\n"
    )
    assert_valid_vtt(vtt)
    assert _cues(vtt) == [
        ("00:00:01.000 --> 00:00:02.500", "Hello"),
        ("00:00:03.000 --> 00:00:04.000", "World"),
    ]


def test_bom_crlf_and_missing_numbers():
    raw = "\ufeff00:00:01,000 --> 00:00:02,000\r\nLine one\r\nLine two\r\n\r\n00:00:05,000 --> 00:00:06,000\r\nNext\r\n"
    vtt = convert_to_vtt(raw.encode("utf-8"))
    assert _cues(vtt) == [
        ("00:00:01.000 --> 00:00:02.000", "Line one\nLine two"),
        ("00:00:05.000 --> 00:00:06.000", "Next"),
    ]


def test_utf16_and_latin1_files():
    text = "1\n00:00:01,000 --> 00:00:02,000\nÉté à Paris\n"
    assert "Été à Paris" in convert_to_vtt(text.encode("utf-16"))
    assert "Été à Paris" in convert_to_vtt(text.encode("cp1252"))


def test_html_is_escaped_and_only_simple_tags_survive():
    raw = (
        "1\n00:00:01,000 --> 00:00:02,000\n<i>fine</i> <font color=red>red</font> <b>bold</b>\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\n<script>alert(1)</script>x < y & z\n\n"
        "3\n00:00:05,000 --> 00:00:06,000\narrow --> inside\n\n"
        "4\n00:00:07,000 --> 00:00:08,000\n<img src=x onerror=alert(1)>\n"
    )
    cues = _cues(convert_to_vtt(raw))
    assert cues[0][1] == "<i>fine</i> red <b>bold</b>"
    assert cues[1][1] == "x &lt; y &amp; z"
    assert cues[2][1] == "arrow --&gt; inside"
    assert len(cues) == 3  # the cue that was only a tag is empty and dropped


def test_broken_timings_are_skipped_not_fatal():
    raw = (
        "1\n00:00:05,000 --> 00:00:04,000\nbackwards\n\n"
        "2\n00:99:00,000 --> 01:00:00,000\nbad minutes\n\n"
        "garbage line\n\n"
        "3\n0:00:01.5 --> 0:00:02.25\nshort forms\n\n"
        "4\n00:00:09,000 --> 00:00:10,000 X1:10 X2:20\nwith position\n"
    )
    cues = _cues(convert_to_vtt(raw))
    assert cues == [
        ("00:00:01.500 --> 00:00:02.250", "short forms"),
        ("00:00:09.000 --> 00:00:10.000", "with position"),
    ]


def test_empty_and_huge_inputs():
    assert convert_to_vtt(b"") == "WEBVTT\n"
    assert convert_to_vtt("\x00\x00garbage") == "WEBVTT\n"
    many = "".join(
        f"{i}\n00:00:{i % 60:02d},000 --> 00:00:{i % 60:02d},500\nline {i}\n\n" for i in range(5000)
    )
    assert len(parse_srt(many)) == 5000


def test_vtt_input_is_cleaned_too():
    raw = "WEBVTT\n\nNOTE a comment\n\n00:01.000 --> 00:02.000 align:start\n<c.yellow>Hi</c> <script>x</script>\n"
    assert _cues(convert_to_vtt(raw, "x.vtt")) == [("00:00:01.000 --> 00:00:02.000", "Hi")]


def test_ass_dialogue_with_overrides_and_commas():
    raw = (
        "[Script Info]\nTitle: x\n\n[V4+ Styles]\nFormat: Name, Fontname\nStyle: Default,Arial\n\n"
        "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,{\\i1}Hello{\\i0}, world\\Nsecond line\n"
        "Comment: 0,0:00:02.00,0:00:03.00,Default,,0,0,0,,not shown\n"
        "Dialogue: 0,0:00:04.00,0:00:03.00,Default,,0,0,0,,backwards\n"
        "Dialogue: 0,0:00:05.00,0:00:06.00,Default,,0,0,0,,<script>alert(1)</script>\n"
    )
    cues = parse_ass(raw)
    assert [(c.start, c.end, c.text) for c in cues] == [
        (1.0, 2.5, "<i>Hello</i>, world\nsecond line"),
        (5.0, 6.0, "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ]
    assert_valid_vtt(convert_to_vtt(raw, "film.ass"))


def test_srt_with_ass_override_tags():
    raw = (
        "1\n00:00:01,000 --> 00:00:02,000\n{\\an8}Top of the screen\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\n{\\i1}Été{\\i0} {\\b1\\c&H00FFFF&}à{\\b0} <u>Paris</u>\n\n"
        "3\n00:00:05,000 --> 00:00:06,000\n{\\pos(10,20)\\bord2\\blur3}{not a tag} <script>x()</script>\n\n"
        "4\n00:00:07,000 --> 00:00:08,000\n{\\an8}\n"
    )
    cues = _cues(convert_to_vtt(raw, "film.srt"))
    assert cues == [
        ("00:00:01.000 --> 00:00:02.000", "Top of the screen"),
        ("00:00:03.000 --> 00:00:04.000", "<i>Été</i> <b>à</b> <u>Paris</u>"),
        ("00:00:05.000 --> 00:00:06.000", "{not a tag}"),
    ]  # a cue that held only an override block is dropped


def test_clean_text_keeps_unicode():
    assert clean_text("日本語 — ça va ? 🎬") == "日本語 — ça va ? 🎬"


@pytest.mark.parametrize("name", ["mkv-h264-ac3-subs", "mkv-h264-aac-srt"])
def test_tracks_inside_the_container_become_webvtt(films, name):
    info = probe(lambda: str(films[name]))
    assert info.subtitles and info.subtitles[0].language == "en"
    vtt = extract_track(str(films[name]), info.subtitles[0].index)
    assert_valid_vtt(vtt)
    cues = _cues(vtt)
    assert cues[0] == ("00:00:00.500 --> 00:00:02.500", "Hello from the demo film — line 1")
    assert len(cues) == 3
    if name == "mkv-h264-ac3-subs":
        fr = next(t for t in info.subtitles if t.language == "fr")
        assert "Bonjour" in extract_track(str(films[name]), fr.index)


def test_generated_files_really_hold_subtitle_streams(films):
    with av.open(str(films["mkv-h264-ac3-subs"])) as c:
        assert [s.codec_context.name in ("ass", "ssa") for s in c.streams.subtitles] == [True, True]
