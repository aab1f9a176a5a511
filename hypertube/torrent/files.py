"""Which file of a torrent is the film: the largest video file, samples ignored; subtitles beside it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

VIDEO_EXTENSIONS = frozenset(
    ".mp4 .m4v .mkv .webm .avi .mov .wmv .mpg .mpeg .ts .m2ts .flv .ogv .3gp .divx .xvid".split()
)
SUBTITLE_EXTENSIONS = frozenset(".srt .ass .ssa .vtt .sub".split())
SAMPLE_RE = re.compile(r"(^|[^a-z])sample([^a-z]|$)", re.IGNORECASE)

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
    ".mov": "video/quicktime",
    ".ogv": "video/ogg",
    ".ts": "video/mp2t",
    ".m2ts": "video/mp2t",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".wmv": "video/x-ms-wmv",
    ".flv": "video/x-flv",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".ass": "text/x-ssa",
    ".ssa": "text/x-ssa",
}


@dataclass(frozen=True)
class TorrentFile:
    index: int
    path: str  # relative to the torrent's save path, "/"-separated
    size: int
    kind: str  # "video" | "subtitle" | "other"

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


def kind_of(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    if suffix in SUBTITLE_EXTENSIONS:
        return "subtitle"
    return "other"


def is_sample(path: str) -> bool:
    return any(SAMPLE_RE.search(part) for part in PurePosixPath(path).parts)


def pick_main_file(files: list[TorrentFile]) -> TorrentFile | None:
    """The largest video file whose path does not say "sample"; None when there is none."""
    videos = [f for f in files if f.kind == "video" and not is_sample(f.path)]
    if not videos:
        return None
    return max(videos, key=lambda f: (f.size, -f.index))


def content_type(path: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(path).suffix.lower(), "application/octet-stream")
