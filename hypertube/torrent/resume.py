"""Resume data on disk: one `.fastresume` file per torrent, read when it is added, written when
libtorrent hands it over, and asked for from every torrent periodically and when the engine closes."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import libtorrent as lt

from hypertube.torrent.download import Download

log = logging.getLogger(__name__)

RESUME_EVERY = 30.0  # seconds between periodic resume-data saves
SAVE_FLUSHED = lt.save_resume_flags_t.save_info_dict | lt.save_resume_flags_t.flush_disk_cache


class ResumeStore:
    """The resume-data files of a download folder, and who is waiting for one to be written."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._waiters: dict[str, asyncio.Future[None]] = {}

    def path(self, info_hash: str) -> Path:
        return self.folder / f"{info_hash}.fastresume"

    async def prepare(self) -> None:
        await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)

    async def read(self, info_hash: str) -> Any | None:
        """The torrent's saved add params, or None when there are none (or they are unreadable)."""
        try:
            data = await asyncio.to_thread(self.path(info_hash).read_bytes)
            return lt.read_resume_data(data)
        except (OSError, RuntimeError):
            return None

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
