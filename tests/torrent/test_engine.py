"""The engine on a real loopback swarm: partial reads, peers that vanish, restarts, corrupt data.

Each film is published by the fake YTS and found by a library search; its peers come from the tracker
its `.torrent` names (`source_films`): nothing is written into the database by hand, no peer hints."""

from __future__ import annotations

import asyncio
import os

import pytest

from hypertube.keys import TORRENTS
from hypertube.torrent import PeersTimeout
from tests.fixtures.torrent import wait_until


async def _played(source_films, source, *, upload_rate: int = 0, piece_size: int = 16 * 1024):
    """The film published, seeded, found: (engine, movie id, published film, client)."""
    film = source_films.publish(source, upload_rate=upload_rate, piece_size=piece_size)
    client = await source_films.client()
    movie_id = await source_films.find(client, film.title)
    return client.app[TORRENTS], movie_id, film, client


async def test_read_at_70_percent_does_not_wait_for_the_whole_file(source_films, generated_films):
    source = generated_films["mp4"]
    data = source.read_bytes()
    engine, movie_id, _, _ = await _played(source_films, source, upload_rate=256 * 1024)
    async with await engine.open_reader(movie_id) as reader:
        assert reader.size == len(data) and reader.name == source.name
        offset = int(len(data) * 0.7)
        chunk = await reader.read(offset, 40_000)
        assert chunk == data[offset : offset + 40_000]
        status = await engine.download_status(movie_id)
        assert status["progress"] < 0.5, status
        assert status["state"] in ("downloading", "waiting_for_peers")
        # past the end: short read, then nothing
        assert await reader.read(len(data) - 10, 100) == data[-10:]
        assert await reader.read(len(data), 100) == b""


async def test_several_readers_share_one_download_and_release_it(source_films, generated_films):
    engine, movie_id, _, _ = await _played(source_films, generated_films["mp4"])
    first, second = await asyncio.gather(engine.open_reader(movie_id), engine.open_reader(movie_id))
    assert first.download is second.download and len(engine.downloads) == 1
    assert engine.open_readers(movie_id) == 2
    first.close()
    second.close()
    assert engine.open_readers(movie_id) == 0
    assert not first.download._deadlines


async def test_sync_reader_for_pyav_threads(source_films, generated_films):
    import av

    engine, movie_id, _, _ = await _played(source_films, generated_films["mp4"])
    loop = asyncio.get_running_loop()
    async with await engine.open_reader(movie_id) as reader:

        def probe():
            with reader.open_sync(loop) as raw, av.open(raw) as container:
                return float(container.duration or 0) / 1_000_000, [s.type for s in container.streams]

        duration, kinds = await asyncio.to_thread(probe)
        raw = reader.open_sync(loop)
        try:
            raw.read(1)
        except RuntimeError as exc:
            assert "loop" in str(exc)
        else:
            raise AssertionError("a blocking read on the loop thread must refuse")
    assert 3.5 < duration < 4.5 and "video" in kinds and "audio" in kinds


async def test_seeder_drop_and_return(source_films, generated_films):
    """The seeder vanishes, then comes back on the same port: it announces itself to the tracker again,
    and the engine, which keeps asking the tracker while it has no peer, finds it."""
    source = generated_films["mp4"]
    data = source.read_bytes()
    engine, movie_id, film, _ = await _played(source_films, source, upload_rate=128 * 1024)
    seeder = film.seeder
    async with await engine.open_reader(movie_id) as reader:
        assert await reader.read(0, 1000) == data[:1000]
        seeder.stop()
        await wait_until(lambda: reader.download.status()["state"] == "waiting_for_peers", 15)
        assert (await engine.download_status(movie_id))["peers"] == 0
        offset = len(data) // 2
        pending = asyncio.ensure_future(reader.read(offset, 20_000))
        await asyncio.sleep(1.0)
        assert not pending.done()
        seeder.start()
        assert await asyncio.wait_for(pending, 20) == data[offset : offset + 20_000]
        assert (await engine.download_status(movie_id))["state"] in ("downloading", "finished")


async def test_read_times_out_clearly_without_peers(source_films, generated_films):
    engine, movie_id, film, _ = await _played(source_films, generated_films["mp4"], upload_rate=64 * 1024)
    async with await engine.open_reader(movie_id) as reader:
        film.seeder.stop()
        engine.read_timeout = 1.0
        try:
            await reader.read(reader.size - 5000, 5000)
        except PeersTimeout as exc:
            assert "peer" in exc.message
        else:
            raise AssertionError("expected a timeout")


