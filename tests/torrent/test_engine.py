"""The engine on a real loopback swarm: partial reads, peers that vanish, restarts, corrupt data."""

from __future__ import annotations

import asyncio
import os

import asyncpg
import pytest
from aiohttp import web

from hypertube.keys import TORRENTS
from hypertube.torrent import Engine, PeersTimeout
from tests.conftest import login_as
from tests.fixtures.torrent import wait_until


async def test_read_at_70_percent_does_not_wait_for_the_whole_file(
    aiohttp_client, make_app, make_seeder, add_film, generated_films
):
    source = generated_films["mp4"]
    data = source.read_bytes()
    seeded = make_seeder(upload_rate=256 * 1024).seed(source)
    movie_id = await add_film(magnet=seeded.magnet)
    client = await aiohttp_client(make_app())
    engine = client.app[TORRENTS]
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


async def test_several_readers_share_one_download_and_release_it(
    aiohttp_client, make_app, make_seeder, add_film, generated_films
):
    source = generated_films["mp4"]
    seeded = make_seeder().seed(source)
    movie_id = await add_film(magnet=seeded.magnet)
    client = await aiohttp_client(make_app())
    engine = client.app[TORRENTS]
    first, second = await asyncio.gather(engine.open_reader(movie_id), engine.open_reader(movie_id))
    assert first.download is second.download and len(engine.downloads) == 1
    assert engine.open_readers(movie_id) == 2
    first.close()
    second.close()
    assert engine.open_readers(movie_id) == 0
    assert not first.download._deadlines


async def test_sync_reader_for_pyav_threads(aiohttp_client, make_app, make_seeder, add_film, generated_films):
    import av

    source = generated_films["mp4"]
    seeded = make_seeder().seed(source)
    movie_id = await add_film(magnet=seeded.magnet)
    client = await aiohttp_client(make_app())
    loop = asyncio.get_running_loop()
    async with await client.app[TORRENTS].open_reader(movie_id) as reader:

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


async def test_seeder_drop_and_return(aiohttp_client, make_app, make_seeder, add_film, generated_films):
    source = generated_films["mp4"]
    data = source.read_bytes()
    seeder = make_seeder(upload_rate=128 * 1024)
    seeded = seeder.seed(source)
    movie_id = await add_film(magnet=seeded.magnet)
    client = await aiohttp_client(make_app())
    engine = client.app[TORRENTS]
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


async def test_read_times_out_clearly_without_peers(
    aiohttp_client, make_app, make_seeder, add_film, generated_films
):
    source = generated_films["mp4"]
    seeder = make_seeder(upload_rate=64 * 1024)
    seeded = seeder.seed(source)
    movie_id = await add_film(magnet=seeded.magnet)
    client = await aiohttp_client(make_app())
    engine = client.app[TORRENTS]
    async with await engine.open_reader(movie_id) as reader:
        seeder.stop()
        engine.read_timeout = 1.0
        try:
            await reader.read(reader.size - 5000, 5000)
        except PeersTimeout as exc:
            assert "peer" in exc.message
        else:
            raise AssertionError("expected a timeout")


async def test_restart_resumes_from_resume_data(
    tmp_path, aiohttp_client, make_app, make_seeder, add_film, generated_films, db
):
    source = generated_films["mp4"]
    data = source.read_bytes()
    seeder = make_seeder(upload_rate=512 * 1024)
    seeded = seeder.seed(source)
    movie_id = await add_film(magnet=seeded.magnet)
    client = await aiohttp_client(make_app())
    engine = client.app[TORRENTS]
    async with await engine.open_reader(movie_id) as reader:
        assert await reader.read(0, 300_000) == data[:300_000]
    before = (await engine.download_status(movie_id))["progress"]
    assert 0 < before < 1
    await client.close()
    seeder.stop()  # what the new engine has comes from disk and its resume data
    assert (await db.fetchval("SELECT progress FROM downloads WHERE movie_id = $1", movie_id)) > 0

    client = await aiohttp_client(make_app())
    engine = client.app[TORRENTS]
    assert seeded.info_hash in engine.downloads
    dl = engine.downloads[seeded.info_hash]
    await wait_until(lambda: dl.status()["progress"] >= before, 10)
    engine.read_timeout = 3
    async with await engine.open_reader(movie_id) as reader:
        assert await reader.read(0, 300_000) == data[:300_000]


