"""One libtorrent session for the process: film downloads, alerts bridged into asyncio, piece readers."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import asyncpg
import libtorrent as lt

from hypertube.torrent.errors import (
    BadTorrent,
    MetadataTimeout,
    NoTorrent,
    NoVideo,
    PeersTimeout,
    TorrentError,
    TorrentUnreachable,
)
from hypertube.torrent.files import TorrentFile, is_sample, kind_of, pick_main_file

if TYPE_CHECKING:
    from hypertube.torrent.reader import TorrentReader

log = logging.getLogger(__name__)

MAX_TORRENT_FILE = 8 * 1024 * 1024  # a .torrent larger than this is refused
ALERT_MASK = (
    lt.alert_category.error
    | lt.alert_category.status
    | lt.alert_category.storage
    | lt.alert_category.piece_progress
)
PIECE_CACHE_BYTES = 16 * 1024 * 1024  # recently read pieces kept per download (readers share them)
RESUME_EVERY = 30.0  # seconds between periodic resume-data saves
# Staggered piece deadlines: the piece under the read position first, the next ones a step later each.
DEADLINE_FIRST_MS = 0
DEADLINE_STEP_MS = 40
WARM_TTL_S = 600.0  # a torrent added when its film page was opened, and never played, is dropped then
MAX_WARM = 8  # such torrents at most; the oldest goes first
KICK_AFTER_S = 10.0  # a piece awaited this long gets its request renewed
BACKGROUND_AFTER_S = 2.0  # the rest of the film downloads once the readers have wanted nothing this long


def _peer_hints(magnet: str) -> list[tuple[str, int]]:
    hints = []
    for value in parse_qs(urlparse(magnet).query).get("x.pe", []):
        host, _, port = value.rpartition(":")
        if host and port.isdigit():
            hints.append((host.strip("[]"), int(port)))
    return hints


class Download:
    """A torrent in the session and what its readers want from it."""

    def __init__(
        self, engine: Engine, info_hash: str, movie_id: int, handle: lt.torrent_handle, save_path: Path
    ):
        self.engine = engine
        self.info_hash = info_hash
        self.movie_id = movie_id
        self.handle = handle
        self.save_path = save_path
        self.hints: list[tuple[str, int]] = []
        self.metadata = asyncio.Event()
        self.finished = asyncio.Event()
        # Reads always go through libtorrent (read_piece): a read straight from the file right after
        # the download finished returned stale bytes now and then, flush request or not.
        self.flushed = False
        self.error: str | None = None
        self.readers: set[TorrentReader] = set()
        self.files: list[TorrentFile] = []
        self.piece_size = 0
        self.num_pieces = 0
        self._have: set[int] = set()
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}
        self._reads: dict[int, asyncio.Future[bytes]] = {}
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._deadlines: set[int] = set()
        self._applied: list[int] | None = None
        self._base: list[int] | None = None
        self._quiet_since: float | None = None  # since when the readers have been missing nothing
        self._later: asyncio.TimerHandle | None = None
        self.last_peer_seen = time.monotonic()
        self.last_touch = time.monotonic()
        self._last_hint = 0.0
        self._last_announce = 0.0
        self.last_status: dict[str, Any] | None = None
        # Added ahead of play (its film page was opened): metadata and peers only, no piece, no row
        # in `downloads`, until a reader opens it.
        self.warm = False
        self.added_at = time.monotonic()
        self.source = ""

    # --- metadata -----------------------------------------------------------------------------
    def on_metadata(self) -> None:
        ti = self.handle.torrent_file()
        if ti is None:
            return
        fs = ti.layout()
        self.piece_size = ti.piece_length()
        self.num_pieces = ti.num_pieces()
        self.files = [
            TorrentFile(i, fs.file_path(i).replace(os.sep, "/"), fs.file_size(i), kind_of(fs.file_path(i)))
            for i in range(fs.num_files())
            if not fs.file_flags(i) & fs.flag_pad_file
        ]
        # Samples and extras stay off the wire; the film and its subtitles download in the background,
        # but only once no reader has wanted anything for a moment: a download starts with every piece
        # at priority 0 so that the player's first pieces are the first ones asked for.
        base = [0] * self.num_pieces
        for f in self.files:
            if f.size and f.kind != "other" and not is_sample(f.path):
                for piece in self.piece_range(f, 0, f.size):
                    base[piece] = 4
        self._base = base if any(base) else [4] * self.num_pieces
        self._applied = None
        self.metadata.set()
        self.refresh()
        self.handle.unset_flags(lt.torrent_flags.upload_mode)

    def base_priorities(self) -> list[int]:
        if self._base is None:
            self._base = [4] * self.num_pieces
        return self._base

    def file(self, index: int) -> TorrentFile:
        for f in self.files:
            if f.index == index:
                return f
        raise NoVideo("This torrent has no such file.")

    def piece_range(self, file: TorrentFile, offset: int, length: int) -> range:
        ti: Any = self.handle.torrent_file()
        start = ti.map_file(file.index, offset, 1).piece
        end = ti.map_file(file.index, max(offset, offset + length - 1), 1).piece
        return range(start, end + 1)

    # --- pieces -------------------------------------------------------------------------------
    def has(self, piece: int) -> bool:
        if piece in self._have:
            return True
        if self.handle.is_valid() and self.handle.have_piece(piece):
            self._have.add(piece)
            return True
        return False

    def on_piece(self, piece: int) -> None:
        self._have.add(piece)
        for fut in self._waiters.pop(piece, []):
            if not fut.done():
                fut.set_result(None)

    def wake_all(self) -> None:
        """Re-checks every awaited piece (after a files check, or in case an alert was dropped)."""
        for piece in list(self._waiters):
            if self.has(piece):
                self.on_piece(piece)

    def fail(self, exc: TorrentError) -> None:
        for futs in self._waiters.values():
            for fut in futs:
                if not fut.done():
                    fut.set_exception(exc)
        self._waiters.clear()
        for read in self._reads.values():
            if not read.done():
                read.set_exception(exc)
        self._reads.clear()

    async def wait_piece(self, piece: int, limit: float) -> None:
        if self.has(piece):
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(piece, []).append(fut)
        loop = asyncio.get_running_loop()
        end = loop.time() + limit
        try:
            while True:
                left = end - loop.time()
                if left <= 0:
                    raise PeersTimeout(
                        "The film's data did not arrive in time: no peer is sending it right now. Try again later."
                    )
                try:
                    await asyncio.wait_for(asyncio.shield(fut), min(left, KICK_AFTER_S))
                    return
                except TimeoutError:
                    self.kick(piece)
        finally:
            waiters = self._waiters.get(piece)
            if waiters and fut in waiters:
                waiters.remove(fut)
                if not waiters:
                    del self._waiters[piece]

    def kick(self, piece: int) -> None:
        """A piece long awaited: its deadline is set anew (libtorrent asks for its blocks again) and
        the known peers are tried once more."""
        if not self.handle.is_valid() or self.has(piece):
            return
        log.info("piece %s of %s is late: asking for it again", piece, self.info_hash)
        self.handle.reset_piece_deadline(piece)
        self.handle.set_piece_deadline(piece, 0)
        self._deadlines.add(piece)
        self._last_hint = 0.0
        self.nudge_peers()

    async def piece_bytes(self, piece: int) -> bytes:
        """A verified piece's bytes, through libtorrent's disk layer (it may not be flushed to the file yet)."""
        cached = self._cache.get(piece)
        if cached is not None:
            self._cache.move_to_end(piece)
            return cached
        fut = self._reads.get(piece)
        if fut is None:
            fut = self._reads[piece] = asyncio.get_running_loop().create_future()
            self.handle.read_piece(piece)
        data = await asyncio.wait_for(asyncio.shield(fut), 30)
        return data

    def on_read_piece(self, piece: int, data: bytes | None, error: str | None) -> None:
        fut = self._reads.pop(piece, None)
        if error or data is None:
            if fut and not fut.done():
                fut.set_exception(PeersTimeout(f"Reading the film's data failed: {error}"))
            return
        self._cache[piece] = data
        self._cache.move_to_end(piece)
        limit = max(PIECE_CACHE_BYTES, 2 * self.piece_size)
        while len(self._cache) > 1 and sum(len(v) for v in self._cache.values()) > limit:
            self._cache.popitem(last=False)
        if fut and not fut.done():
            fut.set_result(data)

    # --- priorities and deadlines -------------------------------------------------------------
    def refresh(self) -> None:
        """Applies the union of the readers' windows: urgent pieces get deadlines, and while any of
        them is missing everything else waits (priority 0) so the whole bandwidth serves the player."""
        if not self.metadata.is_set() or not self.handle.is_valid():
            return
        wanted: dict[int, int] = {}
        for reader in self.readers:
            for piece, order in reader.wanted_pieces():
                if piece not in wanted or order < wanted[piece]:
                    wanted[piece] = order
        missing = {p: o for p, o in wanted.items() if not self.has(p)}
        if self.warm:
            priorities = [0] * self.num_pieces  # nobody has pressed play yet
        elif missing:
            priorities = [0] * self.num_pieces
            for piece in missing:
                priorities[piece] = 7
            self._quiet_since = None
        elif self._applied is not self._base:
            # The readers have what they asked for. The rest of the film waits a moment longer: a
            # reader that moves on (the next segment, a probe handing over to the cutter) would find
            # the seeder's queue full of background pieces requested in between.
            now = time.monotonic()
            if self._quiet_since is None:
                self._quiet_since = now
            left = self.engine.background_after - (now - self._quiet_since)
            if left > 0:
                loop = self.engine._loop
                if loop is not None and (self._later is None or self._later.cancelled()):
                    self._later = loop.call_later(left, self._refresh_later)
                priorities = self._applied or [0] * self.num_pieces
            else:
                priorities = self.base_priorities()
        else:
            priorities = self.base_priorities()
        if priorities != self._applied:
            self.handle.prioritize_pieces(priorities)
            self._applied = priorities
        for piece in sorted(missing, key=missing.__getitem__):
            if piece not in self._deadlines:
                self.handle.set_piece_deadline(piece, DEADLINE_FIRST_MS + missing[piece] * DEADLINE_STEP_MS)
                self._deadlines.add(piece)
        for piece in list(self._deadlines):
            if piece not in missing:
                if not self.has(piece):
                    self.handle.reset_piece_deadline(piece)
                self._deadlines.discard(piece)

    def _refresh_later(self) -> None:
        self._later = None
        self.refresh()

    # --- status -------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        if self.error:
            return {"progress": 0.0, "rate": 0, "peers": 0, "ready": False, "state": "error"}
        st = self.handle.status()
        main = self.main_file()
        progress = st.progress
        if main is not None and self.metadata.is_set():
            done = self.handle.file_progress(flags=lt.file_progress_flags_t.piece_granularity)
            progress = done[main.index] / main.size if main.size else 1.0
        if st.num_peers:
            self.last_peer_seen = time.monotonic()
        self.last_touch = time.monotonic()
        if not self.metadata.is_set():
            state = "metadata"
        elif st.state in (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data):
            state = "checking"
        elif progress >= 1.0 or st.is_seeding:
            state = "finished"
        elif st.num_peers == 0:
            state = "waiting_for_peers"
        else:
            state = "downloading"
        ready = False
        if main is not None and self.metadata.is_set():
            head = self.piece_range(main, 0, 1)
            tail = self.piece_range(main, max(0, main.size - 1), 1)
            ready = all(self.has(p) for p in (*head, *tail))
        return {
            "progress": round(min(1.0, progress), 4),
            "rate": int(st.download_payload_rate),
            "peers": int(st.num_peers),
            "ready": ready,
            "state": state,
        }

    def complete(self) -> bool:
        """Whether the film's files (not samples and extras) are all here."""
        done = self.handle.file_progress(flags=lt.file_progress_flags_t.piece_granularity)
        wanted = [f for f in self.files if f.kind != "other" and not is_sample(f.path)] or self.files
        return all(done[f.index] >= f.size for f in wanted)

    def main_file(self) -> TorrentFile | None:
        return pick_main_file(self.files) if self.files else None

    def nudge_peers(self) -> None:
        """With no peer connected, keeps asking: the magnet's peer hints every few seconds, trackers
        and DHT every half minute, so a seeder that comes back is found quickly."""
        now = time.monotonic()
        if now - self._last_hint >= 2.0:
            self._last_hint = now
            for host, port in self.hints:
                try:
                    self.handle.connect_peer((host, port))
                except RuntimeError:
                    pass
        if now - self._last_announce >= 30.0:
            self._last_announce = now
            self.handle.force_reannounce()
            self.handle.force_dht_announce()


