"""Closing the media service stops the work it started in the background, including shared jobs
whose callers went away."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from pathlib import Path

from hypertube.media.reader import LocalFileReader
from hypertube.media.service import MediaService
from hypertube.torrent.reader import SyncReader


async def test_close_cancels_shared_jobs_left_by_their_callers(tmp_path):
    service = MediaService(tmp_path)
    started = asyncio.Event()
    ended: list[str] = []

    async def endless() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            ended.append("cancelled")

    caller = asyncio.create_task(service._once((1, "job"), endless))
    await started.wait()
    caller.cancel()  # the request went away; the shared job goes on for other callers
    await asyncio.gather(caller, return_exceptions=True)
    assert ended == []
    await service.close()
    assert ended == ["cancelled"]


class BusyDecoder(io.RawIOBase):
    """PyAV's view of a film as the engine gives it (`SyncReader`: each read asks the event loop), with
    the decoder busy for `BUSY_S` before each read; notes the reads made once the loop had closed."""

    BUSY_S = 0.1

    def __init__(self, view: SyncReader, loop: asyncio.AbstractEventLoop, film: SwarmFilm):
        super().__init__()
        self.view, self.loop, self.film = view, loop, film

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.view.seek(offset, whence)

    def tell(self) -> int:
        return self.view.tell()

    def readinto(self, buffer) -> int:
        self.film.decoding.set()
        time.sleep(self.BUSY_S)
        if self.loop.is_closed():
            self.film.late_reads.append(len(buffer))
        return self.view.readinto(buffer)


class SwarmFilm(LocalFileReader):
    """A film read the way a torrent's is: async reads on the event loop, which fail once closed."""

    def __init__(self, path: Path, decoding: threading.Event, late_reads: list[int]):
        super().__init__(path)
        self.decoding, self.late_reads = decoding, late_reads
        self.closed = False

    async def read(self, offset: int, length: int) -> bytes:
        if self.closed:
            raise ValueError("read from a closed reader")
        return await super().read(offset, length)

    def open_sync(self, loop=None) -> BusyDecoder:
        return BusyDecoder(SyncReader(self, loop), loop, self)  # type: ignore[arg-type]

    def close(self) -> None:
        self.closed = True


class OneFilmEngine:
    """Stands for the torrent engine: film 1 is the given file."""

    def __init__(self, path: Path):
        self.path = path
        self.decoding = threading.Event()  # PyAV has the film
        self.late_reads: list[int] = []

    async def open_reader(self, movie_id: int) -> SwarmFilm:
        return SwarmFilm(self.path, self.decoding, self.late_reads)


def test_a_pyav_job_running_at_close_ends_before_the_event_loop_does(tmp_path, films):
    """The app's loop closes right after its shutdown: a PyAV job still running in the pool then would
    ask a closed loop for the film's bytes (and PyAV would print the "Event loop is closed" errors)."""
    engine = OneFilmEngine(films["mkv-hevc-aac"])

    async def serve_then_stop() -> None:
        service = MediaService(tmp_path / "hls", lambda: engine)
        probe = asyncio.create_task(service.info(1))
        assert await asyncio.to_thread(engine.decoding.wait, 10), "PyAV started on the film"
        probe.cancel()  # the viewer went away; the shared probe runs on in the background
        await asyncio.gather(probe, return_exceptions=True)
        await service.close()

    asyncio.run(serve_then_stop())
    for thread in threading.enumerate():
        if thread.name.startswith("media"):
            thread.join(10)
    assert engine.late_reads == []
