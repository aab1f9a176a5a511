"""One torrent in the session: its files, the pieces its readers wait for, their priorities, its status."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import libtorrent as lt

from hypertube.torrent.errors import NoVideo, PeersTimeout, TorrentError
from hypertube.torrent.files import TorrentFile, is_sample, kind_of, pick_main_file
from hypertube.torrent.window import merge

if TYPE_CHECKING:
    from hypertube.torrent.reader import TorrentReader

log = logging.getLogger(__name__)

PIECE_CACHE_BYTES = 16 * 1024 * 1024  # recently read pieces kept per download (readers share them)
# Staggered piece deadlines: the piece under the read position first, the next ones a step later each.
DEADLINE_FIRST_MS = 0
DEADLINE_STEP_MS = 40
KICK_AFTER_S = 10.0  # a piece awaited this long gets its request renewed
# With no peer, the known ones are retried and trackers and DHT asked after 2 s, then 4, 8, ... 30 s.
RETRY_FIRST_S = 2.0
RETRY_MAX_S = 30.0


class Pacing(Protocol):
    """The engine's timings a download follows; read each time, as they may change while it runs."""

    background_after: float  # the rest of the film downloads once the readers wanted nothing this long
    read_timeout: float  # a reader waits this long for a piece


class Download:
    """A torrent in the session and what its readers want from it."""

    def __init__(
        self, pacing: Pacing, info_hash: str, movie_id: int, handle: lt.torrent_handle, save_path: Path
    ):
        self.pacing = pacing
        # The background timer's loop: the one the download was added on (`refresh` runs off a task too).
        self.loop = asyncio.get_running_loop()
        self.info_hash = info_hash
        self.movie_id = movie_id
        self.handle = handle
        self.save_path = save_path
        self.node_id = ""  # the node whose `downloads` row this is (the engine's)
        self.hints: list[tuple[str, int]] = []
        self.metadata = asyncio.Event()
        self.finished = asyncio.Event()
        # Set once libtorrent has written every piece of the finished film out to its files (the
        # flush that follows "finished"): until then a piece may sit in its write queue.
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
        self.last_wait = 0.0  # when a reader last had to wait for a piece (monotonic)
        self._retry_wait = 0.0
        self._next_retry = 0.0
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

    def file_start(self, file: TorrentFile) -> int:
        """Where `file` starts in the torrent's bytes (pad files included)."""
        ti: Any = self.handle.torrent_file()
        return ti.layout().file_offset(file.index)

    @property
    def read_timeout(self) -> float:
        return self.pacing.read_timeout

    def release(self, reader: TorrentReader, *, refresh: bool = True) -> None:
        """A reader is done: its pieces are no longer wanted (refreshed unless the session is closing)."""
        self.readers.discard(reader)
        if refresh and self.handle.is_valid():
            self.refresh()

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
        # With the wait below, a timeline of the pieces asked for and received (DEBUG level).
        log.debug("%s: piece %d in at %.3f s", self.info_hash[:8], piece, time.monotonic() - self.added_at)
        self._have.add(piece)
        for fut in self._waiters.pop(piece, []):
            if not fut.done():
                fut.set_result(None)

    def starving(self, grace: float) -> bool:
        """Whether a reader waits for a piece now or did within the last `grace` seconds."""
        return bool(self._waiters) or time.monotonic() - self.last_wait < grace

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
        log.debug(
            "%s: piece %d awaited at %.3f s", self.info_hash[:8], piece, time.monotonic() - self.added_at
        )
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(piece, []).append(fut)
        self.last_wait = time.monotonic()
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
            self.last_wait = time.monotonic()
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
        self._next_retry = 0.0
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
        wanted = merge(reader.wanted_pieces() for reader in self.readers)
        missing = {p: o for p, o in wanted.items() if not self.has(p)}
        priorities = self._priorities(missing)
        if priorities != self._applied:
            self.handle.prioritize_pieces(priorities)
            self._applied = priorities
        self._set_deadlines(missing)

    def _idle_priorities(self) -> list[int]:
        """While no reader wants anything: nothing, or, until a first peer is met, the main file's first
        piece at the lowest priority. A torrent that wants nothing says "upload only" in its
        handshakes, and seeders hang up on such peers at once: a torrent added with its metadata (a
        `.torrent` file) met its tracker's seeder, was dropped, and met it again only after play was
        pressed. A magnet meets its peers before it has metadata, so it never asks for that piece."""
        priorities = [0] * self.num_pieces
        main = self.main_file()
        if main is not None and main.size and not self.handle.status().num_peers:
            priorities[self.piece_range(main, 0, 1)[0]] = 1
        return priorities

    def _priorities(self, missing: dict[int, int]) -> list[int]:
        if self.warm:
            return self._idle_priorities()  # nobody has pressed play yet
        if missing:
            priorities = [0] * self.num_pieces
            for piece in missing:
                priorities[piece] = 7
            self._quiet_since = None
            return priorities
        if self._applied is self._base:
            return self.base_priorities()
        # The readers have what they asked for. The rest of the film waits a moment longer: a
        # reader that moves on (the next segment, a probe handing over to the cutter) would find
        # the seeder's queue full of background pieces requested in between.
        now = time.monotonic()
        if self._quiet_since is None:
            self._quiet_since = now
        left = self.pacing.background_after - (now - self._quiet_since)
        if left <= 0:
            return self.base_priorities()
        if self._later is None or self._later.cancelled():
            self._later = self.loop.call_later(left, self._refresh_later)
        return self._applied or self._idle_priorities()

    def _set_deadlines(self, missing: dict[int, int]) -> None:
        """Deadlines for the missing wanted pieces, most urgent first; the others' are withdrawn."""
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
            return {"progress": 0.0, "rate": 0, "peers": 0, "ready": False, "state": "error", "size": None}
        st = self.handle.status()
        main = self.main_file()
        progress = st.progress
        if main is not None and self.metadata.is_set():
            done = self.handle.file_progress(flags=lt.file_progress_flags_t.piece_granularity)
            progress = done[main.index] / main.size if main.size else 1.0
        if st.num_peers:
            self.last_peer_seen = time.monotonic()
            self._retry_wait = 0.0
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
            # Bytes of the film's file (the player estimates how long until it can start from it).
            "size": main.size if main is not None and self.metadata.is_set() else None,
        }

    def complete(self) -> bool:
        """Whether the film's files (not samples and extras) are all here."""
        done = self.handle.file_progress(flags=lt.file_progress_flags_t.piece_granularity)
        wanted = [f for f in self.files if f.kind != "other" and not is_sample(f.path)] or self.files
        return all(done[f.index] >= f.size for f in wanted)

    def on_disk(self, file: TorrentFile) -> bool:
        """Whether `file` is whole, verified and written out, so it can be sent straight from disk."""
        if not self.flushed or self.error:
            return False
        done = self.handle.file_progress(flags=lt.file_progress_flags_t.piece_granularity)
        return done[file.index] >= file.size

    def main_size(self) -> int:
        """Bytes of the film's file (0 before the metadata)."""
        main = self.main_file()
        return main.size if main is not None else 0

    def main_file(self) -> TorrentFile | None:
        return pick_main_file(self.files) if self.files else None

    def nudge_peers(self) -> None:
        """With no peer connected, keeps asking, more patiently each time (RETRY_FIRST_S doubling up to
        RETRY_MAX_S): the magnet's peer hints are dialled, trackers and DHT are asked."""
        now = time.monotonic()
        if now < self._next_retry or now - self.last_peer_seen < RETRY_FIRST_S:
            return
        self._retry_wait = min(RETRY_MAX_S, max(RETRY_FIRST_S, self._retry_wait * 2))
        self._next_retry = now + self._retry_wait
        for host, port in self.hints:
            try:
                # Given as found by a tracker: libtorrent gives up on a peer after three failed
                # attempts (a seeder gone for a few seconds) and only a tracker's word lowers that count.
                self.handle.connect_peer((host, port), lt.peer_info.tracker)
            except RuntimeError:
                pass
        # Trackers are asked even within the minimum interval they set: the swarm is gone for us.
        self.handle.force_reannounce(0, -1, lt.torrent_handle.ignore_min_interval)
        self.handle.force_dht_announce()
