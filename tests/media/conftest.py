"""Generated films shared by the media tests (small: 10 s at 320×180), made once per run."""

from __future__ import annotations

from pathlib import Path

import pytest

from hypertube.media.generate import generate_film, sample_cues

FILMS = {
    "mp4-h264-aac": dict(container="mp4", video_codec="h264", audio_codec="aac"),
    "mkv-h264-ac3-subs": dict(
        container="mkv",
        video_codec="h264",
        audio_codec="ac3",
        subtitles={"en": sample_cues(10, "en"), "fr": sample_cues(10, "fr")},
        subtitle_codec="ass",
    ),
    "mkv-h264-aac-srt": dict(
        container="mkv",
        video_codec="h264",
        audio_codec="aac",
        subtitles=sample_cues(10),
        subtitle_codec="srt",
    ),
    "mkv-hevc-aac": dict(container="mkv", video_codec="hevc", audio_codec="aac"),
    "avi-mpeg4-mp3": dict(container="avi", video_codec="mpeg4", audio_codec="mp3"),
}
CONVERTED = ["mkv-h264-ac3-subs", "mkv-h264-aac-srt", "mkv-hevc-aac", "avi-mpeg4-mp3"]


@pytest.fixture(scope="session")
def films(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("films")
    out = {}
    for name, kw in FILMS.items():
        ext = kw["container"]
        out[name] = generate_film(
            folder / f"{name}.{ext}", duration_s=10, width=320, height=180, fps=25, **kw
        )
    return out


@pytest.fixture(scope="session")
def long_mkv(tmp_path_factory) -> Path:
    """30 s H.264/AC3 MKV (cues at the end), to show that a late segment reads only part of the file."""
    folder = tmp_path_factory.mktemp("long")
    return generate_film(
        folder / "long.mkv", container="mkv", video_codec="h264", audio_codec="ac3", duration_s=30
    )


@pytest.fixture(scope="session")
def full_hd(tmp_path_factory) -> Path:
    """A 1080p H.264 film in MKV (played through HLS, its video copied) for the renditions: 16 s at 10 fps."""
    folder = tmp_path_factory.mktemp("full-hd")
    return generate_film(
        folder / "full-hd.mkv", container="mkv", video_codec="h264", audio_codec="aac",
        duration_s=16, width=1920, height=1080, fps=10,
    )  # fmt: skip
