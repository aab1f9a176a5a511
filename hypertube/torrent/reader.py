"""Random access to one file of a downloading torrent: async reads that wait for pieces, and a
blocking file object over them for PyAV in a worker thread."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Protocol

from hypertube.torrent.errors import TorrentError
from hypertube.torrent.files import TorrentFile
from hypertube.torrent.window import PieceWindow


class PieceSource(Protocol):
    """What a reader needs from the download under it: pieces, their bytes, and a say in which
    pieces come next (the download asks each of its readers for `wanted_pieces`)."""

    info_hash: str
    movie_id: int
    save_path: Path
    piece_size: int

    @property
    def read_timeout(self) -> float: ...

    def file_start(self, file: TorrentFile) -> int: ...

    def has(self, piece: int) -> bool: ...

    def on_disk(self, file: TorrentFile) -> bool: ...

    async def wait_piece(self, piece: int, limit: float) -> None: ...

    async def piece_bytes(self, piece: int) -> bytes: ...

    def refresh(self) -> None: ...

    def release(self, reader: TorrentReader, *, refresh: bool = True) -> None: ...


class TorrentReader:
    """Async random access to `file` of a download; several readers may share one download."""

    def __init__(self, download: PieceSource, file: TorrentFile):
        self.download = download
        self.file = file
        self.size = file.size
        self.name = file.name
        self.file_index = file.index
        self.path: Path = download.save_path / file.path
        self.info_hash = download.info_hash
        self.movie_id = download.movie_id
        self._file_start = download.file_start(file)
        self._closed = False
        self.window = PieceWindow(self._file_start, self.size, download.piece_size, self.name)

    @property
    def readahead_pieces(self) -> int:
        return self.window.readahead_pieces

    # --- what to fetch ------------------------------------------------------------------------
    def wanted_pieces(self) -> list[tuple[int, int]]:
        """(piece, urgency order) for the read window and the early head/tail pieces."""
        if self._closed:
            return []
        return self.window.wanted(self.download.has)

    def expect(self, start: int, end: int) -> None:
        """Announces that bytes [start, end) will be read in order: their pieces are asked for now,
        with a full readahead window that stops at `end`."""
        self.window.expect(start, end)
        if not self._closed:
            self.download.refresh()

    def tail_bytes(self, limit: int) -> int:
        """The file's bytes in its last piece (at least 16 KiB, at most `limit`): an index at the end
        of the film then costs one piece, not two."""
        return self.window.tail_bytes(limit)

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
        dl, window = self.download, self.window
        window.start_read(offset, length)
        dl.refresh()
        pieces = window.pieces(offset, length)
        await self._wait_pieces(pieces, offset)
        # Always through libtorrent (read_piece): a read straight from the file right after the
        # download finished returned stale bytes now and then, flush request or not.
        start = self._file_start + offset
        end = start + length
        parts = []
        for piece in pieces:
            buf = await dl.piece_bytes(piece)
            base = piece * dl.piece_size
            parts.append(buf[max(0, start - base) : min(len(buf), end - base)])
        data = b"".join(parts)
        window.position = offset + len(data)
        dl.refresh()
        return data

    async def _wait_pieces(self, pieces: range, offset: int) -> None:
        dl = self.download
        timeout = dl.read_timeout
        for piece in pieces:
            if not dl.has(piece):
                # A long read moves the window along with it, or the pieces past it would never come.
                self.window.position = max(offset, self.window.offset_of(piece))
                dl.refresh()
                await dl.wait_piece(piece, timeout)
            if self._closed:
                raise ValueError("read from a closed TorrentReader")

    def on_disk(self) -> bool:
        """Whether the whole file is verified and on disk at `path`, so it can be sent from there."""
        return not self._closed and self.download.on_disk(self.file)

    def open_sync(self, loop: asyncio.AbstractEventLoop, timeout: float | None = None) -> SyncReader:
        """A blocking file object for a worker thread (PyAV); never use it on the loop's thread."""
        return SyncReader(self, loop, timeout)

    # --- closing ------------------------------------------------------------------------------
    def close(self) -> None:
        """Releases this reader's deadlines; the download carries on for the other readers."""
        if self._closed:
            return
        self._closed = True
        self.download.release(self)

    def detach(self) -> None:
        """Closes the reader without touching the download's pieces (the session is going away)."""
        self._closed = True
        self.download.release(self, refresh=False)

    @property
    def closed(self) -> bool:
        return self._closed

    async def __aenter__(self) -> TorrentReader:
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()


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
