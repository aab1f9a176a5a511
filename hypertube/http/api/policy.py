"""Per-app API policy: how many requests each client may make (picture URLs go through hypertube.netfetch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Requests each API client may make per window (seconds)."""

    requests: int = 600
    window: float = 60.0
