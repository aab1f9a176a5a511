"""Per-app API policy: how many requests each client may make and how many comments each user may write
(picture URLs go through hypertube.netfetch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Requests each API client may make per window (seconds), and comments (new or edited, page form
    and API together) each user may write per comments_window (seconds)."""

    requests: int = 600
    window: float = 60.0
    comments: int = 10
    comments_window: float = 60.0
