"""Per-app API policies: request limits per client and what a picture URL may point at."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Requests each API client may make per window (seconds)."""

    requests: int = 600
    window: float = 60.0


@dataclass(frozen=True)
class PictureFetch:
    """Which picture URLs `PATCH /api/v1/users/{id}` may fetch, and for how long (seconds)."""

    schemes: tuple[str, ...] = ("https",)
    # Loopback, private, link-local and reserved addresses are refused, so the server cannot be
    # used to reach what is behind it. Tests allow them to reach their own fake image server.
    allow_private: bool = False
    timeout: float = 10.0
