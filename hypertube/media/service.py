"""Converted playback for the app: probes films, cuts and caches HLS segments (PyAV in a small thread pool),
finds subtitles; on disk under `$DATA_DIR/hls/<movie>/<copy>/` (`<copy>`: the info hash of the torrent
copy played; a film played from a file on disk has no such level): `info.json`, `<n>.ts`,
`subs/<lang>.vtt`. A film with several copies (720p, 1080p) keeps each copy's probe and segments apart."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import os
import shutil
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from hypertube.background import BackgroundTasks
from hypertube.media import convert, segments
from hypertube.media.convert import MediaError, MediaInfo
from hypertube.media.reader import FilmReader, LocalFileReader
from hypertube.media.subtitles import (
    IMAGE_SUBTITLE_EXTENSIONS,
    MAX_SUBTITLE_BYTES,
    SUBTITLE_EXTENSIONS,
    convert_to_vtt,
    extract_track,
)

log = logging.getLogger(__name__)

WORKERS = 2  # PyAV threads: the machine's cores are shared with the torrent engine and the web server
TAIL_PREFETCH = 256 * 1024  # at most: a torrent's reader reads just its last piece's share of the file
READ_TIMEOUT_S = 90.0  # longer than the engine's own wait for a piece, so its clearer error wins
CLOSE_WAIT_S = 5.0  # on close, PyAV jobs still running get this long to end before the loop may close


class NoFilm(LookupError):
    """No torrent or file is known for this film."""


class WaitingForPeers(TimeoutError):
    """The bytes needed did not arrive in time (no peer has them right now)."""


EngineGetter = Callable[[], Any]


@dataclass(frozen=True)
class SubtitleFile:
    name: str
    size: int
    path: Path | None = None  # on disk
    index: int | None = None  # or a file of the film's torrent


class MediaService:
    """One per app: opens readers, runs PyAV jobs in its pool, caches probes, segments and subtitles."""

    def __init__(self, cache_dir: Path, engine: EngineGetter | None = None, workers: int = WORKERS):
        self.cache_dir = cache_dir
        self._engine = engine  # the torrent engine (app[TORRENTS]) when there is one
        self._files: dict[int, Path] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="media")
        self._limit = asyncio.Semaphore(workers)
        self._infos: dict[int, MediaInfo] = {}  # the probe of the copy each film last played from
        self._copy_infos: dict[tuple[int, str], MediaInfo] = {}  # every copy's probe: (film, info hash)
        self._jobs: dict[tuple[int, Any], asyncio.Future[Any]] = {}
        self._running: dict[asyncio.Future[Any], FilmReader] = {}  # PyAV jobs in the pool, and their film
        self._background = BackgroundTasks()  # segments cut ahead, and jobs whose callers went away
        self.timeout = READ_TIMEOUT_S

    # --- films -------------------------------------------------------------------------------------
    def register_file(self, movie_id: int, path: str | Path) -> None:
        """Plays `movie_id` from a finished file on disk instead of asking the torrent engine."""
        self._files[movie_id] = Path(path)
        self._infos.pop(movie_id, None)

    def is_local(self, movie_id: int) -> bool:
        return movie_id in self._files

    def known_duration(self, movie_id: int) -> float | None:
        """The film's length in seconds if it was probed already (never starts a probe)."""
        info = self._infos.get(movie_id)
        return info.duration if info is not None else None

    async def open_reader(self, movie_id: int, copy: str = "") -> FilmReader:
        """A reader of the film: its file on disk, or its torrent's main file in copy `copy` (an info
        hash), else in the copy the engine plays it from."""
        path = self._files.get(movie_id)
        if path is not None:
            if not path.is_file():
                raise NoFilm("The film's file is missing.")
            return LocalFileReader(path)
        engine = self._engine() if self._engine else None
        if engine is None:
            raise NoFilm("No torrent is known for this film.")
        if copy:
            return await engine.open_reader(movie_id, copy=copy)
        return await engine.open_reader(movie_id)

    def current_copy(self, movie_id: int) -> str | None:
        """The copy the film plays from now: an info hash, "" for a file on disk, None when not known."""
        if movie_id in self._files:
            return ""
        engine = self._engine() if self._engine else None
        current = getattr(engine, "current_copy", None)
        return current(movie_id) if current is not None else None

    def movie_dir(self, movie_id: int, copy: str | None = None) -> Path:
        """The film's cache folder for copy `copy` (None: the copy of its cached probe, else the one it
        plays from now)."""
        if copy is None:
            cached = self._infos.get(movie_id)
            copy = cached.copy if cached is not None else self.current_copy(movie_id) or ""
        root = self.cache_dir / str(int(movie_id))
        return root / copy if copy else root

    async def _blocking(self, reader: FilmReader, job: Callable[[Callable[[], Any]], Any]) -> Any:
        """Runs `job(opener)` in the pool; the opener gives PyAV a blocking view of the reader."""
        loop = asyncio.get_running_loop()
        opened: list[Any] = []

        def opener() -> Any:
            raw = reader.open_sync(loop)
            opened.append(raw)
            return raw

        def run() -> Any:
            try:
                return job(opener)
            finally:
                for raw in opened:
                    try:
                        raw.close()
                    except Exception:  # closing must never hide the job's own result or error
                        log.debug("closing a film view failed", exc_info=True)

        async with self._limit:
            fut = loop.run_in_executor(self._pool, run)
            self._running[fut] = reader
            fut.add_done_callback(lambda f: self._running.pop(f, None))
            # When the waiter goes away (timeout, client gone, shutdown) the thread's error is expected.
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())
            try:
                return await asyncio.wait_for(asyncio.shield(fut), self.timeout)
            except TimeoutError as exc:
                reader.close()  # wakes a read that waits for pieces, so the thread ends
                raise WaitingForPeers("The film's data did not arrive in time: waiting for peers.") from exc

    def background(self, job: Awaitable[Any]) -> None:
        """Runs `job` in the background: kept, logged and cancelled when the service closes."""
        self._background.start(job)

    async def once(self, key: tuple[int, Any], make: Callable[[], Awaitable[Any]]) -> Any:
        """Runs `make()` once for concurrent callers asking for the same `key` (movie id, what); it
        runs on when its callers go away."""
        return await self._once(key, make)

    async def _once(self, key: tuple[int, Any], make: Callable[[], Awaitable[Any]]) -> Any:
        """Runs `make` once for concurrent callers asking for the same thing."""
        fut = self._jobs.get(key)
        if fut is None:
            fut = self._background.start(make())
            self._jobs[key] = fut
            fut.add_done_callback(lambda _f: self._jobs.pop(key, None))
        return await asyncio.shield(fut)

    # --- probe -------------------------------------------------------------------------------------
    async def info(self, movie_id: int, copy: str | None = None) -> MediaInfo:
        """The film's probe, in copy `copy` (an info hash of one of its running torrents), else in the
        copy it plays from (probed again when the engine changed copy)."""
        if copy and movie_id not in self._files:
            found = self._copy_infos.get((movie_id, copy))
            if found is not None:
                return found
            return await self._once((movie_id, ("info", copy)), lambda: self._probe(movie_id, copy))
        cached = self._infos.get(movie_id)
        current = self.current_copy(movie_id)
        if cached is not None and (current is None or current == cached.copy):
            return cached
        return await self._once((movie_id, ("info", current)), lambda: self._probe(movie_id))

    async def _probe(self, movie_id: int, wanted: str = "") -> MediaInfo:
        reader = await self.open_reader(movie_id, wanted)
        copy = "" if movie_id in self._files else str(getattr(reader, "info_hash", "") or "")
        try:
            path = self.movie_dir(movie_id, copy) / "info.json"
            ident = {"name": reader.name, "size": reader.size, "probe": convert.PROBE_VERSION}
            stored = await asyncio.to_thread(_read_json, path)
            if stored and stored.get("film") == ident:
                info = MediaInfo.from_json(stored["info"])
            else:
                # Matroska Cues, AVI idx1 and a late MP4 moov sit at the end: ask for the tail first, so
                # that the download starts there instead of behind the head's readahead window.
                tail = min(reader.size, reader.tail_bytes(TAIL_PREFETCH))
                await asyncio.wait_for(reader.read(reader.size - tail, tail), self.timeout)
                info = await self._blocking(reader, convert.probe)
                await asyncio.to_thread(_write_json, path, {"film": ident, "info": info.to_json()})
        finally:
            reader.close()
        info = dataclasses.replace(info, copy=copy)
        if copy:
            self._copy_infos[(movie_id, copy)] = info
        if not wanted or wanted == self.current_copy(movie_id):
            self._infos[movie_id] = info
        engine = None if movie_id in self._files else self._engine() if self._engine else None
        note = getattr(engine, "note_duration", None)
        if note is not None:
            note(movie_id, info.duration)  # the copies' bitrates follow from it
        return info

    # --- segments ----------------------------------------------------------------------------------
    def segment_path(
        self, movie_id: int, index: int, audio: int | None = None, copy: str | None = None
    ) -> Path:
        """`<n>.ts` with the film's default audio track, `<n>.a<stream>.ts` with another one, in copy
        `copy`'s folder (None: the cached probe's copy)."""
        suffix = "" if audio is None else f".a{int(audio)}"
        return self.movie_dir(movie_id, copy) / f"{int(index)}{suffix}.ts"

    async def segment(
        self,
        movie_id: int,
        index: int,
        *,
        audio: int | None = None,
        prefetch: int = 1,
        copy: str | None = None,
    ) -> Path:
        """The segment's file, cut now if it is not cached yet; the next one is cut in the background.
        `audio` is the stream index of the audio track to hear (None or the default: the default);
        `copy` the film's copy (an info hash; None: the one it plays from)."""
        info = await self.info(movie_id, copy)
        if not 0 <= index < len(info.segments):
            raise IndexError(index)
        if audio is not None and info.audio_track(audio) is None:
            raise IndexError(audio)
        audio = None if audio == info.audio_index else audio
        path = await self._segment(movie_id, info, index, audio)
        for nxt in range(index + 1, min(index + 1 + prefetch, len(info.segments))):
            if (
                not self.segment_path(movie_id, nxt, audio, info.copy).exists()
                and (movie_id, (nxt, audio, info.copy)) not in self._jobs
            ):
                self._background.start(self._prefetch(movie_id, info, nxt, audio))
        return path

    async def _prefetch(self, movie_id: int, info: MediaInfo, index: int, audio: int | None) -> None:
        try:
            await self._segment(movie_id, info, index, audio)
        except (MediaError, WaitingForPeers, NoFilm) as exc:
            log.info("segment %s of film %s not prepared ahead: %s", index, movie_id, exc)

    async def _segment(self, movie_id: int, info: MediaInfo, index: int, audio: int | None) -> Path:
        path = self.segment_path(movie_id, index, audio, info.copy)
        if path.exists():
            return path
        return await self.cut_once(
            movie_id,
            index,
            path,
            info,
            lambda opener: segments.make_segment(opener, info, index, audio),
            audio=audio,
        )

    async def cut_once(
        self,
        movie_id: int,
        index: int | tuple[str, int],
        path: Path,
        info: MediaInfo,
        make: Callable[[Any], bytes],
        *,
        audio: int | None = None,
    ) -> Path:
        """Writes the file at `path` from `make(opener)`, run in the pool once however many ask at once
        (`index`: the segment's number, or (rendition, number); `audio`: the audio track's stream index,
        None for the default); the film's bytes for it are asked first, from the copy `info` probed."""
        number = index if isinstance(index, int) else index[1]

        async def cut() -> Path:
            reader = await self.open_reader(movie_id, info.copy)
            try:
                if number < len(info.spans):
                    start, end = info.spans[number]
                    reader.expect(start, reader.size if end < 0 else end)
                data = await self._blocking(reader, make)
            finally:
                reader.close()
            await asyncio.to_thread(_write_bytes, path, data)
            return path

        return await self._once((movie_id, (index, audio, info.copy)), cut)

    # --- subtitles ---------------------------------------------------------------------------------
    def subtitle_path(self, movie_id: int, lang: str) -> Path:
        return self.movie_dir(movie_id) / "subs" / f"{lang}.vtt"

    async def _shipped_files(self, movie_id: int, *, start: bool) -> list[SubtitleFile]:
        """Every file shipped with the film: the files in its folder (played from disk) or the torrent's
        files (`start=False`: only when the engine already has the torrent's metadata, never adding it)."""
        path = self._files.get(movie_id)
        if path is not None:
            folder = path.parent

            def scan() -> list[SubtitleFile]:
                if not folder.is_dir():
                    return []
                return [
                    SubtitleFile(p.name, p.stat().st_size, p) for p in sorted(folder.iterdir()) if p.is_file()
                ]

            return await asyncio.to_thread(scan)
        engine = self._engine() if self._engine else None
        if engine is None or not hasattr(engine, "list_files"):
            return []
        files = await engine.list_files(movie_id) if start else engine.known_files(movie_id)
        return [SubtitleFile(str(getattr(f, "path", "")), f.size, None, f.index) for f in files or ()]

    async def sidecar_subtitles(self, movie_id: int, *, start: bool = True) -> dict[str, SubtitleFile]:
        """Text subtitle files shipped with the film, by language guessed from their names (`film.en.srt`)."""
        found: dict[str, SubtitleFile] = {}
        for f in await self._shipped_files(movie_id, start=start):
            if f.name.lower().endswith(SUBTITLE_EXTENSIONS):
                found.setdefault(_language_from_name(Path(f.name).name), f)
        return found

    async def image_sidecars(self, movie_id: int, *, start: bool = True) -> list[tuple[str, str]]:
        """(language, file name) of image subtitles shipped with the film (VobSub `.idx`/`.sub`, PGS `.sup`):
        pictures of text, which are listed but cannot become WebVTT."""
        return [
            (_language_from_name(Path(f.name).name), Path(f.name).name)
            for f in await self._shipped_files(movie_id, start=start)
            if f.name.lower().endswith(IMAGE_SUBTITLE_EXTENSIONS) and not f.name.lower().endswith(".idx")
        ]

    async def load_subtitle_file(self, movie_id: int, sub: SubtitleFile) -> str:
        """The file's text as WebVTT (read from disk or through the torrent, at most 5 MB)."""
        if sub.path is not None:
            data = await asyncio.to_thread(_read_limited, sub.path)
        else:
            engine = self._engine() if self._engine else None
            if engine is None:
                raise NoFilm("No torrent is known for this film.")
            reader = await engine.open_reader(movie_id, sub.index)
            try:
                data = await reader.read(0, min(reader.size, MAX_SUBTITLE_BYTES))
            finally:
                reader.close()
        return await asyncio.to_thread(convert_to_vtt, data, sub.name)

    async def embedded_vtt(self, movie_id: int, lang: str) -> str | None:
        info = await self.info(movie_id)
        track = next((t for t in info.subtitles if t.language == lang), None)
        if track is None:
            return None
        reader = await self.open_reader(movie_id, info.copy)
        try:
            return await self._blocking(reader, lambda opener: extract_track(opener(), track.index))
        finally:
            reader.close()

    async def empty_subtitles(self, movie_id: int) -> set[str]:
        """Languages already converted to a WebVTT without a single cue (image tracks, broken files)."""
        folder = self.movie_dir(movie_id) / "subs"

        def scan() -> set[str]:
            if not folder.is_dir():
                return set()
            return {p.stem for p in folder.glob("*.vtt") if "-->" not in p.read_text(encoding="utf-8")}

        return await asyncio.to_thread(scan)

    async def cached_vtt(
        self, movie_id: int, lang: str, make: Callable[[], Awaitable[str | None]]
    ) -> str | None:
        path = self.subtitle_path(movie_id, lang)
        if path.exists():
            return await asyncio.to_thread(path.read_text, encoding="utf-8")

        async def build() -> str | None:
            text = await make()
            if text is not None:
                await asyncio.to_thread(_write_bytes, path, text.encode())
            return text

        return await self._once((movie_id, ("vtt", lang)), build)

    # --- lifecycle ---------------------------------------------------------------------------------
    async def close(self) -> None:
        """Cancels the background work, then ends the PyAV jobs still in the pool: their films' readers
        are closed (a read waiting for pieces fails at once) and they get `CLOSE_WAIT_S` seconds to end.
        A thread still busy after that can no longer hand its result to the loop, which may be closed
        by then."""
        await self._background.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        running = dict(self._running)
        for reader in running.values():
            reader.close()
        if running:
            await asyncio.wait(list(running), timeout=CLOSE_WAIT_S)
        for fut in running:
            fut.cancel()

    def forget(self, movie_id: int) -> None:
        """Drops a film's converted files (when the torrent area deletes the download)."""
        self._infos.pop(movie_id, None)
        for key in [k for k in self._copy_infos if k[0] == movie_id]:
            del self._copy_infos[key]
        shutil.rmtree(self.cache_dir / str(int(movie_id)), ignore_errors=True)  # every copy


LANGUAGE_WORDS = {
    "english": "en", "eng": "en", "french": "fr", "fre": "fr", "fra": "fr", "francais": "fr",
    "spanish": "es", "spa": "es", "german": "de", "ger": "de", "deu": "de", "italian": "it", "ita": "it",
    "portuguese": "pt", "por": "pt",
}  # fmt: skip


def _language_from_name(name: str) -> str:
    parts = [p.lower() for p in name.rsplit(".", 1)[0].replace("_", ".").replace("-", ".").split(".")]
    for part in reversed(parts[1:] if len(parts) > 1 else parts):
        if len(part) == 2 and part.isalpha():
            return part
        if part in LANGUAGE_WORDS:
            return LANGUAGE_WORDS[part]
    return "en"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _write_json(path: Path, value: Any) -> None:
    _write_bytes(path, orjson.dumps(value))


def _read_limited(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(MAX_SUBTITLE_BYTES)


async def maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
