"""What each libtorrent alert does to the downloads: the table of handlers the session's alerts go through."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg
import libtorrent as lt

from hypertube.torrent import records
from hypertube.torrent.download import Download
from hypertube.torrent.errors import PeersTimeout
from hypertube.torrent.resume import SAVE_FLUSHED, ResumeStore, encoded
from hypertube.torrent.session import AlertHandlers

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, Any], str], asyncio.Task]


def alert_handlers(
    downloads: dict[str, Download], resume: ResumeStore, pool: asyncpg.Pool, spawn: Spawn
) -> AlertHandlers:
    """The handlers by alert type; `spawn` runs their async follow-ups as tracked background tasks."""

    def download_of(alert: Any) -> Download | None:
        handle = getattr(alert, "handle", None)
        if handle is None or not handle.is_valid():
            return None
        return downloads.get(str(handle.info_hashes().v1))

    def on(act: Callable[[Download, Any], None], *, save_resume: bool = False) -> Callable[[Any], None]:
        """A handler that acts on the alert's download, if it is one of ours, and then (throttled)
        saves its resume data if asked to."""

        def handler(alert: Any) -> None:
            dl = download_of(alert)
            if dl is not None:
                act(dl, alert)
                if save_resume:
                    resume.save_soon(dl)

        return handler

    def finished(dl: Download, alert: Any) -> None:
        # libtorrent says "finished" once every piece it was asked for is here, which is also the
        # case for a moment when a player's window is complete and the rest waits at priority 0.
        if dl.metadata.is_set() and dl.complete():
            dl.finished.set()
            dl.wake_all()
            dl.handle.save_resume_data(SAVE_FLUSHED)
            # Waits for the writes still queued, then says so with a cache_flushed_alert.
            dl.handle.flush_cache()
            spawn(records.completed(pool, dl), "torrent-completed")

    def flushed(dl: Download, alert: Any) -> None:
        if dl.finished.is_set():
            dl.flushed = True

    def hash_failed(alert: Any) -> None:
        dl = download_of(alert)
        log.warning(
            "piece %s of %s failed its hash check; downloading it again",
            alert.piece_index,
            dl and dl.info_hash,
        )

    # Resume data is saved as pieces complete, when the metadata arrives (a restart then needs no
    # peer to check the files) and on every state change.
    return {
        lt.piece_finished_alert: on(lambda dl, a: dl.on_piece(a.piece_index), save_resume=True),
        lt.read_piece_alert: on(_read_piece),
        lt.metadata_received_alert: on(lambda dl, a: dl.on_metadata(), save_resume=True),
        lt.state_changed_alert: on(lambda dl, a: None, save_resume=True),
        lt.torrent_checked_alert: on(lambda dl, a: dl.wake_all()),
        lt.torrent_finished_alert: on(finished),
        lt.cache_flushed_alert: on(flushed),
        **_resume_handlers(resume, spawn),
        lt.hash_failed_alert: hash_failed,
        lt.torrent_error_alert: on(_failed),
        lt.file_error_alert: on(_failed),
    }


def _resume_handlers(resume: ResumeStore, spawn: Spawn) -> AlertHandlers:
    """Resume data handed over (written to its file) or refused (whoever waits for it goes on)."""

    def resume_data(alert: Any) -> None:
        info_hash = str(alert.handle.info_hashes().v1)
        spawn(resume.write(info_hash, encoded(alert)), "torrent-resume-write")

    def resume_failed(alert: Any) -> None:
        handle = alert.handle
        if handle is not None and handle.is_valid():
            resume.settled(str(handle.info_hashes().v1))

    return {lt.save_resume_data_alert: resume_data, lt.save_resume_data_failed_alert: resume_failed}


def _read_piece(dl: Download, alert: Any) -> None:
    err = alert.error.message() if alert.error.value() else None
    dl.on_read_piece(alert.piece, None if err else bytes(alert.buffer), err)


def _failed(dl: Download, alert: Any) -> None:
    dl.error = alert.message()
    log.error("torrent %s: %s", dl.info_hash, dl.error)
    dl.fail(PeersTimeout("The download failed: " + dl.error))
