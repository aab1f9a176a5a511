"""The process's BitTorrent engine: adds films' torrents to one session, hands out piece readers,
reports their status and removes them."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import libtorrent as lt

from hypertube.netfetch import FetchPolicy
from hypertube.torrent import choice, records, sources
from hypertube.torrent.alerts import alert_handlers
from hypertube.torrent.audience import Audience
from hypertube.torrent.download import Download
from hypertube.torrent.errors import MetadataTimeout, NoVideo, PeersTimeout, TorrentError
from hypertube.torrent.files import TorrentFile
from hypertube.torrent.reader import TorrentReader
from hypertube.torrent.resume import RESUME_EVERY, ResumeStore, save_changed
from hypertube.torrent.session import AlertPump, close_session, session_settings
from hypertube.torrent.switch import CopySwitcher
from hypertube.torrent.work import BackgroundWork

log = logging.getLogger(__name__)

WARM_TTL_S = 600.0  # a torrent added when its film page was opened, and never played, is dropped then
MAX_WARM = 8  # such torrents at most; the oldest goes first
BACKGROUND_AFTER_S = 2.0  # the rest of the film downloads once the readers have wanted nothing this long
CLOSE_WAIT_S = 5.0  # on close, background writes (resume data, rows, deletions) get this long to end
EXTRA_TRACKER_TIER = 255  # a tracker added to a running torrent comes after the ones it names
CLOSE_SAVE_S = 2.0  # on close, the last resume data of every download gets this long to be written


class Engine:
    """The process's BitTorrent engine: adds films' torrents, hands out readers, keeps resume data."""

    def __init__(
        self,
        download_dir: Path,
        pool: asyncpg.Pool,
        *,
        port: int = 0,
        publish: Callable[[int, dict[str, Any]], Any] | None = None,
        dht: bool = True,
        trackers: tuple[str, ...] = (),
        fetch_allowed_hosts: frozenset[str] = frozenset(),
        node_id: str = "",
    ):
        self.download_dir = download_dir
        self.node_id = node_id  # its rows of `downloads` are the ones it restores, updates and sweeps
        self.resume = ResumeStore(download_dir / ".resume")
        self.pool = pool
        # Hosts a film's .torrent URL may name on a non-public address (tests' fakes on loopback).
        self.fetch_allowed_hosts = fetch_allowed_hosts
        self.port = port
        self.publish = publish
        self.dht = dht
        # Trackers every torrent announces to, besides the ones its magnet or .torrent file names.
        self.trackers = trackers
        self.metadata_timeout = 30.0
        self.candidate_wait = choice.CANDIDATE_WAIT_S
        self.read_timeout = 60.0
        self.fetch_timeout = 10.0
        self.warm_ttl = WARM_TTL_S
        self.background_after = BACKGROUND_AFTER_S
        self.max_warm = MAX_WARM
        self.session: lt.session | None = None
        self.downloads: dict[str, Download] = {}
        self.audience = Audience()
        self._by_movie: dict[int, str] = {}  # the copy each film plays from (an info hash)
        self._adding: dict[int, asyncio.Task[Download]] = {}
        self._loops: list[asyncio.Task] = []
        # Work started from alerts and callbacks (rows, resume files, deletions): awaited on close.
        self._work = BackgroundWork()
        self._alerts: AlertPump | None = None
        self.copies = CopySwitcher(self, self._work)  # a slow film steps down to a smaller copy and back

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await self.resume.prepare()
        self.session = lt.session(session_settings(self.port, self.dht))  # type: ignore[call-overload]
        handlers = alert_handlers(self.downloads, self.resume, self.pool, self._work.spawn)
        self._alerts = AlertPump(self.session, loop, handlers)
        self.port = self.session.listen_port()
        await self._restore()
        self._loops = [
            asyncio.create_task(self._status_loop(), name="torrent-status"),
            asyncio.create_task(self._resume_loop(), name="torrent-resume"),
        ]

    async def close(self) -> None:
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        for dl in list(self.downloads.values()):
            for reader in list(dl.readers):
                reader.detach()
        for pending in list(self._adding.values()):
            pending.cancel()  # nobody will read a film added now
        self.resume.cancel_pending()
        started = time.monotonic()
        await self.resume.save_all(self.downloads.values(), limit=CLOSE_SAVE_S)
        await self._save_rows()
        await self._work.settle(CLOSE_WAIT_S)
        saved = time.monotonic()
        session, alerts = self.session, self._alerts
        if session is not None and alerts is not None:
            self.session = self._alerts = None
            alerts.stop()
            holder = [session]
            del session
            await close_session(holder)
            alerts.close_fds()
        log.debug(
            "torrent engine closed: resume data saved in %.2f s, session closed in %.2f s",
            saved - started,
            time.monotonic() - saved,
        )

    def add_tracker(self, url: str) -> None:
        """A tracker every torrent announces to from now on, the running ones included (the demo
        swarm's tracker, started after the engine has added back its downloads)."""
        if url in self.trackers:
            return
        self.trackers = (*self.trackers, url)
        for dl in self.downloads.values():
            if dl.handle.is_valid():
                dl.handle.add_tracker({"url": url, "tier": EXTRA_TRACKER_TIER})

    def end_streams(self) -> None:
        """Fails every read waiting for a piece (the server is stopping); the downloads stay."""
        for dl in self.downloads.values():
            dl.fail(PeersTimeout("The server is stopping."))

    # --- adding torrents ----------------------------------------------------------------------
    async def _restore(self) -> None:
        """Adds back every download this node recorded: from its resume data, or without any (killed
        before the first save) from its source, and libtorrent checks the files on disk."""
        await records.adopt(self.pool, self.node_id, self.download_dir)
        for row in await records.known(self.pool, self.node_id):
            source = row["source"] or ""
            params = await self.resume.read(row["info_hash"], Path(row["save_path"]))
            if params is None:
                try:
                    params = await sources.params_of_source(
                        source, self.torrent_fetch_policy(), self.trackers
                    )
                except TorrentError as exc:
                    log.warning("download %s not restored: %s", row["info_hash"], exc.message)
                    continue
            params.save_path = row["save_path"]
            self._add_params(params, row["info_hash"], row["movie_id"], source)

    def _add_params(
        self,
        params: Any,
        info_hash: str,
        movie_id: int,
        source: str,
        *,
        warm: bool = False,
        play: bool = True,
    ) -> Download:
        """Adds the torrent to the session; with `play`, the film plays from it from now on (else it is
        another copy of the film, downloaded beside the one playing)."""
        assert self.session is not None
        handle = self.session.add_torrent(sources.prepared(params))
        dl = Download(self, info_hash, movie_id, handle, Path(params.save_path))
        dl.warm = warm
        dl.source = source
        dl.node_id = self.node_id
        dl.hints = sources.peer_hints(source)
        self.downloads[info_hash] = dl
        if play or movie_id not in self._by_movie:
            self._by_movie[movie_id] = info_hash
        for host, port in dl.hints:
            try:
                handle.connect_peer((host, port))
            except RuntimeError:
                pass
        if handle.torrent_file() is not None:
            dl.on_metadata()
        return dl

    def _adding_for(self, movie_id: int, *, warm: bool) -> asyncio.Task[Download]:
        adding = choice.download_to_play(self, movie_id, warm=warm)
        pending = self._work.spawn(adding, f"torrent-add-{movie_id}")
        self._adding[movie_id] = pending
        pending.add_done_callback(lambda _: self._adding.pop(movie_id, None))
        return pending

    async def download_for(self, movie_id: int) -> Download:
        """The film's running download, or a new one from its best torrent; waits for the metadata."""
        pending = self._adding.get(movie_id)  # still choosing among the film's torrents
        info_hash = self._by_movie.get(movie_id)
        dl = self.downloads.get(info_hash) if info_hash and pending is None else None
        if dl is None:
            dl = await asyncio.shield(pending or self._adding_for(movie_id, warm=False))
        if not dl.metadata.is_set():
            try:
                await asyncio.wait_for(dl.metadata.wait(), self.metadata_timeout)
            except TimeoutError:
                raise MetadataTimeout(choice.METADATA_LATE) from None
        return dl

    def warm(self, movie_id: int) -> None:
        """Adds the film's torrent ahead of play (its page was opened): the metadata exchange and the
        peer connections happen while the user reads the page, and pressing play starts at once.
        Nothing is downloaded and nothing recorded until a reader opens it."""
        if self.session is None or movie_id in self._by_movie or movie_id in self._adding:
            return
        warm = sorted((d for d in self.downloads.values() if d.warm), key=lambda d: d.added_at)
        for dl in warm[: max(0, len(warm) - self.max_warm + 1)]:
            self._forget_warm(dl)

        def done(fut: asyncio.Future[Download]) -> None:
            if not fut.cancelled() and fut.exception() is not None:
                log.debug("film %s not prepared ahead: %s", movie_id, fut.exception())

        self._adding_for(movie_id, warm=True).add_done_callback(done)

    def _forget_warm(self, dl: Download) -> None:
        if dl.readers or not dl.warm:
            return
        self.discard(dl, "The download was dropped.")

    def discard(self, dl: Download, reason: str) -> None:
        """Drops a download that downloaded nothing (prepared ahead, or its metadata never came); its
        folder is empty and removed in a thread."""
        self._drop(dl, reason)
        self._work.spawn(
            asyncio.to_thread(_delete_paths, [dl.save_path], self.download_dir), "torrent-delete"
        )

    def _drop(self, dl: Download, reason: str) -> None:
        """Takes a download out of the session and the engine's maps; its waiting reads fail."""
        dl.fail(PeersTimeout(reason))
        if self.session is not None and dl.handle.is_valid():
            self.session.remove_torrent(dl.handle)
        self.downloads.pop(dl.info_hash, None)
        if self._by_movie.get(dl.movie_id) == dl.info_hash:
            del self._by_movie[dl.movie_id]

    def torrent_fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(
            sources.MAX_TORRENT_FILE, timeout=self.fetch_timeout, allowed_hosts=self.fetch_allowed_hosts
        )

    async def add_origin(
        self, origin: sources.Origin, info_hash: str, movie_id: int, warm: bool, *, play: bool = True
    ) -> Download:
        """Adds the torrent `origin` names, from its resume data when there is some (see `_add_params`)."""
        params = origin.params
        save_path = self.download_dir / info_hash
        resumed = await self.resume.read(info_hash, save_path)
        if resumed is not None and (resumed.ti is not None or params.ti is None):
            params = sources.merged(resumed, None, tuple(params.trackers))
        params.save_path = str(save_path)
        await asyncio.to_thread(save_path.mkdir, parents=True, exist_ok=True)
        dl = self._add_params(params, info_hash, movie_id, origin.source, warm=warm, play=play)
        if origin.late is not None:
            self._work.spawn(sources.join_late(dl.handle, origin.late), f"torrent-file-{movie_id}")
        return dl

    # --- readers ------------------------------------------------------------------------------
    async def list_files(self, movie_id: int) -> list[TorrentFile]:
        dl = await self.download_for(movie_id)
        return list(dl.files)

    def _running(self, movie_id: int) -> Download | None:
        info_hash = self._by_movie.get(movie_id)
        return self.downloads.get(info_hash) if info_hash else None

    def known_files(self, movie_id: int) -> list[TorrentFile] | None:
        """The film's files if its torrent's metadata is here already (played, or its page opened);
        None otherwise. Never adds a torrent."""
        dl = self._running(movie_id)
        return list(dl.files) if dl is not None and dl.metadata.is_set() else None

    async def open_reader(
        self, movie_id: int, file_index: int | None = None, *, copy: str | None = None
    ) -> TorrentReader:
        """A reader of the film's main file (or of file `file_index`) in the copy it plays from, or in
        copy `copy` (an info hash of this film's running downloads) when given."""
        dl = self.copies.download(movie_id, copy) if copy else await self.download_for(movie_id)
        if file_index is None:
            main = dl.main_file()
            if main is None:
                raise NoVideo("This torrent holds no video file.")
            file = main
        else:
            file = dl.file(file_index)
        if dl.warm:
            dl.warm = False  # played now: recorded, downloaded, kept
            await records.record(self.pool, dl, dl.source)
            self.resume.save_soon(dl)
        reader = TorrentReader(dl, file)
        dl.readers.add(reader)
        dl.refresh()
        await records.opened(self.pool, dl, file)
        return reader

    def current_copy(self, movie_id: int) -> str | None:
        """The info hash of the copy the film plays from, None before one was chosen."""
        return self._by_movie.get(movie_id)

    def play_from(self, movie_id: int, info_hash: str) -> None:
        """The film plays from copy `info_hash` (one of its running downloads) from now on."""
        self._by_movie[movie_id] = info_hash

    def note_duration(self, movie_id: int, seconds: float) -> None:
        """The film's length, once probed: its copies' bitrates follow from it."""
        self.copies.note_duration(movie_id, seconds)

    def open_readers(self, movie_id: int) -> int:
        dl = self._running(movie_id)
        return len(dl.readers) if dl else 0

    # --- status -------------------------------------------------------------------------------
    async def download_status(self, movie_id: int) -> dict[str, Any]:
        dl = self._running(movie_id)
        if dl is not None and dl.handle.is_valid():
            return {**dl.status(), **await self.copies.status(movie_id, dl)}
        return await records.last_status(self.pool, movie_id, self.node_id)

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for dl in list(self.downloads.values()):
                try:
                    await self._tick(dl)
                except Exception:
                    log.exception("status of %s failed", dl.info_hash)
            await self.copies.check_all()

    async def _tick(self, dl: Download) -> None:
        if not dl.handle.is_valid():
            return
        if dl.warm:
            if time.monotonic() - dl.added_at > self.warm_ttl:
                self._forget_warm(dl)
            elif dl.handle.status().num_peers == 0:
                dl.nudge_peers()
            return
        dl.wake_all()
        status = dl.status()
        active = bool(dl.readers) or status["state"] not in ("finished", "error")
        if status["peers"] == 0 and status["state"] != "finished":
            dl.nudge_peers()
        previous = dl.last_status
        dl.last_status = status
        if dl.readers and time.monotonic() - dl.last_touch >= 60:
            # A film being watched stays young for the janitor, however long the viewing lasts.
            dl.last_touch = time.monotonic()
            await records.watched(self.pool, dl)
        if active and self.publish is not None:
            payload = {
                "movie_id": dl.movie_id,
                **{k: status[k] for k in ("progress", "rate", "peers", "ready")},
            }
            await self.publish(dl.movie_id, payload)
        if (
            previous is None
            or previous["state"] != status["state"]
            or abs(previous["progress"] - status["progress"]) >= 0.01
        ):
            await records.progressed(self.pool, dl, status)

    async def _resume_loop(self) -> None:
        while True:
            await asyncio.sleep(RESUME_EVERY)
            save_changed(list(self.downloads.values()))

    async def _save_rows(self) -> None:
        for dl in list(self.downloads.values()):
            if dl.handle.is_valid():
                await records.progressed(self.pool, dl, dl.status(), error=False)

    # --- removal (janitor) --------------------------------------------------------------------
    async def remove(self, info_hash: str) -> bool:
        """Drops a download and its files unless a reader has it open; returns whether it was removed."""
        dl = self.downloads.get(info_hash)
        if dl is not None:
            if dl.readers:
                return False
            self._drop(dl, "The download was removed.")
        save_path = await records.forget(self.pool, info_hash, self.node_id)
        paths = [self.resume.path(info_hash)]
        if save_path is not None:
            paths.append(Path(save_path))
        await asyncio.to_thread(_delete_paths, paths, self.download_dir)
        return True


def _delete_paths(paths: list[Path], root: Path) -> None:
    """Deletes files and folders, but only inside `root` (the download folder)."""
    root = root.resolve()
    for path in paths:
        try:
            resolved = path.resolve()
        except OSError:
            continue
        if root not in resolved.parents:
            continue  # never delete outside the download folder
        if resolved.is_dir():
            shutil.rmtree(resolved, ignore_errors=True)
        else:
            resolved.unlink(missing_ok=True)
