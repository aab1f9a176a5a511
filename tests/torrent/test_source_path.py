"""Films reached the way a user reaches them: found by searching the library, their torrent taken from
what the source gives (magnet, `.torrent` file or both), peers from the tracker the torrent names or
from the Archive's web seed. Nothing is written into the database by hand and no magnet carries peers."""

from __future__ import annotations

import shutil

import pytest

from bench.swarm import library_cards
from hypertube.keys import TORRENTS
from hypertube.torrent.sources import TORRENT_FILE_WAIT
from tests.conftest import login_as
from tests.fixtures.torrent import wait_until


async def _signed_in(aiohttp_client, make_app, make_user, swarm, source: str, *, own_tracker: bool = False):
    """A signed-in client; unless `own_tracker`, the engine adds no tracker of its own to torrents, so
    the tracker is known from the `.torrent` file alone."""
    settings = swarm.settings(source)
    if not own_tracker:
        settings["torrent_trackers"] = ()
    client = await aiohttp_client(make_app(**settings))
    login_as(client, await make_user())
    return client


async def _found(client, title: str) -> int:
    resp = await client.get("/", params={"q": title})
    assert resp.status == 200
    return library_cards(await resp.text())[title]


async def _plays(client, movie_id: int, data: bytes) -> None:
    size = len(data)
    for first, last in ((0, 99_999), (int(size * 0.7), size - 1)):
        resp = await client.get(f"/stream/{movie_id}/file", headers={"Range": f"bytes={first}-{last}"})
        assert resp.status == 206, await resp.text()
        assert await resp.read() == data[first : last + 1]


def _archive_item(tmp_path, film, identifier: str):
    """An Archive item: a folder named after it holding the film."""
    folder = tmp_path / "items" / identifier
    folder.mkdir(parents=True)
    shutil.copy(film, folder / f"{identifier}.mp4")
    return folder


@pytest.mark.parametrize("given", ["magnet and .torrent", "magnet only"])
async def test_yts_film_plays_through_its_tracker(
    aiohttp_client, make_app, make_user, source_swarm, generated_films, db, given
):
    film = generated_films["mp4"]
    published = source_swarm.publish_yts(7, "Tracker Film", film, torrent_url=given == "magnet and .torrent")
    magnet_only = given == "magnet only"
    client = await _signed_in(
        aiohttp_client, make_app, make_user, source_swarm, "yts", own_tracker=magnet_only
    )
    movie_id = await _found(client, "Tracker Film")
    row = await db.fetchrow("SELECT magnet, torrent_url FROM torrents WHERE movie_id = $1", movie_id)
    assert "x.pe" not in row["magnet"]
    await _plays(client, movie_id, film.read_bytes())
    fetched = source_swarm.torrent_hits.get(published.info_hash.upper(), 0)
    assert fetched == (1 if given == "magnet and .torrent" else 0)
    # The server found the seeder through the tracker: it announced as a downloader.
    assert any(a.info_hash == published.info_hash and a.left > 0 for a in source_swarm.tracker.announces)


async def test_archive_film_plays_from_its_torrent_file(
    aiohttp_client, make_app, make_user, source_swarm, generated_films, tmp_path
):
    film = generated_films["mp4"]
    item = _archive_item(tmp_path, film, "tracker_film_1926")
    published = source_swarm.publish_archive("tracker_film_1926", "Tracker Film", item)
    client = await _signed_in(aiohttp_client, make_app, make_user, source_swarm, "archive")
    movie_id = await _found(client, "Tracker Film")
    await _plays(client, movie_id, film.read_bytes())
    assert source_swarm.torrent_hits["tracker_film_1926"] == 1
    assert any(a.info_hash == published.info_hash and a.left > 0 for a in source_swarm.tracker.announces)


async def test_archive_film_plays_from_its_web_seed_alone(
    aiohttp_client, make_app, make_user, source_swarm, generated_films, tmp_path
):
    film = generated_films["mp4"]
    item = _archive_item(tmp_path, film, "web_seeded_1926")
    source_swarm.publish_archive("web_seeded_1926", "Web Seeded", item, web_seed=True)
    source_swarm.seeder.stop()  # no peer at all: only the Archive's download URL has the film
    client = await _signed_in(aiohttp_client, make_app, make_user, source_swarm, "archive")
    movie_id = await _found(client, "Web Seeded")
    await _plays(client, movie_id, film.read_bytes())


async def test_a_late_torrent_file_lends_its_tracker_to_the_magnet(
    aiohttp_client, make_app, make_user, source_swarm, generated_films
):
    """The `.torrent` file comes after the engine stopped waiting: the magnet goes on alone (its own
    trackers are out of reach here), and the file's tracker joins it when it comes."""
    film = generated_films["mp4"]
    source_swarm.torrent_delay = TORRENT_FILE_WAIT + 0.5
    published = source_swarm.publish_yts(8, "Late Film", film)
    client = await _signed_in(aiohttp_client, make_app, make_user, source_swarm, "yts")
    movie_id = await _found(client, "Late Film")
    await _plays(client, movie_id, film.read_bytes())
    dl = client.app[TORRENTS].downloads[published.info_hash]
    assert dl.source.startswith("magnet:")
    assert source_swarm.announce_url in [t["url"] for t in dl.handle.trackers()]


async def test_a_late_torrent_file_gives_the_magnet_its_metadata(
    aiohttp_client, make_app, make_user, source_swarm, generated_films
):
    """No peer at all while the `.torrent` file is on its way: the magnet's metadata can only come from
    the file, which arrives after the engine stopped waiting for it."""
    film = generated_films["mp4"]
    source_swarm.torrent_delay = TORRENT_FILE_WAIT + 0.5
    published = source_swarm.publish_yts(9, "Late Metadata", film)
    source_swarm.seeder.stop()
    client = await _signed_in(aiohttp_client, make_app, make_user, source_swarm, "yts")
    movie_id = await _found(client, "Late Metadata")
    engine = client.app[TORRENTS]
    assert (await client.get(f"/movies/{movie_id}")).status == 200  # the page prepares the torrent
    await wait_until(lambda: engine.known_files(movie_id) is not None, 15)
    dl = engine.downloads[published.info_hash]
    assert dl.source.startswith("magnet:") and dl.handle.status().num_peers == 0
    assert [f.size for f in engine.known_files(movie_id) or []] == [film.stat().st_size]
    source_swarm.seeder.start()  # back: found through the file's tracker
    await _plays(client, movie_id, film.read_bytes())
