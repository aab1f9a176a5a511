"""Moves a film between its copies as the engine plays it: down to a smaller copy when the playing one
downloads slower than the film plays, back up once the larger one is whole (see `copies`)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from hypertube.torrent import copies, records, sources
from hypertube.torrent.choice import Films
from hypertube.torrent.download import Download
from hypertube.torrent.errors import MetadataTimeout, NoTorrent, TorrentError
from hypertube.torrent.work import BackgroundWork

log = logging.getLogger(__name__)
IDLE_S = 60.0  # a film no one has read for this long is no longer watched (until its status is asked again)


class CopySwitcher:
    """The films whose copies are watched, and the steps between their copies."""

    def __init__(self, films: Films, work: BackgroundWork):
        self.films = films
        self._work = work
        self._copies: dict[int, copies.CopyWatch] = {}  # films whose copies are watched
        self._durations: dict[int, float] = {}  # films' lengths (seconds), kept while they are not watched
        self.idle_s = IDLE_S

    def download(self, movie_id: int, info_hash: str) -> Download:
        """The running download of copy `info_hash` of the film, its metadata known; raises `NoTorrent`."""
        dl = self.films.downloads.get(info_hash)
        if dl is None or dl.movie_id != movie_id or not dl.metadata.is_set():
            raise NoTorrent("This copy of the film is no longer here.")
        return dl

    def note_duration(self, movie_id: int, seconds: float) -> None:
        """The film's length, once probed: its copies' bitrates follow from it."""
        if seconds > 0:
            self._durations[movie_id] = seconds
            self._copies.setdefault(movie_id, copies.CopyWatch()).duration = seconds

    async def status(self, movie_id: int, dl: Download) -> dict[str, Any]:
        """The copy part of the status of the film playing from `dl` (see `_copy_status`)."""
        watch = self._copies.get(movie_id)
        if watch is None:
            watch = self._copies[movie_id] = copies.CopyWatch(duration=self._durations.get(movie_id, 0.0))
        if watch.copies is None:
            watch.copies = await copies.copies_of(self.films.pool, movie_id)
        return self._copy_status(movie_id, dl)

    def _copy_status(self, movie_id: int, dl: Download) -> dict[str, Any]:
        """The copy playing (`copy`: quality, size, info hash), the film's other copies, the playing
        copy's bitrate and measured rate (bytes/s), and the last change of copy (`switch`)."""
        watch = self._copies.get(movie_id)
        if watch is None or watch.copies is None:
            return {"copy": {"quality": None, "size": None, "info_hash": dl.info_hash}}
        found = watch.copy(dl.info_hash)
        main = dl.main_file()
        size = main.size if main is not None else 0
        return {
            "copy": {
                "quality": found.quality if found else None,
                "size": size or None,
                "info_hash": dl.info_hash,
            },
            "copies": [c.public() for c in watch.copies],
            "bitrate": round(size / watch.duration) if size and watch.duration else None,
            "window_rate": None if watch.rate is None else round(watch.rate),
            "switch": watch.switch,
        }

    @property
    def watched(self) -> frozenset[int]:
        """The ids of the films whose copies are watched now."""
        return frozenset(self._copies)

    async def check_all(self) -> None:
        """One check of every watched film (the engine's status loop calls it each second). A film
        whose download is gone, or that no one has read for `idle_s` seconds, is no longer watched
        (until its status is asked again)."""
        now = time.monotonic()
        for movie_id in list(self._copies):
            if self._unwatch_idle(movie_id, now):
                continue
            try:
                await self._check_copies(movie_id)
            except Exception:
                log.exception("copies of film %s: check failed", movie_id)

    def _unwatch_idle(self, movie_id: int, now: float) -> bool:
        """Stops watching the film when its download is gone or it has had no reader for `idle_s`;
        a larger copy held back for it gets its whole rate again."""
        watch = self._copies[movie_id]
        dl = self._running(movie_id)
        if dl is not None and dl.handle.is_valid():
            if dl.readers or watch.stepping:
                watch.idle_since = None
                return False
            if watch.idle_since is None:
                watch.idle_since = now
            if now - watch.idle_since < self.idle_s:
                return False
        larger = self.films.downloads.get(watch.larger) if watch.larger else None
        if larger is not None and larger.handle.is_valid():
            larger.handle.set_download_limit(-1)
        del self._copies[movie_id]
        return True

    def _running(self, movie_id: int) -> Download | None:
        info_hash = self.films.current_copy(movie_id)
        return self.films.downloads.get(info_hash) if info_hash else None

    async def _check_copies(self, movie_id: int) -> None:
        """Steps the film down to a smaller copy when the playing one downloads slower than it plays
        (over `copies.WINDOW_S` with its readers waiting), and back up once the larger one is whole."""
        watch = self._copies[movie_id]
        dl = self._running(movie_id)
        if dl is None or not dl.handle.is_valid() or not dl.metadata.is_set() or not watch.duration:
            return
        if watch.copies is None:
            watch.copies = await copies.copies_of(self.films.pool, movie_id)
        if len(watch.copies) < 2:
            return
        if watch.larger:
            await self._check_larger(movie_id, watch, dl)
            return
        now = time.monotonic()
        if watch.watched_hash != dl.info_hash:
            watch.window.reset()
            watch.watched_hash = dl.info_hash
        status = dl.handle.status()
        starving = bool(dl.readers) and dl.starving(copies.STARVED_GRACE_S) and not dl.complete()
        watch.window.add(now, int(status.total_payload_download), starving)
        rate = watch.window.rate(now)
        if rate is None:
            return
        watch.rate = rate
        main = dl.main_file()
        if main is None or rate >= main.size / watch.duration:
            return
        smaller = copies.smaller_copy(watch.copies, main.size, watch.duration, rate)
        if smaller is None or watch.stepping:
            return
        watch.stepping = True
        step = self._work.spawn(self._step_down(movie_id, watch, dl, smaller, rate), f"copy-{movie_id}")
        step.add_done_callback(lambda _: setattr(watch, "stepping", False))

    async def _step_down(
        self, movie_id: int, watch: copies.CopyWatch, dl: Download, smaller: copies.Copy, rate: float
    ) -> None:
        try:
            new = await self._add_copy(movie_id, smaller)
        except TorrentError as exc:
            log.info("film %s: its %s copy could not be added: %s", movie_id, smaller.quality, exc.message)
            return
        if new is dl or self.films.current_copy(movie_id) != dl.info_hash:
            return
        log.info(
            "film %s: %s downloads at %.0f B/s, under its %.0f B/s: stepping down to %s",
            movie_id,
            dl.info_hash,
            rate,
            dl.main_size() / watch.duration,
            smaller.quality,
        )
        # The larger copy goes on in the background with half of what the smaller one leaves of the rate.
        spare = rate - smaller.bitrate(watch.duration) / copies.HEADROOM
        if dl.handle.is_valid():
            dl.handle.set_download_limit(max(copies.MIN_BACKGROUND_RATE, int(spare / 2)))
        watch.larger = dl.info_hash
        self.films.play_from(movie_id, new.info_hash)
        watch.switched(watch.copy(dl.info_hash), watch.copy(new.info_hash) or smaller, "slow")

    async def _check_larger(self, movie_id: int, watch: copies.CopyWatch, playing: Download) -> None:
        """After a step down: the larger copy gets the whole rate once the smaller one is whole, and
        the film goes back to it once it is whole itself."""
        larger = self.films.downloads.get(watch.larger)
        if larger is None or not larger.handle.is_valid():
            watch.larger = ""  # removed meanwhile: the film stays on the smaller copy
            return
        if playing.complete():
            larger.handle.set_download_limit(-1)
        if not larger.complete():
            return
        larger.handle.set_download_limit(-1)
        log.info("film %s: its larger copy %s is whole: back to it", movie_id, larger.info_hash)
        self.films.play_from(movie_id, larger.info_hash)
        watch.larger = ""
        found = watch.copy(larger.info_hash)
        back = found or copies.Copy(0, "", 0, larger.info_hash, None, None)
        watch.switched(watch.copy(playing.info_hash), back, "complete")

    async def _add_copy(self, movie_id: int, copy: copies.Copy) -> Download:
        """The running download of `copy`, or a new one beside the playing one; waits for its metadata.
        The film keeps playing from its current copy meanwhile."""
        films = self.films
        existing = films.downloads.get(copy.info_hash) if copy.info_hash else None
        if existing is None:
            origin = await sources.origin_of(
                copy.magnet, copy.torrent_url, films.torrent_fetch_policy(), films.trackers
            )
            info_hash = sources.info_hash_of(origin.params)
            existing = films.downloads.get(info_hash)
            if existing is None:
                existing = await films.add_origin(origin, info_hash, movie_id, False, play=False)
                await records.record(films.pool, existing, origin.source)
            elif origin.late is not None:
                origin.late.cancel()
        try:
            await asyncio.wait_for(existing.metadata.wait(), films.metadata_timeout)
        except TimeoutError:
            raise MetadataTimeout("No peer sent the smaller copy's torrent information in time.") from None
        return existing
