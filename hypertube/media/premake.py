"""Renditions made ahead: once a film's download is complete, a background worker cuts every segment
of its transcoded renditions (the smallest first), so that switching renditions later costs no
transcode. One film at a time, one segment at a time: viewers' own transcodes keep the other slots."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from hypertube.media.convert import MediaError
from hypertube.media.renditions import RenditionSegments, renditions
from hypertube.media.service import NoFilm, WaitingForPeers

log = logging.getLogger(__name__)

IsFinished = Callable[[int], Awaitable[bool]]


class RenditionMaker:
    """Makes the renditions of finished films in the background; `request(movie_id)` queues a film
    (at most once per process), `is_finished(movie_id)` must confirm that its file is whole here."""

    def __init__(self, segments: RenditionSegments, is_finished: IsFinished):
        self.segments = segments
        self.is_finished = is_finished
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._seen: set[int] = set()
        self.made: dict[int, int] = {}  # film → segments cut by this worker (those cached already: not)
        self.finished: set[int] = set()  # films whose renditions are all on disk

    def request(self, movie_id: int) -> None:
        """Queues the film unless it was queued before (films forgotten with `forget` can come again)."""
        if movie_id not in self._seen:
            self._seen.add(movie_id)
            self._queue.put_nowait(movie_id)

    def forget(self, movie_id: int) -> None:
        """The film's files were deleted: its renditions may be made again once it is downloaded."""
        self._seen.discard(movie_id)
        self.finished.discard(movie_id)
        self.made.pop(movie_id, None)

    async def run(self) -> None:
        """The worker: takes queued films one by one until cancelled."""
        while True:
            movie_id = await self._queue.get()
            try:
                if await self.is_finished(movie_id):
                    await self.make(movie_id)
                else:
                    self._seen.discard(movie_id)  # asked too early: the next request counts
            except asyncio.CancelledError:
                raise
            except (MediaError, WaitingForPeers, NoFilm, OSError) as exc:
                log.info("renditions of film %s not made ahead: %s", movie_id, exc)
            except Exception:
                log.exception("renditions of film %s not made ahead", movie_id)

    async def make(self, movie_id: int) -> int:
        """Cuts every segment of the film's transcoded renditions (default audio track) that is not on
        disk yet, smallest rendition first; returns how many it cut."""
        media = self.segments.media
        info = await media.info(movie_id)
        made = 0
        for rendition in sorted((r for r in renditions(info) if r.transcoded), key=lambda r: r.height):
            for index in range(len(info.segments)):
                path = self.segments.path(movie_id, rendition, index, copy=info.copy)
                if await asyncio.to_thread(path.exists):
                    continue
                await self.segments.segment(movie_id, info, rendition, index, prefetch=0)
                made += 1
                self.made[movie_id] = self.made.get(movie_id, 0) + 1
        self.finished.add(movie_id)
        log.info("renditions of film %s made ahead (%d segments)", movie_id, made)
        return made
