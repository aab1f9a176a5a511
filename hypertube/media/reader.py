"""Readers of a film's bytes: the interface the converter needs, and one over a finished file on disk."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path
from typing import Protocol


class FilmReader(Protocol):
    """What the converter needs from a film: its size and name, async reads, and a blocking view for PyAV."""

    size: int
    name: str
    path: Path

    async def read(self, offset: int, length: int) -> bytes: ...

    def expect(self, start: int, end: int) -> None:
        """Bytes [start, end) will be read next, in order (a hint: fetch them ahead)."""

    def tail_bytes(self, limit: int) -> int:
        """How many bytes at the end of the film are cheap to fetch together (at most `limit`)."""

    def open_sync(self, loop: asyncio.AbstractEventLoop) -> io.RawIOBase: ...

    def close(self) -> None: ...


class CountingFile(io.RawIOBase):
    """A seekable read-only view of a file that counts the bytes it hands out (to prove partial reads)."""

    def __init__(self, path: Path, counter: list[int] | None = None):
        self._fh = open(path, "rb", buffering=0)  # noqa: SIM115 (closed in close())
        self.counter = counter if counter is not None else [0]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self._fh.readinto(b) or 0
        self.counter[0] += n
        return n

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def close(self) -> None:
        self._fh.close()
        super().close()


class LocalFileReader:
    """A film that is already complete on disk, with the same interface as the torrent engine's reader."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.name = self.path.name
        self.size = self.path.stat().st_size
        self.bytes_read = [0]  # every byte handed out, async or blocking

    async def read(self, offset: int, length: int) -> bytes:
        def _read() -> bytes:
            with open(self.path, "rb") as fh:
                fh.seek(offset)
                return fh.read(length)

        data = await asyncio.to_thread(_read)
        self.bytes_read[0] += len(data)
        return data

    def open_sync(self, loop: asyncio.AbstractEventLoop | None = None) -> io.RawIOBase:
        return CountingFile(self.path, self.bytes_read)

    def expect(self, start: int, end: int) -> None:
        pass  # on disk already

    def tail_bytes(self, limit: int) -> int:
        return min(self.size, limit)

    def close(self) -> None:
        pass
