"""Random access to one file of a downloading torrent: async reads that wait for pieces, and a
blocking file object over them for PyAV in a worker thread."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypertube.torrent.errors import TorrentError
from hypertube.torrent.files import TorrentFile

if TYPE_CHECKING:
    from hypertube.torrent.engine import Download

# Pieces with deadlines ahead of the read position. Kept short on purpose: with a long window
# libtorrent fetches the deadline pieces out of order and the first 2 MiB take 3–4x the bound.
# A reader starts with no readahead (a probe reads a header and jumps to the index: pieces past the
# header would be wasted bandwidth) and doubles it on each read that follows the previous one; inside
# a span announced with `expect()` (an HTTP range, a segment's bytes) the window is full at once and
# stops at the span's end.
READAHEAD_BYTES = 1024 * 1024
HEAD_BYTES = 1  # the first piece: the EBML header and segment info
TAIL_BYTES = 1  # the last piece: Matroska keeps its Cues (seek index) there
EARLY_ORDER = 8  # head and tail come right after the first 8 pieces of the read window
# Only Matroska/WebM gets its head and tail fetched early: a seek needs the Cues at the end. Other
# containers' players read the header first anyway, and early pieces would share the peer's
# bandwidth with the first piece a reader waits for (measured: +0.1-0.3 s on the first 2 MiB).
EARLY_SUFFIXES = (".mkv", ".webm", ".mka", ".mk3d")


class TorrentReader:
    """Async random access to `file` of a download; several readers may share one download."""

    def __init__(self, download: Download, file: TorrentFile):
        self.download = download
        self.file = file
        self.size = file.size
        self.name = file.name
        self.file_index = file.index
        self.path: Path = download.save_path / file.path
        self.info_hash = download.info_hash
        self.movie_id = download.movie_id
        ti: Any = download.handle.torrent_file()
        self._file_start = ti.layout().file_offset(file.index)
        self._position: int | None = None
        self._closed = False
        piece = max(1, download.piece_size)
        self.readahead_pieces = max(4, -(-READAHEAD_BYTES // piece))
        self._ahead = 1  # pieces in the window now (adaptive, up to readahead_pieces)
        self._next: int | None = None  # where the previous read ended
        self._span: tuple[int, int] | None = None
        self._early: list[int] = []
        if self.size and self.name.lower().endswith(EARLY_SUFFIXES):
            head = list(download.piece_range(file, 0, HEAD_BYTES))
            tail = list(download.piece_range(file, self.size - TAIL_BYTES, TAIL_BYTES))
            self._early = list(dict.fromkeys(head + tail))

    # --- what to fetch ------------------------------------------------------------------------
    def wanted_pieces(self) -> list[tuple[int, int]]:
        """(piece, urgency order) for the read window and the early head/tail pieces."""
        if self._closed or not self.size:
            return []
        wanted: list[tuple[int, int]] = []
        dl = self.download
        position, span = self._position, self._span
        last = dl.piece_range(self.file, self.size - 1, 1).start
        in_span = span is not None and position is not None and span[0] - dl.piece_size <= position < span[1]
        if position is not None and position < self.size:
            first = dl.piece_range(self.file, position, 1).start
            stop, count = last, self._ahead
            if span is not None and in_span:
                stop = min(last, dl.piece_range(self.file, span[1] - 1, 1).start)
                count = self.readahead_pieces
            wanted.extend((p, i) for i, p in enumerate(range(first, min(stop, first + count - 1) + 1)))
        if span is not None and not in_span and (position is None or position < span[0]):
            # Announced but not reached yet (a container header is read first): ask for it already.
            first = dl.piece_range(self.file, span[0], 1).start
            stop = min(last, dl.piece_range(self.file, span[1] - 1, 1).start)
            base = len(wanted)
            wanted.extend(
                (p, base + i)
                for i, p in enumerate(range(first, min(stop, first + self.readahead_pieces - 1) + 1))
            )
        self._early = [p for p in self._early if not self.download.has(p)]
        wanted.extend((p, EARLY_ORDER + i) for i, p in enumerate(self._early))
        return wanted

    def expect(self, start: int, end: int) -> None:
        """Announces that bytes [start, end) will be read in order: their pieces are asked for now,
        with a full readahead window that stops at `end`."""
        start = max(0, min(start, self.size))
        end = max(start, min(end, self.size))
        self._span = (start, end) if end > start else None
        if not self._closed:
            self.download.refresh()

    def tail_bytes(self, limit: int) -> int:
        """The file's bytes in its last piece (at least 16 KiB, at most `limit`): an index at the end
        of the film then costs one piece, not two."""
        dl = self.download
        if not self.size or not dl.piece_size:
            return min(self.size, limit)
        last_piece_start = dl.piece_range(self.file, self.size - 1, 1).start * dl.piece_size
        in_last = self._file_start + self.size - last_piece_start
        return min(self.size, limit, max(16 * 1024, in_last))

    # --- reading ------------------------------------------------------------------------------
    async def read(self, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (fewer only at the end of the file), waiting for the pieces."""
        if self._closed:
            raise ValueError("read from a closed TorrentReader")
        if offset < 0 or length < 0:
            raise ValueError("offset and length must not be negative")
        if offset >= self.size or length == 0:
            return b""
        length = min(length, self.size - offset)
        dl = self.download
        if length > dl.piece_size:
            self._ahead = self.readahead_pieces  # a long read: it wants what lies ahead
        elif offset == self._next:
            self._ahead = min(self.readahead_pieces, self._ahead * 2)  # reading on: look further ahead
        elif self._next is not None:
            self._ahead = 1  # a jump (a probe looking for an index): no readahead until reads follow
        if self._span is not None and offset >= self._span[1]:
            self._ahead = 1  # past the announced bytes: whatever more is read, one piece at a time
        self._next = offset + length
        self._position = offset
        dl.refresh()
        pieces = dl.piece_range(self.file, offset, length)
        timeout = dl.engine.read_timeout
        for piece in pieces:
            if not dl.has(piece):
                # A long read moves the window along with it, or the pieces past it would never come.
                self._position = max(offset, piece * dl.piece_size - self._file_start)
                dl.refresh()
                await dl.wait_piece(piece, timeout)
            if self._closed:
                raise ValueError("read from a closed TorrentReader")
        if dl.flushed:
            data = await asyncio.to_thread(_pread, self.path, offset, length)
        else:
            start = self._file_start + offset
            end = start + length
            parts = []
            for piece in pieces:
                buf = await dl.piece_bytes(piece)
                base = piece * dl.piece_size
                parts.append(buf[max(0, start - base) : min(len(buf), end - base)])
            data = b"".join(parts)
        self._position = offset + len(data)
        dl.refresh()
        return data

    def open_sync(self, loop: asyncio.AbstractEventLoop, timeout: float | None = None) -> SyncReader:
        """A blocking file object for a worker thread (PyAV); never use it on the loop's thread."""
        return SyncReader(self, loop, timeout)

    # --- closing ------------------------------------------------------------------------------
    def close(self) -> None:
        """Releases this reader's deadlines; the download carries on for the other readers."""
        if self._closed:
            return
        self._closed = True
        self.download.engine.release(self)

    def detach(self) -> None:
        self._closed = True
        self.download.readers.discard(self)

    @property
    def closed(self) -> bool:
        return self._closed

    async def __aenter__(self) -> TorrentReader:
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()


