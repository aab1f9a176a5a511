"""`serve --demo`: generated films made into torrents, seeded on loopback and announced to a loopback
tracker, listed in a manifest.

The catalog's demo source reads `$DATA_DIR/demo/manifest.json`. Everything is cached on disk: films
and torrents already made are reused after a restart. Generation runs in a worker thread."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import orjson

from hypertube.torrent.seeder import PIECE_SIZE, Seeder, magnet_for, make_torrent
from hypertube.torrent.tracker import Announce, Tracker, TrackerServer

log = logging.getLogger(__name__)
SEEDER_ANNOUNCED_S = 5.0  # the films are listed once the seeder has announced them, or after this long


class DemoFilmLike(Protocol):
    slug: str
    title: str
    directory: Path
    video: Path


# Catalogue details for the generated films, by the generator's slug; ids are what the catalog keeps.
DETAILS: dict[str, dict[str, Any]] = {
    "big-buck-pattern": {
        "id": "demo-mp4",
        "year": 2024,
        "genres": ["Animation", "Documentary"],
        "summary": "A moving test pattern and a steady tone, in MP4 (H.264 and AAC): plays directly in the browser.",
        "rating": 7.2,
        "director": "Hypertube Test Studio",
        "cast": ["The Pattern", "The Tone"],
    },
    "sintel-bars": {
        "id": "demo-mkv",
        "year": 2023,
        "genres": ["Drama"],
        "summary": "Colour bars in Matroska with AC3 sound and subtitle tracks: remuxed on the fly, the sound converted.",
        "rating": 6.8,
        "director": "Hypertube Test Studio",
        "cast": ["Bars", "Subtitles"],
    },
    "tears-of-hevc": {
        "id": "demo-hevc",
        "year": 2022,
        "genres": ["Science Fiction"],
        "summary": "An HEVC film in Matroska: transcoded to H.264 while it plays.",
        "rating": 6.5,
        "director": "Hypertube Test Studio",
        "cast": ["The Encoder"],
    },
    "elephants-avi": {
        "id": "demo-avi",
        "year": 2021,
        "genres": ["Comedy"],
        "summary": "An AVI with MPEG-4 Part 2 video and a SubRip file beside it in the torrent.",
        "rating": 6.1,
        "director": "Hypertube Test Studio",
        "cast": ["An Elephant"],
    },
}


def _probe(video: Path) -> tuple[int, str | None]:
    """Runtime in minutes and a quality label from the video's height."""
    import av

    try:
        with av.open(str(video)) as container:
            seconds = float(container.duration or 0) / 1_000_000
            stream = container.streams.video[0] if container.streams.video else None
            quality = f"{stream.codec_context.height}p" if stream is not None else None
    except (av.FFmpegError, OSError):
        return 0, None
    return max(1, round(seconds / 60)), quality


def build_demo(folder: Path, generate: Callable[[Path], list[Any]]) -> list[dict[str, Any]]:
    """Generates (or reuses) the films and their .torrent files; returns manifest entries without
    magnets. Blocking: run it in a thread."""
    films: list[DemoFilmLike] = generate(folder / "films")
    entries = []
    for film in films:
        torrent = folder / "torrents" / f"{film.slug}.torrent"
        if torrent.exists():
            import libtorrent as lt

            info_hash = str(lt.torrent_info(str(torrent)).info_hashes().v1)
        else:
            info_hash = make_torrent(film.directory, torrent, piece_size=PIECE_SIZE)
        runtime, quality = _probe(film.video)
        size = sum(p.stat().st_size for p in film.directory.rglob("*") if p.is_file())
        details = DETAILS.get(film.slug, {})
        entries.append(
            {
                "id": details.get("id", f"demo-{film.slug}"),
                "title": film.title,
                "year": details.get("year", 2024),
                "runtime": runtime,
                "genres": details.get("genres", ["Demo"]),
                "summary": details.get("summary", "A generated demo film."),
                "rating": details.get("rating", 6.0),
                "director": details.get("director", "Hypertube Test Studio"),
                "cast": details.get("cast", []),
                "quality": quality,
                "size": size,
                "info_hash": info_hash,
                "magnet": None,
                "cover_url": None,
                "_torrent": str(torrent),
                "_save_path": str(film.directory.parent),
                "_name": film.directory.name,
            }
        )
    return entries


