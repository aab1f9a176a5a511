"""The janitor deletes films nobody watched for a while, never one being streamed, and keeps the quota."""

from __future__ import annotations

import asyncio
from functools import partial

from hypertube.keys import TORRENTS
from hypertube.torrent.storage import sweep, sweep_alone


async def _fake_download(
    db, settings, movie_id: int, info_hash: str, size: int, days_ago: int, node_id: str | None = None
) -> None:
    folder = settings.download_dir / info_hash
    folder.mkdir(parents=True)
    (folder / "film.mkv").write_bytes(b"\x01" * size)
    # the app's node id, made when it started
    node_id = node_id or (settings.data_dir / "node_id").read_text().strip()
    await db.execute(
        """INSERT INTO downloads (info_hash, node_id, movie_id, save_path, progress, state, last_watched_at)
           VALUES ($1, $5, $2, $3, 1, 'finished', now() - make_interval(days => $4))""",
        info_hash,
        movie_id,
        str(folder),
        days_ago,
        node_id,
    )


async def test_janitor_deletes_only_what_it_should(
    aiohttp_client, make_app, make_user, make_seeder, add_film, generated_films, db, settings
):
    client = await aiohttp_client(make_app())
    engine = client.app[TORRENTS]
    user = await make_user()
    old = await add_film(title="Old")
    recent = await add_film(title="Recent")
    old_but_rewatched = await add_film(title="Rewatched")
    await _fake_download(db, settings, old, "a" * 40, 10_000, 45)
    await _fake_download(db, settings, recent, "b" * 40, 10_000, 3)
    await _fake_download(db, settings, old_but_rewatched, "c" * 40, 10_000, 60)
    await db.execute(
        "INSERT INTO watches (user_id, movie_id, watched_at) VALUES ($1, $2, now() - interval '2 days')",
        user.id,
        old_but_rewatched,
    )
    outside = settings.data_dir / "precious.txt"
    outside.write_text("keep me")

    # a film being streamed right now, last watched long ago
    seeded = make_seeder().seed(generated_films["mp4"])
    streaming = await add_film(magnet=seeded.magnet, title="Streaming")
    reader = await engine.open_reader(streaming)
    await db.execute(
        "UPDATE downloads SET last_watched_at = now() - interval '90 days' WHERE movie_id = $1", streaming
    )

    removed = await sweep(engine, engine.pool, unwatched_days=30)
    assert removed == ["a" * 40]
    assert not (settings.download_dir / ("a" * 40)).exists()
    assert (settings.download_dir / ("b" * 40)).exists() and (settings.download_dir / ("c" * 40)).exists()
    assert await db.fetchval("SELECT count(*) FROM downloads") == 3
    assert outside.read_text() == "keep me"
    assert seeded.info_hash in engine.downloads

    reader.close()
    removed = await sweep(engine, engine.pool, unwatched_days=30)
    assert removed == [seeded.info_hash]
    assert seeded.info_hash not in engine.downloads
    assert not (settings.download_dir / seeded.info_hash).exists()


async def test_quota_evicts_oldest_watched_first(aiohttp_client, make_app, add_film, db, settings):
    client = await aiohttp_client(make_app())
    engine = client.app[TORRENTS]
    films = [await add_film(title=f"F{i}") for i in range(4)]
    for i, (movie_id, days) in enumerate(zip(films, (10, 2, 20, 5), strict=True)):
        await _fake_download(db, settings, movie_id, str(i) * 40, 100_000, days)
    removed = await sweep(engine, engine.pool, unwatched_days=30, quota_bytes=250_000)
    assert removed == ["2" * 40, "0" * 40]
    assert sorted(r["info_hash"] for r in await db.fetch("SELECT info_hash FROM downloads")) == [
        "1" * 40,
        "3" * 40,
    ]


async def test_deleting_a_download_drops_its_converted_segments(
    aiohttp_client, make_app, add_film, db, settings
):
    from hypertube.keys import EVENTS, MEDIA

    client = await aiohttp_client(make_app())
    engine = client.app[TORRENTS]
    old, kept = await add_film(title="Old"), await add_film(title="Kept")
    await _fake_download(db, settings, old, "d" * 40, 1_000, 40)
    await _fake_download(db, settings, kept, "e" * 40, 1_000, 1)
    media = client.app[MEDIA]
    for movie_id in (old, kept):
        media.movie_dir(movie_id).mkdir(parents=True, exist_ok=True)
        (media.movie_dir(movie_id) / "0.ts").write_bytes(b"segment")

    async def removed(movie_id: int) -> None:
        await client.app[EVENTS].publish("download:deleted", {"movie_id": movie_id})

    assert await sweep(engine, engine.pool, unwatched_days=30, on_removed=removed) == ["d" * 40]
    assert not media.movie_dir(old).exists()
    assert (media.movie_dir(kept) / "0.ts").read_bytes() == b"segment"


async def test_each_node_sweeps_its_own_downloads_once_at_a_time(
    aiohttp_client, make_app, add_film, db, settings
):
    """Nodes sweep their own downloads side by side; two processes of one node (a restart overlapping
    the old process) never sweep at once."""
    one = (await aiohttp_client(make_app(node_id="one"))).app[TORRENTS]
    two = (await aiohttp_client(make_app(node_id="two"))).app[TORRENTS]
    assert one.pool is not two.pool
    old = await add_film(title="Old")
    await _fake_download(db, settings, old, "f" * 40, 1_000, 40, node_id="one")
    sweeping, finish = asyncio.Event(), asyncio.Event()

    async def slow_removal(movie_id: int) -> None:
        sweeping.set()
        await finish.wait()

    first = asyncio.create_task(
        sweep_alone(one.pool, partial(sweep, one, one.pool, unwatched_days=30, on_removed=slow_removal), "one")
    )
    await asyncio.wait_for(sweeping.wait(), 10)
    # the other node sweeps its own downloads meanwhile (it has none), not node one's
    assert await sweep_alone(two.pool, partial(sweep, two, two.pool, unwatched_days=30), "two") == []
    # a second process of node one finds node one's downloads being swept and leaves this round
    assert await sweep_alone(two.pool, partial(sweep, one, two.pool, unwatched_days=30), "one") is None
    finish.set()
    assert await first == ["f" * 40]
    # once the first sweep is over, node one's lock is free for its next round
    assert await sweep_alone(two.pool, partial(sweep, one, two.pool, unwatched_days=30), "one") == []