def _pread(path: Path, offset: int, length: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, length, offset)
    finally:
        os.close(fd)


class SyncReader(io.RawIOBase):
    """File object over a TorrentReader whose reads block on the event loop (for PyAV in a thread)."""

    def __init__(self, reader: TorrentReader, loop: asyncio.AbstractEventLoop, timeout: float | None = None):
        super().__init__()
        self._reader = reader
        self._loop = loop
        self._timeout = timeout
        self._pos = 0
        self.name = reader.name

    @property
    def size(self) -> int:
        return self._reader.size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == 0x10000:  # AVSEEK_SIZE: FFmpeg asking for the size
            return self._reader.size
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._reader.size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if pos < 0:
            raise OSError("negative seek position")
        self._pos = pos
        return pos

    def _fetch(self, n: int) -> bytes:
        if self.closed:
            raise ValueError("I/O on a closed file")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            raise RuntimeError("SyncReader used on the event loop's thread: it would wait for itself")
        future = asyncio.run_coroutine_threadsafe(self._reader.read(self._pos, n), self._loop)
        try:
            data = future.result(self._timeout)
        except TorrentError as exc:
            raise OSError(exc.message) from exc
        except TimeoutError as exc:
            future.cancel()
            raise OSError("timed out waiting for the film's data") from exc
        self._pos += len(data)
        return data

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._fetch(len(view))
        view[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = max(0, self._reader.size - self._pos)
        return self._fetch(size)

    def readall(self) -> bytes:
        return self.read(-1)
