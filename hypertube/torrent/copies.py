"""A film's copies: the torrents of one film in several qualities (YTS offers 720p, 1080p, 2160p).

When the copy being played downloads slower than the film plays, the film steps down to a smaller copy
whose bitrate the observed download rate covers, and comes back to the larger copy once that one is
whole on disk (it goes on downloading in the background, held to the bandwidth the smaller copy
leaves). A lower rendition cut from the same copy cannot help there: it needs the same bytes.

Rates are in bytes per second; a copy's bitrate is its size divided by the film's duration."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import asyncpg

WINDOW_S = 5.0  # the download rate is measured over this long, with the player's pieces missing throughout
HEADROOM = 0.8  # a smaller copy is chosen when its bitrate is at most this share of the observed rate
STARVED_GRACE_S = 1.5  # a reader that waited for a piece this recently still counts as waiting
MIN_BACKGROUND_RATE = 16 * 1024  # the larger copy's download limit while the smaller one plays


@dataclass(frozen=True)
class Copy:
    """One torrent of a film: `quality` is its first word ("720p"), `size` the bytes the source gives
    (0 when unknown), `info_hash` lower-case hex (empty when only its `.torrent` URL is known)."""

    torrent_id: int
    quality: str
    size: int
    info_hash: str
    magnet: str | None
    torrent_url: str | None

    def bitrate(self, duration: float) -> float:
        """Bytes per second of film, 0 when the size or the duration is unknown."""
        return self.size / duration if self.size and duration > 0 else 0.0

    def public(self) -> dict[str, Any]:
        return {"quality": self.quality, "size": self.size or None, "info_hash": self.info_hash or None}


async def copies_of(pool: asyncpg.Pool, movie_id: int) -> list[Copy]:
    """The film's torrents as copies, largest first."""
    rows = await pool.fetch(
        """SELECT id, quality, size_bytes, info_hash, magnet, torrent_url FROM torrents
           WHERE movie_id = $1 ORDER BY size_bytes DESC NULLS LAST, id""",
        movie_id,
    )
    return [
        Copy(
            row["id"],
            (row["quality"] or "").split(" ")[0],
            int(row["size_bytes"] or 0),
            (row["info_hash"] or "").lower(),
            row["magnet"],
            row["torrent_url"],
        )
        for row in rows
    ]


def smaller_copy(copies: list[Copy], size: int, duration: float, rate: float) -> Copy | None:
    """The largest copy smaller than `size` bytes whose bitrate is at most HEADROOM × `rate`, or None."""
    fitting = [
        c
        for c in copies
        if 0 < c.size < size and c.bitrate(duration) <= HEADROOM * rate and (c.magnet or c.torrent_url)
    ]
    return max(fitting, key=lambda c: c.size, default=None)


@dataclass
class RateWindow:
    """Download rate of one copy over the last WINDOW_S seconds, counted while its readers wait."""

    samples: deque[tuple[float, int]] = field(default_factory=deque)
    starved_since: float | None = None

    def add(self, now: float, total_bytes: int, starving: bool) -> None:
        if not starving:
            self.starved_since = None
            self.samples.clear()
            return
        if self.starved_since is None:
            self.starved_since = now
        self.samples.append((now, total_bytes))
        while len(self.samples) > 2 and now - self.samples[1][0] >= WINDOW_S:
            self.samples.popleft()

    def rate(self, now: float) -> float | None:
        """The rate over a full window of waiting readers; None before one has passed."""
        if self.starved_since is None or now - self.starved_since < WINDOW_S or len(self.samples) < 2:
            return None
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else None

    def reset(self) -> None:
        self.samples.clear()
        self.starved_since = None


@dataclass
class CopyWatch:
    """What the engine follows for one film with several copies."""

    duration: float = 0.0  # seconds, once the film was probed
    copies: list[Copy] | None = None
    window: RateWindow = field(default_factory=RateWindow)
    watched_hash: str = ""  # the copy the window measures
    larger: str = ""  # after a step down: the info hash of the copy to come back to
    switch: dict[str, Any] | None = None  # the last change of copy, as the status shows it
    rate: float | None = None  # the last measured rate of the playing copy
    stepping: bool = False  # a smaller copy is being added
    idle_since: float | None = None  # monotonic time since which the film has had no open reader

    def copy(self, info_hash: str) -> Copy | None:
        return next((c for c in self.copies or () if c.info_hash == info_hash), None)

    def switched(self, old: Copy | None, new: Copy, reason: str) -> None:
        """Records a change of copy: `reason` is "slow" (stepped down) or "complete" (back up)."""
        self.switch = {
            "from": old.quality if old else None,
            "from_info_hash": old.info_hash if old else None,
            "to": new.quality,
            "info_hash": new.info_hash,
            "reason": reason,
            "at": time.time(),
        }
        self.window.reset()