async def test_corrupt_and_truncated_data_is_downloaded_again(
    aiohttp_client, make_app, make_seeder, add_film, generated_films, settings
):
    source = generated_films["mp4"]
    data = source.read_bytes()
    seeded = make_seeder().seed(source)
    movie_id = await add_film(magnet=seeded.magnet)
    broken = bytearray(data[: len(data) * 2 // 3])
    broken[1000:5000] = os.urandom(4000)
    target = settings.download_dir / seeded.info_hash / source.name
    target.parent.mkdir(parents=True)
    target.write_bytes(bytes(broken))
    client = await aiohttp_client(make_app())
    async with await client.app[TORRENTS].open_reader(movie_id) as reader:
        assert await reader.read(0, len(data)) == data


async def test_one_read_longer_than_the_readahead_window(
    aiohttp_client, make_app, make_seeder, add_film, generated_films
):
    source = generated_films["mp4"]
    data = source.read_bytes()
    seeded = make_seeder(upload_rate=4 * 1024 * 1024).seed(source, piece_size=16 * 1024)
    movie_id = await add_film(magnet=seeded.magnet)
    client = await aiohttp_client(make_app())
    async with await client.app[TORRENTS].open_reader(movie_id) as reader:
        assert reader.readahead_pieces * 16 * 1024 < len(data)  # the read outgrows the window
        assert await reader.read(0, len(data)) == data


@pytest.fixture
def capped_reader(aiohttp_client, make_app, make_seeder, add_film, generated_films):
    """A reader of the test film from a seeder capped at 512 KiB/s (pieces arrive one by one), and
    the film's bytes."""

    async def open_one(background_after: float = 60.0):
        source = generated_films["mp4"]
        seeded = make_seeder(upload_rate=512 * 1024).seed(source)
        movie_id = await add_film(magnet=seeded.magnet)
        client = await aiohttp_client(make_app())
        engine = client.app[TORRENTS]
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
    aiohttp_client, make_app, make_seeder, add_film, generated_films, make_user, db
):
    source = generated_films["mp4"]
    data = source.read_bytes()
    seeder = make_seeder()
    first = seeder.seed(source)
    second = seeder.seed(source, piece_size=32 * 1024)
    third = seeder.seed(source, piece_size=64 * 1024)
    movies = [
        await add_film(magnet=s.magnet, title=f"Film {i}") for i, s in enumerate((first, second, third))
    ]
    client = await aiohttp_client(make_app())
    login_as(client, await make_user())
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
    fourth = seeder.seed(source, piece_size=128 * 1024)
    fourth_movie = await add_film(magnet=fourth.magnet, title="Film 4")
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


async def test_closing_the_engine_ends_its_background_work(aiohttp_server, database_url, add_film, tmp_path):
    # A film prepared ahead whose .torrent file never comes: its task is still running at close.
    asked = asyncio.Event()

    async def never(request):
        asked.set()
        await asyncio.sleep(60)
        return web.Response()

    site = web.Application()
    site.router.add_get("/never.torrent", never)
    server = await aiohttp_server(site)
    movie_id = await add_film(torrent_url=str(server.make_url("/never.torrent")))
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        engine = Engine(tmp_path / "downloads", pool, dht=False, fetch_allowed_hosts=frozenset({"127.0.0.1"}))
        await engine.start()
        engine.warm(movie_id)
        await asyncio.wait_for(asked.wait(), 10)
        tasks = [t for t in asyncio.all_tasks() if (t.get_name() or "").startswith("torrent-")]
        assert any(t.get_name() == f"torrent-add-{movie_id}" for t in tasks)
        await asyncio.wait_for(engine.close(), 20)
        assert all(t.done() for t in tasks), [t for t in tasks if not t.done()]
    finally:
        await pool.close()