def _write_manifest(path: Path, entries: list[dict[str, Any]]) -> None:
    public = [{k: v for k, v in e.items() if not k.startswith("_")} for e in entries]
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(public, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)


def _saved_port(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return 0


class DemoSwarm:
    """The demo films' seeder, the tracker they announce to (on 127.0.0.1) and the manifest."""

    def __init__(self, data_dir: Path, generate: Callable[[Path], list[Any]]):
        self.folder = data_dir / "demo"
        self.generate = generate
        self.seeder: Seeder | None = None
        self.tracker: TrackerServer | None = None
        self.entries: list[dict[str, Any]] = []

    @property
    def manifest(self) -> Path:
        return self.folder / "manifest.json"

    @property
    def tracker_url(self) -> str | None:
        """The announce URL of the demo tracker, once started."""
        return self.tracker.url if self.tracker is not None else None

    async def start(self) -> list[dict[str, Any]]:
        """Builds what is missing (in a thread), starts the tracker and the seeder, waits (at most
        `SEEDER_ANNOUNCED_S`) until the seeder has announced every film, and writes the manifest."""
        await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)
        entries = await asyncio.to_thread(build_demo, self.folder, self.generate)
        hashes = frozenset(bytes.fromhex(e["info_hash"]) for e in entries)
        tracker = self.tracker = TrackerServer(Tracker(torrents=hashes))
        tracker_port_file = self.folder / "tracker_port"
        # Last time's ports keep the magnets already stored in the catalog and the trackers in the
        # engine's resume data valid; when one is taken now, any free one.
        try:
            await tracker.start("127.0.0.1", await asyncio.to_thread(_saved_port, tracker_port_file))
        except OSError:
            await tracker.start("127.0.0.1", 0)
        port_file = self.folder / "seeder_port"
        seeder = Seeder(port=await asyncio.to_thread(_saved_port, port_file))
        seeder.start()
        if not seeder.port:  # last time's port is taken now: any free one
            seeder.stop()
            seeder = Seeder(port=0)
            seeder.start()
        self.seeder = seeder
        # The demo's own seeder stays in every peer list, however many other peers announce.
        tracker.tracker.pinned = frozenset({("127.0.0.1", seeder.port)})
        announced = asyncio.Event()

        def seen(announce: Announce) -> None:
            if hashes <= {h for h, swarm in tracker.tracker.swarms.items() if swarm}:
                announced.set()

        tracker.tracker.on_announce = seen
        for entry in entries:
            seeder.add(Path(entry["_torrent"]), Path(entry["_save_path"]), (tracker.url,))
            entry["magnet"] = magnet_for(entry["info_hash"], entry["_name"], trackers=(tracker.url,))
        try:
            await asyncio.wait_for(announced.wait(), SEEDER_ANNOUNCED_S)
        except TimeoutError:
            log.warning("demo: the seeder did not announce every film within %.0f s", SEEDER_ANNOUNCED_S)
        tracker.tracker.on_announce = None
        await asyncio.to_thread(port_file.write_text, str(seeder.port))
        await asyncio.to_thread(tracker_port_file.write_text, str(tracker.port))
        await asyncio.to_thread(_write_manifest, self.manifest, entries)
        self.entries = entries
        log.info("demo: %d films seeded on 127.0.0.1:%d, tracker %s", len(entries), seeder.port, tracker.url)
        return entries

    async def stop(self) -> None:
        if self.seeder is not None:
            self.seeder.stop()
            self.seeder = None
        if self.tracker is not None:
            await self.tracker.close()
            self.tracker = None


def default_generator(folder: Path) -> list[Any]:
    from hypertube.media.generate import generate_demo_films

    return generate_demo_films(folder)
