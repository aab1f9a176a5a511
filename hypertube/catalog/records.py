"""The normalised film record every source returns, and small parsers for the values sources send."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

IMDB_RE = re.compile(r"^tt[0-9]{5,10}$")
HASH_RE = re.compile(r"^[0-9a-fA-F]{40}$")
YEAR_RE = re.compile(r"(18[7-9][0-9]|19[0-9]{2}|20[0-9]{2}|2100)")


@dataclass
class TorrentRecord:
    quality: str | None = None
    size_bytes: int | None = None
    seeders: int = 0
    leechers: int = 0
    info_hash: str | None = None
    magnet: str | None = None
    torrent_url: str | None = None


@dataclass(kw_only=True)
class FilmDetails:
    """What a film page shows beyond the title: every record carries these, and enrichers (TMDB, OMDb) fill them in."""

    rating: float | None = None
    runtime: int | None = None
    genres: list[str] = field(default_factory=list)
    summary: str | None = None
    director: str | None = None
    producer: str | None = None
    cast: list[dict[str, Any]] = field(default_factory=list)
    cover_url: str | None = None
    backdrop_url: str | None = None

    def merge(self, other: FilmDetails) -> None:
        """Fills what is still empty from `other` (earlier enrichers win)."""
        for name in ("summary", "director", "producer", "cover_url", "backdrop_url", "rating", "runtime"):
            if getattr(self, name) is None:
                setattr(self, name, getattr(other, name))
        self.cast = self.cast or other.cast
        self.genres = self.genres or other.genres


@dataclass
class FilmRecord(FilmDetails):
    source: str
    external_id: str
    title: str
    imdb_id: str | None = None
    year: int | None = None
    language: str | None = None
    popularity: float = 0.0
    torrents: list[TorrentRecord] = field(default_factory=list)
    has_details: bool = False
    # `.torrent` URLs this source offered before and now says do not exist (their copies are removed).
    withdrawn: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SearchFilters:
    genre: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    rating_min: float | None = None
    sort: str = "name"
    order: str = "asc"


class Source(Protocol):
    """A place films come from. Failures raise `SourceUnavailable`; an empty answer is a list."""

    name: str
    label: str

    async def search(self, query: str, page: int, filters: SearchFilters) -> list[FilmRecord]: ...

    async def details(self, external_id: str) -> FilmRecord | None: ...


class SourceUnavailable(Exception):
    """A source did not answer usefully (timeout, 5xx, refused, garbage). The message says why.
    `down` is true when the service itself could not be reached (timeouts, connection errors, 5xx), as
    opposed to an answer that was wrong for this one request."""

    def __init__(self, source: str, reason: str, *, down: bool = False):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        self.down = down


def as_int(value: Any, low: int | None = None, high: int | None = None) -> int | None:
    try:
        number = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    if (low is not None and number < low) or (high is not None and number > high):
        return None
    return number


def as_float(value: Any, low: float = 0.0, high: float = 10.0) -> float | None:
    try:
        number = round(float(value), 1)
    except (TypeError, ValueError, OverflowError):
        return None
    if number != number or not low <= number <= high:
        return None
    return number


def as_text(value: Any, limit: int = 20_000) -> str | None:
    """Text from a value that may be a string, a list of strings or missing."""
    if isinstance(value, list):
        value = "\n".join(str(v) for v in value if isinstance(v, (str, int, float)))
    if not isinstance(value, (str, int, float)):
        return None
    text = str(value).replace("\x00", "").strip()
    return text[:limit] or None


def first_text(value: Any, limit: int = 20_000) -> str | None:
    """The first non-empty text of a value that may be a string, a list of strings or missing."""
    for item in value if isinstance(value, list) else [value]:
        if text := as_text(item, limit):
            return text
    return None


def as_names(value: Any, limit: int = 200) -> str | None:
    """People named by a string or a list of strings, joined with commas."""
    names = [t for v in (value if isinstance(value, list) else [value]) if (t := as_text(v, limit))]
    return ", ".join(dict.fromkeys(names))[:limit] or None


def as_year(value: Any) -> int | None:
    if isinstance(value, list):
        return next((y for v in value if (y := as_year(v)) is not None), None)
    if isinstance(value, int):
        return value if 1870 <= value <= 2100 else None
    if isinstance(value, str):
        m = YEAR_RE.search(value)
        return int(m.group(1)) if m else None
    return None


def as_imdb(value: Any) -> str | None:
    if isinstance(value, str) and IMDB_RE.match(value.strip()):
        return value.strip()
    return None


def as_hash(value: Any) -> str | None:
    if isinstance(value, str) and HASH_RE.match(value.strip()):
        return value.strip().lower()
    return None


def as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        parts = re.split(r"[;,]", value) if (";" in value or "," in value) else [value]
    elif isinstance(value, list):
        parts = [v for v in value if isinstance(v, str)]
    else:
        return []
    return [p.strip()[:60] for p in parts if p.strip()][:12]


def parse_size(value: Any) -> int | None:
    """Bytes from 123456, "123456" or human sizes such as "1.2 GB" / "700 MiB"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    m = re.match(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?i?B?)?\s*$", value, re.IGNORECASE)
    if not m:
        return None
    unit = (m.group(2) or "B").upper().replace("I", "").rstrip("B") or "B"
    scale = {"B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}.get(unit, 1)
    return int(float(m.group(1)) * scale)
