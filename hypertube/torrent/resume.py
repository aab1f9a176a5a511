"""Resume data on disk: one `.fastresume` file per torrent, read when it is added, written when
libtorrent hands it over, asked for as pieces complete and state changes, and when the engine closes."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import libtorrent as lt

from hypertube.torrent.download import Download

log = logging.getLogger(__name__)

RESUME_EVERY = 30.0  # seconds between periodic resume-data saves
RESUME_THROTTLE_S = 2.0  # resume data is saved as pieces complete, at most this often per download
SAVE_FLUSHED = lt.save_resume_flags_t.save_info_dict | lt.save_resume_flags_t.flush_disk_cache


class ResumeStore:
    """The resume-data files of a download folder, and who is waiting for one to be written."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._saved_at: dict[str, float] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def path(self, info_hash: str) -> Path:
        return self.folder / f"{info_hash}.fastresume"

    async def prepare(self) -> None:
        await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)

    async def read(self, info_hash: str, save_path: Path) -> Any | None:
        """The torrent's saved add params, or None when there are none (or they are unreadable)."""
        return await asyncio.to_thread(_read, self.path(info_hash), save_path)

    def save_soon(self, dl: Download) -> None:
        """Saves the download's resume data now, or once RESUME_THROTTLE_S has passed since its last
        save: killed at any moment, a download loses at most that much of its record of pieces."""
        if dl.warm or dl.info_hash in self._timers:
            return
        wait = self._saved_at.get(dl.info_hash, 0.0) + RESUME_THROTTLE_S - time.monotonic()
        loop = asyncio.get_running_loop()
        self._timers[dl.info_hash] = loop.call_later(max(0.0, wait), self._save, dl)

    def _save(self, dl: Download) -> None:
        del self._timers[dl.info_hash]
        if dl.warm or not dl.metadata.is_set() or not dl.handle.is_valid():
            return
        self._saved_at[dl.info_hash] = time.monotonic()
        dl.handle.save_resume_data(lt.save_resume_flags_t.save_info_dict)

    def cancel_pending(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    async def write(self, info_hash: str, data: bytes) -> None:
        """Writes a torrent's encoded resume data (`encoded`) atomically."""
        path = self.path(info_hash)

        def write() -> None:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)

        try:
            await asyncio.to_thread(write)
        except OSError:
            log.exception("could not save resume data for %s", info_hash)
        self.settled(info_hash)

    def settled(self, info_hash: str) -> None:
        """The torrent's save is over, written or failed: whoever waits for it goes on."""
        fut = self._waiters.pop(info_hash, None)
        if fut and not fut.done():
            fut.set_result(None)

    async def save_all(self, downloads: Iterable[Download], limit: float = 10) -> None:
        """Asks every torrent for its resume data and waits (bounded) until the files are written."""
        loop = asyncio.get_running_loop()
        futs = []
        for dl in downloads:
            if not dl.handle.is_valid() or not dl.metadata.is_set() or dl.warm:
                continue
            fut = loop.create_future()
            self._waiters[dl.info_hash] = fut
            futs.append(fut)
            dl.handle.save_resume_data(SAVE_FLUSHED)
        if futs:
            await asyncio.wait(futs, timeout=limit)


def _read(path: Path, save_path: Path) -> Any | None:
    """Add params from a resume file (blocking), without the download limit it was saved with. When files on disk changed after it was written (the
    process was killed), its list of verified pieces is out of date: the params then leave it out, and
    libtorrent checks the files instead of downloading again the pieces it would not know about."""
    try:
        params = lt.read_resume_data(path.read_bytes())
        saved_at = path.stat().st_mtime
    except (OSError, RuntimeError):
        return None
    # A copy held back while a smaller copy of its film played comes back unlimited: what held it
    # back did not outlive the process, and the film may play from it again.
    params.download_limit = -1
    if params.ti is None or not _changed_since(save_path, saved_at):
        return params
    fresh = lt.add_torrent_params()
    fresh.ti = params.ti
    fresh.save_path = params.save_path
    return fresh


def _changed_since(folder: Path, moment: float) -> bool:
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                if os.stat(os.path.join(root, name)).st_mtime > moment:
                    return True
            except OSError:
                continue
    return False


def encoded(alert: Any) -> bytes:
    """A save_resume_data_alert's data, encoded at once: the alert is invalid after the next pop."""
    return lt.write_resume_data_buf(alert.params)


def save_changed(downloads: Iterable[Download]) -> None:
    """Asks the torrents whose state changed since their last save for resume data (written on its alert)."""
    for dl in downloads:
        if (
            dl.handle.is_valid()
            and dl.metadata.is_set()
            and not dl.warm
            and dl.handle.need_save_resume_data()
        ):
            dl.handle.save_resume_data(lt.save_resume_flags_t.save_info_dict)