async def test_restart_resumes_from_resume_data(source_films, generated_films, db):
    source = generated_films["mp4"]
    data = source.read_bytes()
    engine, movie_id, film, client = await _played(source_films, source, upload_rate=512 * 1024)
    async with await engine.open_reader(movie_id) as reader:
        assert await reader.read(0, 300_000) == data[:300_000]
    before = (await engine.download_status(movie_id))["progress"]
    assert 0 < before < 1
    await client.close()
    film.seeder.stop()  # what the new engine has comes from disk and its resume data
    assert (await db.fetchval("SELECT progress FROM downloads WHERE movie_id = $1", movie_id)) > 0

    engine = (await source_films.client()).app[TORRENTS]
    assert film.info_hash in engine.downloads
    dl = engine.downloads[film.info_hash]
    await wait_until(lambda: dl.status()["progress"] >= before, 10)
    engine.read_timeout = 3
    async with await engine.open_reader(movie_id) as reader:
        assert await reader.read(0, 300_000) == data[:300_000]


async def test_corrupt_and_truncated_data_is_downloaded_again(source_films, generated_films, settings):
    source = generated_films["mp4"]
    data = source.read_bytes()
    film = source_films.publish(source)
    broken = bytearray(data[: len(data) * 2 // 3])
    broken[1000:5000] = os.urandom(4000)
    target = settings.download_dir / film.info_hash / source.name
    target.parent.mkdir(parents=True)
    target.write_bytes(bytes(broken))
    client = await source_films.client()
    movie_id = await source_films.find(client, film.title)
    async with await client.app[TORRENTS].open_reader(movie_id) as reader:
        assert await reader.read(0, len(data)) == data


async def test_one_read_longer_than_the_readahead_window(source_films, generated_films):
    source = generated_films["mp4"]
    data = source.read_bytes()
    engine, movie_id, _, _ = await _played(source_films, source, upload_rate=4 * 1024 * 1024)
    async with await engine.open_reader(movie_id) as reader:
        assert reader.readahead_pieces * 16 * 1024 < len(data)  # the read outgrows the window
        assert await reader.read(0, len(data)) == data


@pytest.fixture
def capped_reader(source_films, generated_films):
    """A reader of the test film from a seeder capped at 512 KiB/s (pieces arrive one by one), and
    the film's bytes."""

    async def open_one(background_after: float = 60.0):
        source = generated_films["mp4"]
        engine, movie_id, _, _ = await _played(source_films, source, upload_rate=512 * 1024)
        engine.background_after = background_after  # by default none while a test looks at what came
        return await engine.open_reader(movie_id), source.read_bytes()

    return open_one


async def test_announced_bytes_arrive_before_they_are_read_and_nothing_past_them(capped_reader):
    reader, data = await capped_reader()
    async with reader:
        dl = reader.download
        start = len(data) // 2
        span = dl.piece_range(reader.file, start, 3 * 16 * 1024)
        reader.expect(start, start + 3 * 16 * 1024)
        # Nothing read yet: the announced pieces come anyway, and nothing else is asked for meanwhile
        # (the rest of the film waits until the reader has wanted nothing for a while).
        await wait_until(lambda: all(dl.has(p) for p in span), 10)
        assert not any(dl.has(p) for p in range(dl.num_pieces) if p not in span)
        assert await reader.read(start, 3 * 16 * 1024) == data[start : start + 3 * 16 * 1024]


async def test_a_probe_like_jump_fetches_no_readahead(capped_reader):
    reader, data = await capped_reader()
    async with reader:
        dl = reader.download
        # A header, then the index at the end: each read gets its own piece and no window past it.
        assert await reader.read(0, 1000) == data[:1000]
        assert await reader.read(len(data) - 1000, 1000) == data[-1000:]
        await asyncio.sleep(0.3)
        wanted = {0, dl.num_pieces - 1}
        assert {p for p in range(dl.num_pieces) if dl.has(p)} == wanted
        # Reading on from the header grows the window again: the next pieces come without asking.
        assert await reader.read(1000, 16 * 1024) == data[1000 : 1000 + 16 * 1024]
        assert await reader.read(1000 + 16 * 1024, 16 * 1024)
        await wait_until(lambda: all(dl.has(p) for p in range(1, 4)), 10)


async def test_opening_a_film_page_prepares_its_torrent_without_downloading(
    source_films, generated_films, db
):
    # Magnets only: a torrent added with its `.torrent` wants its first piece until it meets a peer.
    source = generated_films["mp4"]
    data = source.read_bytes()
    first, second, third = (
        source_films.publish(source, f"Film {i}", piece_size=size, torrent_url=False)
        for i, size in enumerate((16 * 1024, 32 * 1024, 64 * 1024))
    )
    client = await source_films.client()
    movies = [await source_films.find(client, f.title) for f in (first, second, third)]
    engine = client.app[TORRENTS]
    engine.max_warm = 2

    assert (await client.get(f"/movies/{movies[0]}")).status == 200
    await wait_until(lambda: first.info_hash in engine.downloads, 5)
    dl = engine.downloads[first.info_hash]
    await wait_until(dl.metadata.is_set, 10)
    await wait_until(lambda: dl.handle.status().num_peers > 0, 10)
    await asyncio.sleep(0.5)
    # Metadata and a peer, but not one piece and no row: nobody has pressed play.
    assert dl.warm and not any(dl.has(p) for p in range(dl.num_pieces))
    assert await db.fetchval("SELECT count(*) FROM downloads") == 0
    assert (await engine.download_status(movies[0]))["progress"] == 0

    # Play: the same download is used, recorded, and reads the film.
    async with await engine.open_reader(movies[0]) as reader:
        assert reader.download is dl and not dl.warm
        assert await reader.read(0, len(data)) == data
    assert await db.fetchval("SELECT info_hash FROM downloads") == first.info_hash

    # At most `max_warm` films are kept prepared; the oldest unplayed one goes first.
    for movie in movies[1:]:
        assert (await client.get(f"/movies/{movie}")).status == 200
        await asyncio.sleep(0.3)
    await wait_until(lambda: third.info_hash in engine.downloads, 5)
    assert second.info_hash in engine.downloads
    engine.max_warm = 1
    assert (await client.get(f"/movies/{movies[0]}")).status == 200  # played: stays
    engine.warm(movies[0])
    fourth = source_films.publish(source, "Film 4", piece_size=128 * 1024, torrent_url=False)
    fourth_movie = await source_films.find(client, "Film 4")
    assert (await client.get(f"/movies/{fourth_movie}")).status == 200
    await wait_until(lambda: fourth.info_hash in engine.downloads, 5)
    assert second.info_hash not in engine.downloads and third.info_hash not in engine.downloads
    assert first.info_hash in engine.downloads

    # A prepared film nobody plays is dropped after `warm_ttl`.
    engine.warm_ttl = 0.0
    await wait_until(lambda: fourth.info_hash not in engine.downloads, 5)
    assert first.info_hash in engine.downloads


async def test_the_rest_downloads_once_the_reader_has_paused(capped_reader, db):
    reader, data = await capped_reader(background_after=1.5)
    async with reader:
        dl = reader.download
        assert await reader.read(0, 1000) == data[:1000]
        # libtorrent calls the torrent finished as soon as the wanted piece is in: not complete yet.
        await asyncio.sleep(0.3)
        assert not dl.complete()
        assert await db.fetchval("SELECT completed_at FROM downloads") is None
        # The player has what it wants; after the pause the rest of the film comes on its own.
        await wait_until(lambda: all(dl.has(p) for p in range(dl.num_pieces)), 30)
        await wait_until(dl.complete, 5)
    for _ in range(50):
        if await db.fetchval("SELECT completed_at FROM downloads") is not None:
            break
        await asyncio.sleep(0.1)
    assert await db.fetchval("SELECT state FROM downloads") in ("finished", "downloading")
    assert await db.fetchval("SELECT completed_at FROM downloads") is not None


async def test_closing_the_engine_ends_its_background_work(source_films, source_swarm):
    # A film prepared ahead whose .torrent file never comes: its task is still running at close.
    source_swarm.publish_archive_broken("never_1926", "Never Film", None, delay=60)
    client = await source_films.client()
    movie_id = await source_films.find(client, "Never Film")
    engine = client.app[TORRENTS]
    engine.warm(movie_id)
    await wait_until(lambda: source_swarm.torrent_hits.get("never_1926"), 10)
    # The engine's own tasks (the janitor is the app's, stopped with it).
    tasks = [
        t
        for t in asyncio.all_tasks()
        if t.get_name().startswith("torrent-") and t.get_name() != "torrent-janitor"
    ]
    assert any(t.get_name() == f"torrent-add-{movie_id}" for t in tasks)
    await asyncio.wait_for(engine.close(), 20)
    assert all(t.done() for t in tasks), [t for t in tasks if not t.done()]