class Engine:
    """The process's BitTorrent engine: adds films' torrents, hands out readers, keeps resume data."""

    def __init__(
        self,
        download_dir: Path,
        pool: asyncpg.Pool,
        http: aiohttp.ClientSession,
        *,
        port: int = 0,
        publish: Callable[[int, dict[str, Any]], Any] | None = None,
        dht: bool = True,
    ):
        self.download_dir = download_dir
        self.resume_dir = download_dir / ".resume"
        self.pool = pool
        self.http = http
        self.port = port
        self.publish = publish
        self.dht = dht
        self.metadata_timeout = 30.0
        self.read_timeout = 60.0
        self.fetch_timeout = 20.0
        self.warm_ttl = WARM_TTL_S
        self.background_after = BACKGROUND_AFTER_S
        self.max_warm = MAX_WARM
        self.session: lt.session | None = None
        # Peers every download tries (the demo seeder on loopback), besides the magnet's own hints.
        self.local_peers: list[tuple[str, int]] = []
        self.downloads: dict[str, Download] = {}
        self._by_movie: dict[int, str] = {}
        self._adding: dict[int, asyncio.Future[Download]] = {}
        self._resume_waiters: dict[str, asyncio.Future[None]] = {}
        self._tasks: list[asyncio.Task] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._alert_r = self._alert_w = -1

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.resume_dir.mkdir, parents=True, exist_ok=True)
        pack = {
            "listen_interfaces": f"0.0.0.0:{self.port},[::]:{self.port}",
            "enable_dht": self.dht,
            "enable_lsd": True,
            "enable_upnp": False,
            "enable_natpmp": False,
            "tick_interval": 20,  # the default 500 ms delays every handshake and new torrent by a tick
            "alert_mask": ALERT_MASK,
            "allow_multiple_connections_per_ip": True,
            "min_reconnect_time": 1,
            "peer_connect_timeout": 5,
            # A player's window often completes while the rest of the film waits at priority 0: for
            # libtorrent the torrent is then "finished", and by default it hangs up on seeders
            # ("redundant" connections), to reconnect a second later when the window moves on.
            "close_redundant_connections": False,
            # A block a peer does not send within 10 s is asked for again (libtorrent waits 60 s and
            # 20 s by default: far too long for a player waiting on that very piece).
            "request_timeout": 10,
            "piece_timeout": 10,
            # At most about a second of requests queued at each peer (libtorrent's default is 3 s): after
            # a seek, the pieces asked for in the background drain first. Measured on a seek to 70 %
            # while the rest of the film was downloading: 0.60-1.12x the bound instead of 0.92-1.42x.
            "request_queue_time": 1,
            # Outgoing connections use TCP. uTP's delay-based congestion control backs off as soon as
            # the peer's queue grows: from a seeder capped at 2 MiB/s the first 3.3 MiB took 1.4-2.1x
            # the bound over uTP, with idle gaps of up to a second, against 1.1-1.2x over TCP.
            # Peers that reach us over uTP are still accepted.
            "enable_outgoing_utp": False,
            "user_agent": "Hypertube/0.1",
        }
        self.session = lt.session(pack)  # type: ignore[call-overload]
        # libtorrent writes a byte to this pipe when alerts are waiting; the loop watches it. A Python
        # callback (`set_alert_notify`) would run on libtorrent's thread with its alert lock held and
        # need the GIL, while the loop thread holds the GIL inside a libtorrent call that waits for
        # that thread: a deadlock seen in the tests. A file descriptor needs no Python at all.
        self._alert_r, self._alert_w = os.pipe()
        os.set_blocking(self._alert_r, False)
        os.set_blocking(self._alert_w, False)
        self.session.set_alert_fd(self._alert_w)
        self._loop.add_reader(self._alert_r, self._on_alert_fd)
        self.port = self.session.listen_port()
        await self._restore()
        self._tasks = [
            asyncio.create_task(self._status_loop(), name="torrent-status"),
            asyncio.create_task(self._resume_loop(), name="torrent-resume"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for dl in list(self.downloads.values()):
            for reader in list(dl.readers):
                reader.detach()
        started = time.monotonic()
        await self.save_all_resume_data(limit=5)
        await self._save_rows()
        saved = time.monotonic()
        session = self.session
        if session is not None:
            self.session = None
            if self._loop is not None and self._alert_r >= 0:
                self._loop.remove_reader(self._alert_r)
            await asyncio.to_thread(_close_session, session)
            del session
            for fd in (self._alert_r, self._alert_w):
                if fd >= 0:
                    os.close(fd)
            self._alert_r = self._alert_w = -1
        log.debug(
            "torrent engine closed: resume data saved in %.2f s, session closed in %.2f s",
            saved - started,
            time.monotonic() - saved,
        )

    def _on_alert_fd(self) -> None:
        try:
            while os.read(self._alert_r, 4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        self._drain()

    def _drain(self) -> None:
        if self.session is None:
            return
        for alert in self.session.pop_alerts():
            try:
                self._dispatch(alert)
            except Exception:
                log.exception("torrent alert %s failed", type(alert).__name__)

    def _dispatch(self, alert: Any) -> None:
        handle = getattr(alert, "handle", None)
        dl = None
        if handle is not None and handle.is_valid():
            dl = self.downloads.get(str(handle.info_hashes().v1))
        if isinstance(alert, lt.piece_finished_alert):
            if dl:
                dl.on_piece(alert.piece_index)
        elif isinstance(alert, lt.read_piece_alert):
            if dl:
                err = alert.error.message() if alert.error.value() else None
                dl.on_read_piece(alert.piece, None if err else bytes(alert.buffer), err)
        elif isinstance(alert, lt.metadata_received_alert):
            if dl:
                dl.on_metadata()
        elif isinstance(alert, lt.torrent_checked_alert):
            if dl:
                dl.wake_all()
        elif isinstance(alert, lt.torrent_finished_alert):
            # libtorrent says "finished" once every piece it was asked for is here, which is also the
            # case for a moment when a player's window is complete and the rest waits at priority 0.
            if dl and dl.metadata.is_set() and dl.complete():
                dl.finished.set()
                dl.wake_all()
                dl.handle.save_resume_data(
                    lt.save_resume_flags_t.save_info_dict | lt.save_resume_flags_t.flush_disk_cache
                )
                asyncio.ensure_future(self._mark_completed(dl))
        elif isinstance(alert, lt.save_resume_data_alert):
            info_hash = str(alert.handle.info_hashes().v1)
            data = lt.write_resume_data_buf(alert.params)
            asyncio.ensure_future(self._write_resume(info_hash, data))
        elif isinstance(alert, lt.save_resume_data_failed_alert):
            if handle is not None and handle.is_valid():
                fut = self._resume_waiters.pop(str(handle.info_hashes().v1), None)
                if fut and not fut.done():
                    fut.set_result(None)
        elif isinstance(alert, lt.hash_failed_alert):
            log.warning(
                "piece %s of %s failed its hash check; downloading it again",
                alert.piece_index,
                dl and dl.info_hash,
            )
        elif isinstance(alert, (lt.torrent_error_alert, lt.file_error_alert)):
            if dl:
                dl.error = alert.message()
                log.error("torrent %s: %s", dl.info_hash, dl.error)
                dl.fail(PeersTimeout("The download failed: " + dl.error))

    async def _write_resume(self, info_hash: str, data: bytes) -> None:
        path = self.resume_dir / f"{info_hash}.fastresume"

        def write() -> None:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)

        try:
            await asyncio.to_thread(write)
        except OSError:
            log.exception("could not save resume data for %s", info_hash)
        fut = self._resume_waiters.pop(info_hash, None)
        if fut and not fut.done():
            fut.set_result(None)

    async def save_all_resume_data(self, limit: float = 10) -> None:
        """Asks every torrent for its resume data and waits (bounded) until the files are written."""
        loop = asyncio.get_running_loop()
        futs = []
        for dl in self.downloads.values():
            if not dl.handle.is_valid() or not dl.metadata.is_set() or dl.warm:
                continue
            fut = loop.create_future()
            self._resume_waiters[dl.info_hash] = fut
            futs.append(fut)
            dl.handle.save_resume_data(
                lt.save_resume_flags_t.save_info_dict | lt.save_resume_flags_t.flush_disk_cache
            )
        if futs:
            await asyncio.wait(futs, timeout=limit)

    async def _restore(self) -> None:
        """Adds back every download known to the database, from its resume data when there is some."""
        rows = await self.pool.fetch("SELECT info_hash, movie_id, source, save_path FROM downloads")
        for row in rows:
            path = self.resume_dir / f"{row['info_hash']}.fastresume"
            try:
                data = await asyncio.to_thread(path.read_bytes)
                params = lt.read_resume_data(data)
            except (OSError, RuntimeError):
                continue
            params.save_path = row["save_path"]
            self._add_params(params, row["info_hash"], row["movie_id"], row["source"] or "")

    # --- adding torrents ----------------------------------------------------------------------
    def _add_params(
        self, params: Any, info_hash: str, movie_id: int, source: str, *, warm: bool = False
    ) -> Download:
        assert self.session is not None
        params.flags &= ~lt.torrent_flags.paused
        params.flags &= ~lt.torrent_flags.auto_managed
        # Upload mode until the metadata is in and the piece priorities are set (`on_metadata`): with
        # libtorrent's default priorities a magnet would start asking the seeder for random pieces the
        # moment its metadata arrives, and the player's first piece would queue behind them.
        params.flags |= lt.torrent_flags.upload_mode
        handle = self.session.add_torrent(params)
        dl = Download(self, info_hash, movie_id, handle, Path(params.save_path))
        dl.warm = warm
        dl.source = source
        hints = _peer_hints(source) if source.startswith("magnet:") else []
        dl.hints = list(dict.fromkeys(hints + self.local_peers))
        self.downloads[info_hash] = dl
        self._by_movie[movie_id] = info_hash
        for host, port in dl.hints:
            try:
                handle.connect_peer((host, port))
            except RuntimeError:
                pass
        if handle.torrent_file() is not None:
            dl.on_metadata()
        return dl

    async def _params_for(self, magnet: str | None, torrent_url: str | None) -> tuple[Any, str]:
        if magnet:
            try:
                params = lt.parse_magnet_uri(magnet)
            except RuntimeError:
                params = None
            if params is None or params.info_hashes.v1.is_all_zeros():
                raise BadTorrent("This film's magnet link is not valid.")
            return params, magnet
        if not torrent_url or urlparse(torrent_url).scheme not in ("http", "https"):
            raise BadTorrent("This film's torrent link is not valid.")
        data = await self._fetch_torrent(torrent_url)
        try:
            ti = lt.torrent_info(lt.bdecode(data)) if data else None  # type: ignore[arg-type]
        except (RuntimeError, TypeError, ValueError):
            ti = None
        if ti is None or not ti.is_valid():
            raise BadTorrent("This film's .torrent file is not valid.")
        params = lt.add_torrent_params()
        params.ti = ti
        return params, torrent_url

    async def _fetch_torrent(self, url: str) -> bytes:
        try:
            timeout = aiohttp.ClientTimeout(total=self.fetch_timeout)
            async with self.http.get(url, timeout=timeout, allow_redirects=True, max_redirects=5) as resp:
                if resp.status != 200:
                    raise TorrentUnreachable(
                        f"The film's .torrent file could not be fetched (HTTP {resp.status})."
                    )
                if (resp.content_length or 0) > MAX_TORRENT_FILE:
                    raise TorrentUnreachable("The film's .torrent file is too large.")
                data = await resp.content.read(MAX_TORRENT_FILE + 1)
                if len(data) > MAX_TORRENT_FILE:
                    raise TorrentUnreachable("The film's .torrent file is too large.")
                return data
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TorrentUnreachable("The film's .torrent file could not be fetched.") from exc

    async def _candidates(self, movie_id: int) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            """SELECT t.id, t.info_hash, t.magnet, t.torrent_url
               FROM torrents t LEFT JOIN downloads d ON d.info_hash = t.info_hash
               WHERE t.movie_id = $1
               ORDER BY (d.info_hash IS NOT NULL) DESC, t.seeders DESC, t.id""",
            movie_id,
        )

    async def download_for(self, movie_id: int) -> Download:
        """The film's running download, or a new one from its best torrent; waits for the metadata."""
        info_hash = self._by_movie.get(movie_id)
        dl = self.downloads.get(info_hash) if info_hash else None
        if dl is None:
            pending = self._adding.get(movie_id)
            if pending is None:
                pending = asyncio.ensure_future(self._add_for_movie(movie_id))
                self._adding[movie_id] = pending
                pending.add_done_callback(lambda _: self._adding.pop(movie_id, None))
            dl = await asyncio.shield(pending)
        if not dl.metadata.is_set():
            try:
                await asyncio.wait_for(dl.metadata.wait(), self.metadata_timeout)
            except TimeoutError:
                raise MetadataTimeout(
                    "No peer sent this film's torrent information in time. Try again later."
                ) from None
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
        pending = asyncio.ensure_future(self._add_for_movie(movie_id, warm=True))
        self._adding[movie_id] = pending

        def done(fut: asyncio.Future[Download]) -> None:
            self._adding.pop(movie_id, None)
            if not fut.cancelled() and fut.exception() is not None:
                log.debug("film %s not prepared ahead: %s", movie_id, fut.exception())

        pending.add_done_callback(done)

    def _forget_warm(self, dl: Download) -> None:
        if dl.readers or not dl.warm:
            return
        self._drop(dl, "The download was dropped.")
        # Its folder is empty (nothing was downloaded): removed in a thread.
        asyncio.ensure_future(asyncio.to_thread(_delete_paths, [dl.save_path], self.download_dir))

    def _drop(self, dl: Download, reason: str) -> None:
        """Takes a download out of the session and the engine's maps; its waiting reads fail."""
        dl.fail(PeersTimeout(reason))
        if self.session is not None and dl.handle.is_valid():
            self.session.remove_torrent(dl.handle)
        self.downloads.pop(dl.info_hash, None)
        if self._by_movie.get(dl.movie_id) == dl.info_hash:
            del self._by_movie[dl.movie_id]

    async def _record(self, dl: Download, source: str) -> None:
        await self.pool.execute(
            """INSERT INTO downloads (info_hash, movie_id, source, save_path) VALUES ($1, $2, $3, $4)
               ON CONFLICT (info_hash) DO UPDATE SET movie_id = $2, source = $3, save_path = $4,
               error = NULL, updated_at = now()""",
            dl.info_hash,
            dl.movie_id,
            source,
            str(dl.save_path),
        )

    async def _add_for_movie(self, movie_id: int, *, warm: bool = False) -> Download:
        rows = await self._candidates(movie_id)
        if not rows:
            raise NoTorrent("This film has no torrent to play.")
        error: TorrentError | None = None
        for row in rows:
            try:
                params, source = await self._params_for(row["magnet"], row["torrent_url"])
            except TorrentError as exc:
                error = error or exc
                continue
            info_hash = str(params.info_hashes.v1) if params.ti is None else str(params.ti.info_hashes().v1)
            existing = self.downloads.get(info_hash)
            if existing is not None:
                self._by_movie[movie_id] = info_hash
                return existing
            save_path = self.download_dir / info_hash
            resume = self.resume_dir / f"{info_hash}.fastresume"
            try:
                data = await asyncio.to_thread(resume.read_bytes)
                resumed = lt.read_resume_data(data)
                if resumed.ti is not None or params.ti is None:
                    params = resumed
            except (OSError, RuntimeError):
                pass
            params.save_path = str(save_path)
            await asyncio.to_thread(save_path.mkdir, parents=True, exist_ok=True)
            dl = self._add_params(params, info_hash, movie_id, source, warm=warm)
            if not warm:
                await self._record(dl, source)
            return dl
        assert error is not None
        raise error

    # --- readers ------------------------------------------------------------------------------
    async def list_files(self, movie_id: int) -> list[TorrentFile]:
        dl = await self.download_for(movie_id)
        return list(dl.files)

    def known_files(self, movie_id: int) -> list[TorrentFile] | None:
        """The film's files if its torrent's metadata is here already (played, or its page opened);
        None otherwise. Never adds a torrent."""
        info_hash = self._by_movie.get(movie_id)
        dl = self.downloads.get(info_hash) if info_hash else None
        return list(dl.files) if dl is not None and dl.metadata.is_set() else None

    async def open_reader(self, movie_id: int, file_index: int | None = None) -> TorrentReader:
        from hypertube.torrent.reader import TorrentReader

        dl = await self.download_for(movie_id)
        if file_index is None:
            main = dl.main_file()
            if main is None:
                raise NoVideo("This torrent holds no video file.")
            file = main
        else:
            file = dl.file(file_index)
        if dl.warm:
            dl.warm = False  # played now: recorded, downloaded, kept
            await self._record(dl, dl.source)
        reader = TorrentReader(dl, file)
        dl.readers.add(reader)
        dl.refresh()
        await self._touch(dl, file)
        return reader

    def release(self, reader: TorrentReader) -> None:
        dl = reader.download
        dl.readers.discard(reader)
        if dl.handle.is_valid():
            dl.refresh()

    async def _touch(self, dl: Download, file: TorrentFile) -> None:
        main = dl.main_file()
        await self.pool.execute(
            """UPDATE downloads SET last_watched_at = now(), file_index = $2, file_path = $3,
               size_bytes = $4, updated_at = now() WHERE info_hash = $1""",
            dl.info_hash,
            main.index if main else file.index,
            main.path if main else file.path,
            main.size if main else file.size,
        )

    def open_readers(self, movie_id: int) -> int:
        info_hash = self._by_movie.get(movie_id)
        dl = self.downloads.get(info_hash) if info_hash else None
        return len(dl.readers) if dl else 0

    # --- status -------------------------------------------------------------------------------
    async def download_status(self, movie_id: int) -> dict[str, Any]:
        info_hash = self._by_movie.get(movie_id)
        dl = self.downloads.get(info_hash) if info_hash else None
        if dl is not None and dl.handle.is_valid():
            return dl.status()
        row = await self.pool.fetchrow(
            "SELECT progress, state FROM downloads WHERE movie_id = $1 ORDER BY updated_at DESC LIMIT 1",
            movie_id,
        )
        if row is None:
            return {"progress": 0.0, "rate": 0, "peers": 0, "ready": False, "state": "idle"}
        return {
            "progress": float(row["progress"]),
            "rate": 0,
            "peers": 0,
            "ready": row["progress"] >= 1.0,
            "state": row["state"],
        }

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for dl in list(self.downloads.values()):
                try:
                    await self._tick(dl)
                except Exception:
                    log.exception("status of %s failed", dl.info_hash)

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
            await self.pool.execute(
                "UPDATE downloads SET last_watched_at = now() WHERE info_hash = $1", dl.info_hash
            )
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
            await self.pool.execute(
                "UPDATE downloads SET progress = $2, state = $3, error = $4, updated_at = now() WHERE info_hash = $1",
                dl.info_hash,
                status["progress"],
                status["state"],
                dl.error,
            )

    async def _resume_loop(self) -> None:
        while True:
            await asyncio.sleep(RESUME_EVERY)
            for dl in list(self.downloads.values()):
                if (
                    dl.handle.is_valid()
                    and dl.metadata.is_set()
                    and not dl.warm
                    and dl.handle.need_save_resume_data()
                ):
                    dl.handle.save_resume_data(lt.save_resume_flags_t.save_info_dict)

    async def _save_rows(self) -> None:
        for dl in list(self.downloads.values()):
            if dl.handle.is_valid():
                status = dl.status()
                await self.pool.execute(
                    "UPDATE downloads SET progress = $2, state = $3, updated_at = now() WHERE info_hash = $1",
                    dl.info_hash,
                    status["progress"],
                    status["state"],
                )

    async def _mark_completed(self, dl: Download) -> None:
        await self.pool.execute(
            """UPDATE downloads SET progress = 1, state = 'finished', completed_at = coalesce(completed_at, now()),
               updated_at = now() WHERE info_hash = $1""",
            dl.info_hash,
        )

    # --- removal (janitor) --------------------------------------------------------------------
    async def remove(self, info_hash: str) -> bool:
        """Drops a download and its files unless a reader has it open; returns whether it was removed."""
        dl = self.downloads.get(info_hash)
        if dl is not None:
            if dl.readers:
                return False
            self._drop(dl, "The download was removed.")
        row = await self.pool.fetchrow(
            "DELETE FROM downloads WHERE info_hash = $1 RETURNING save_path", info_hash
        )
        paths = [self.resume_dir / f"{info_hash}.fastresume"]
        if row is not None:
            paths.append(Path(row["save_path"]))
        await asyncio.to_thread(_delete_paths, paths, self.download_dir)
        return True


def _close_session(session: lt.session) -> None:
    """Pauses and drops the session on a worker thread: its destructor waits for trackers and DHT."""
    session.pause()
    del session


def _delete_paths(paths: list[Path], root: Path) -> None:
    import shutil

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
