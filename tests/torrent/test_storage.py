"""The janitor deletes films nobody watched for a while, never one being streamed, and keeps the quota.

Every download is a film a user played: published by the fake YTS, found by a library search, streamed
from its tracker's seeder; only the clock is moved (when it was last watched)."""

from __future__ import annotations

import asyncio
from functools import partial

from hypertube.keys import TORRENTS
from hypertube.torrent.storage import sweep, sweep_alone

SIZES = iter(range(14, 30))  # piece sizes as powers of two: each publication is its own torrent


async def _watched(source_films, client, db, film_path, title: str, days_ago: int):
    """Publishes a film, plays it whole over `/stream`, and moves its last viewing `days_ago` days back;
    returns (movie id, info hash)."""
    film = source_films.publish(film_path, title, piece_size=1 << next(SIZES))
    movie_id = await source_films.find(client, title)
    resp = await client.get(f"/stream/{movie_id}/file")
    assert resp.status == 200 and await resp.read() == film_path.read_bytes()
    await _age(db, movie_id, days_ago)
    return movie_id, film.info_hash


async def _age(db, movie_id: int, days_ago: int, *, watched_days_ago: int | None = None) -> None:
    await db.execute(
        "UPDATE downloads SET last_watched_at = now() - make_interval(days => $2) WHERE movie_id = $1",
        movie_id,
        days_ago,
    )
    await db.execute(
        "UPDATE watches SET watched_at = now() - make_interval(days => $2) WHERE movie_id = $1",
        movie_id,
        days_ago if watched_days_ago is None else watched_days_ago,
    )


async def test_janitor_deletes_only_what_it_should(source_films, generated_films, db, settings):
    film = generated_films["mp4"]
    client = await source_films.client()
    engine = client.app[TORRENTS]
    _, old = await _watched(source_films, client, db, film, "Old", 45)
    _, recent = await _watched(source_films, client, db, film, "Recent", 3)
    rewatched_id, rewatched = await _watched(source_films, client, db, film, "Rewatched", 60)
    # Its download is old, but someone watched it two days ago.
    await _age(db, rewatched_id, 60, watched_days_ago=2)
    outside = settings.data_dir / "precious.txt"
    outside.write_text("keep me")

    # a film being streamed right now, last watched long ago
    streamed = source_films.publish(film, "Streaming", piece_size=1 << next(SIZES))
    streaming = await source_films.find(client, "Streaming")
    reader = await engine.open_reader(streaming)
    await _age(db, streaming, 90)

    removed = await sweep(engine, engine.pool, unwatched_days=30)
    assert removed == [old]
    assert not (settings.download_dir / old).exists() and old not in engine.downloads
    assert (settings.download_dir / recent).exists() and (settings.download_dir / rewatched).exists()
    assert await db.fetchval("SELECT count(*) FROM downloads") == 3
    assert outside.read_text() == "keep me"
    assert streamed.info_hash in engine.downloads

    reader.close()
    removed = await sweep(engine, engine.pool, unwatched_days=30)
    assert removed == [streamed.info_hash]
    assert streamed.info_hash not in engine.downloads
    assert not (settings.download_dir / streamed.info_hash).exists()


async def test_quota_evicts_oldest_watched_first(source_films, generated_films, db):
    film = generated_films["mp4"]
    client = await source_films.client()
    engine = client.app[TORRENTS]
    hashes = [
        (await _watched(source_films, client, db, film, f"F{i}", days))[1]
        for i, days in enumerate((10, 2, 20, 5))
    ]
    size = film.stat().st_size
    removed = await sweep(engine, engine.pool, unwatched_days=30, quota_bytes=int(size * 2.5))
    assert removed == [hashes[2], hashes[0]]
    left = sorted(r["info_hash"] for r in await db.fetch("SELECT info_hash FROM downloads"))
    assert left == sorted([hashes[1], hashes[3]])


async def test_deleting_a_download_drops_its_converted_segments(source_films, generated_films, db):
    from hypertube.keys import EVENTS, MEDIA

    film = generated_films["mp4"]
    client = await source_films.client()
    engine = client.app[TORRENTS]
    old, _ = await _watched(source_films, client, db, film, "Old", 40)
    kept, _ = await _watched(source_films, client, db, film, "Kept", 1)
    media = client.app[MEDIA]
    for movie_id in (old, kept):
        media.movie_dir(movie_id).mkdir(parents=True, exist_ok=True)
        (media.movie_dir(movie_id) / "0.ts").write_bytes(b"segment")

    async def removed(movie_id: int) -> None:
        await client.app[EVENTS].publish("download:deleted", {"movie_id": movie_id})

    assert len(await sweep(engine, engine.pool, unwatched_days=30, on_removed=removed)) == 1
    assert not media.movie_dir(old).exists()
    assert (media.movie_dir(kept) / "0.ts").read_bytes() == b"segment"


async def test_each_node_sweeps_its_own_downloads_once_at_a_time(source_films, generated_films, db):
    """Nodes sweep their own downloads side by side; two processes of one node (a restart overlapping
    the old process) never sweep at once."""
    node_one = await source_films.client(node_id="one")
    one = node_one.app[TORRENTS]
    two = (await source_films.client(node_id="two")).app[TORRENTS]
    assert one.pool is not two.pool
    _, old = await _watched(source_films, node_one, db, generated_films["mp4"], "Old", 40)
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
    assert await first == [old]
    # once the first sweep is over, node one's lock is free for its next round
    assert await sweep_alone(two.pool, partial(sweep, one, two.pool, unwatched_days=30), "one") == []
