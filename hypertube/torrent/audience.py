"""Which films are being watched although no reader is open: HLS players between two segment requests
and open watch parties. The disk janitor never deletes a film being watched."""

from __future__ import annotations

import time
from collections.abc import Callable

RECENT_SEGMENT_S = 180.0  # a player that asked for a segment this recently is still watching


class Audience:
    """In-process record of recent segment requests and open watch parties per film."""

    def __init__(self, recent: float = RECENT_SEGMENT_S, clock: Callable[[], float] = time.monotonic):
        self.recent = recent
        self.clock = clock
        self._last_segment: dict[int, float] = {}
        self._parties: dict[int, int] = {}  # members of open watch parties, per film

    def segment_requested(self, movie_id: int) -> None:
        self._last_segment[movie_id] = self.clock()

    def party_joined(self, movie_id: int) -> None:
        self._parties[movie_id] = self._parties.get(movie_id, 0) + 1

    def party_left(self, movie_id: int) -> None:
        left = self._parties.get(movie_id, 0) - 1
        if left > 0:
            self._parties[movie_id] = left
        else:
            self._parties.pop(movie_id, None)

    def watching(self, movie_id: int) -> bool:
        if self._parties.get(movie_id):
            return True
        seen = self._last_segment.get(movie_id)
        if seen is None:
            return False
        if self.clock() - seen > self.recent:
            del self._last_segment[movie_id]
            return False
        return True
