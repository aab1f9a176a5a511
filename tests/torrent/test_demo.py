"""The demo swarm: films made into torrents, seeded on loopback, listed in the manifest; cached on disk."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import orjson

from hypertube.keys import TORRENTS
from hypertube.torrent.demo import DemoSwarm
from tests.fixtures.torrent import wait_until

KEYS = {"id", "title", "year", "runtime", "genres", "summary", "rating", "director", "cast", "quality", "size",
        "info_hash", "magnet", "cover_url"}  # fmt: skip


@dataclass
class Film:
    slug: str
    title: str
    directory: Path
    video: Path


def small_generator(source: Path):
    calls = []

    def generate(folder: Path) -> list[Film]:
        calls.append(folder)
        films = []
        for slug, name in (("big-buck-pattern", "film.mp4"), ("elephants-avi", "film.mp4")):
            directory = folder / slug
            directory.mkdir(parents=True, exist_ok=True)
            if not (directory / name).exists():
                shutil.copy(source, directory / name)
            if slug == "elephants-avi":
                (directory / "film.fr.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nBonjour\n")
            films.append(Film(slug, slug.replace("-", " ").title(), directory, directory / name))
        return films

    return generate, calls


async def test_demo_swarm_seeds_films_listed_in_the_manifest(
    aiohttp_client, make_app, add_film, generated_films, settings
):
    generate, _ = small_generator(generated_films["mp4"])
    swarm = DemoSwarm(settings.data_dir, generate)
    try:
        entries = await swarm.start()
        manifest = orjson.loads(swarm.manifest.read_bytes())
        assert [e["id"] for e in manifest] == ["demo-mp4", "demo-avi"]
        for entry in manifest:
            assert set(entry) == KEYS
            assert entry["cover_url"] is None and entry["quality"] == "240p"
            assert "x.pe" not in entry["magnet"]  # its peer comes from the tracker the magnet names
            assert f"tr={quote(swarm.tracker_url, safe='')}" in entry["magnet"]
            assert entry["info_hash"] in entry["magnet"]
        avi = manifest[1]
        assert avi["size"] == generated_films["mp4"].stat().st_size + len(
            "1\n00:00:01,000 --> 00:00:02,000\nBonjour\n"
        )

        movie_id = await add_film(magnet=avi["magnet"], info_hash=avi["info_hash"])
        client = await aiohttp_client(make_app())
        engine = client.app[TORRENTS]
        async with await engine.open_reader(movie_id) as reader:
            assert await reader.read(0, reader.size) == generated_films["mp4"].read_bytes()
        assert sorted(f.kind for f in await engine.list_files(movie_id)) == ["subtitle", "video"]

        # The other film as another node stored it: a magnet naming no tracker. Its torrent is already
        # running (the page was opened) when the engine is given the demo tracker, and finds the seeder.
        mp4 = manifest[0]
        other = await add_film(magnet=f"magnet:?xt=urn:btih:{mp4['info_hash']}", info_hash=mp4["info_hash"])
        engine.warm(other)
        await wait_until(lambda: mp4["info_hash"] in engine.downloads)
        engine.add_tracker(swarm.tracker_url)
        async with await engine.open_reader(other) as reader:
            assert await reader.read(0, 1024) == generated_films["mp4"].read_bytes()[:1024]
        torrent = Path(entries[0]["_torrent"])
        made_at = torrent.stat().st_mtime_ns  # noqa: ASYNC240
        port, tracker_port = swarm.seeder.port, swarm.tracker.port
        # The demo's seeder is pinned: no flood of announces can push it out of the peer lists.
        assert swarm.tracker.tracker.pinned == {("127.0.0.1", port)}
    finally:
        await swarm.stop()

    again = DemoSwarm(settings.data_dir, generate)
    try:
        await again.start()
        assert torrent.stat().st_mtime_ns == made_at  # cached, not made again  # noqa: ASYNC240
        # The same ports: magnets already in the catalog and trackers in resume data stay valid.
        assert (again.seeder.port, again.tracker.port) == (port, tracker_port)
    finally:
        await again.stop()
