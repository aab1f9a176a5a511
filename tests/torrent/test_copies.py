"""A film with two copies (a larger 1080p and a smaller 720p file) from the fake YTS, both seeded by one
seeder whose upload is capped between their bitrates: played directly, the 1080p copy downloads slower
than the film plays, so the film steps down to the 720p copy, whose bytes then come faster than real
time; once the 1080p copy is whole (it went on in the background), the film goes back up to it."""

from __future__ import annotations

import asyncio
import io
import time

import av
import pytest

from hypertube.keys import TORRENTS
from tests.fixtures.torrent import write_test_film

SECONDS = 8.0


@pytest.fixture(scope="module")
def two_copies(tmp_path_factory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("copies")
    large = write_test_film(folder / "large" / "film.1080p.mp4", seconds=SECONDS, size=(640, 480))
    small = write_test_film(folder / "small" / "film.720p.mp4", seconds=SECONDS, size=(320, 240))
    return {"1080p": large, "720p": small}


async def _status(client, movie_id: int) -> dict:
    resp = await client.get(f"/stream/{movie_id}/status")
    assert resp.status == 200
    return await resp.json()


async def _plan(client, movie_id: int) -> dict:
    resp = await client.get(f"/stream/{movie_id}")
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _play_until_switch(
    client, movie_id: int, plan_url: str, size: int, limit: float
) -> tuple[int, dict]:
    """Reads the film's file as a buffering player does while watching its status; returns the bytes
    read when the status names another copy, and that status."""
    resp = await client.get(plan_url)
    assert resp.status == 200 and int(resp.headers["Content-Length"]) == size
    read = 0
    first = (await _status(client, movie_id))["copy"]["info_hash"]

    async def watch() -> dict:
        while True:
            status = await _status(client, movie_id)
            if status["copy"]["info_hash"] != first:
                return status
            await asyncio.sleep(0.25)

    watcher = asyncio.ensure_future(watch())
    try:
        async with asyncio.timeout(limit):
            while not watcher.done():
                chunk = await resp.content.readany()
                if not chunk:
                    break
                read += len(chunk)
            status = await watcher
    finally:
        watcher.cancel()
        resp.close()
    return read, status


async def test_slow_copy_steps_down_then_back_up(source_films, two_copies):
    large, small = two_copies["1080p"], two_copies["720p"]
    large_size, small_size = large.stat().st_size, small.stat().st_size
    large_rate, small_rate = large_size / SECONDS, small_size / SECONDS
    cap = int(small_rate * 1.9)  # under the 1080p copy's bitrate, well over the 720p copy's
    assert small_rate / 0.8 < cap < large_rate
    films = source_films.publish_copies({"1080p": large, "720p": small}, "Two Copies", upload_rate=cap)
    client = await source_films.client()
    movie_id = await source_films.find(client, "Two Copies")

    plan = await _plan(client, movie_id)
    assert plan["kind"] == "direct"
    assert plan["copy"] == films[0].info_hash  # the most seeded, first listed: the 1080p copy
    assert plan["url"] == f"/stream/{movie_id}/file?copy={films[0].info_hash}"
    assert plan["status"]["copy"]["quality"] == "1080p"
    assert [c["quality"] for c in plan["status"]["copies"]] == ["1080p", "720p"]

    started = time.monotonic()
    read, status = await _play_until_switch(client, movie_id, plan["url"], large_size, limit=30)
    switched_after = time.monotonic() - started
    assert read < large_size, "the whole 1080p copy came before any switch"
    switch = status["switch"]
    assert switch["reason"] == "slow" and switch["from"] == "1080p" and switch["to"] == "720p"
    assert status["copy"] == {"quality": "720p", "size": small_size, "info_hash": films[1].info_hash}
    position = read / large_size * SECONDS  # at most where the player was: it plays behind its buffer

    # The player reloads its plan and goes on from the same time in the 720p copy.
    plan = await _plan(client, movie_id)
    assert plan["copy"] == films[1].info_hash and plan["kind"] == "direct"
    assert abs(plan["duration"] - SECONDS) < 0.5
    offset = int(position / SECONDS * small_size)
    began = time.monotonic()
    resp = await client.get(plan["url"], headers={"Range": f"bytes={offset}-"})
    assert resp.status == 206
    body = await resp.read()
    took = time.monotonic() - began
    assert body == small.read_bytes()[offset:]
    film_left = SECONDS - position
    print(
        f"\nswitched to 720p after {switched_after:.1f} s ({read / 2**20:.1f} MiB of 1080p read, "
        f"cap {cap / 2**20:.2f} MiB/s, bitrates 1080p {large_rate / 2**20:.2f} / 720p "
        f"{small_rate / 2**20:.2f} MiB/s); the rest of 720p ({len(body) / 2**20:.1f} MiB, "
        f"{film_left:.1f} s of film) came in {took:.2f} s"
    )
    assert took < film_left, "the 720p copy did not keep up with the film"

    # The 1080p copy went on in the background: once it is whole the film goes back up to it.
    deadline = time.monotonic() + 60
    while True:
        status = await _status(client, movie_id)
        if status["copy"]["info_hash"] == films[0].info_hash:
            break
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.5)
    assert status["switch"]["reason"] == "complete" and status["switch"]["to"] == "1080p"
    print(f"back to 1080p {time.monotonic() - started:.1f} s after play")
    plan = await _plan(client, movie_id)
    assert plan["copy"] == films[0].info_hash
    resp = await client.get(plan["url"], headers={"Range": "bytes=-4096"})
    assert resp.status == 206 and await resp.read() == large.read_bytes()[-4096:]
    # A plan's copy stays readable by its own URL; a copy that is not this film's is refused.
    resp = await client.get(
        f"/stream/{movie_id}/file?copy={films[1].info_hash}", headers={"Range": "bytes=0-9"}
    )
    assert resp.status == 206 and await resp.read() == small.read_bytes()[:10]
    # An info hash is hex in any case.
    resp = await client.get(
        f"/stream/{movie_id}/file?copy={films[1].info_hash.upper()}", headers={"Range": "bytes=0-9"}
    )
    assert resp.status == 206 and await resp.read() == small.read_bytes()[:10]
    for bad, status in (("nothex", 400), ("0" * 40, 404)):
        resp = await client.get(f"/stream/{movie_id}/file?copy={bad}")
        assert resp.status == status, (bad, await resp.text())

    # Segments for adaptive streaming are cut and cached per copy: each playlist names its copy, and
    # the first segment of each copy has that copy's picture.
    for film, width in ((films[0], 640), (films[1], 320)):
        url = f"/stream/{movie_id}/hls/index.m3u8?copy={film.info_hash.upper()}"
        playlist = await (await client.get(url)).text()
        first = next(line for line in playlist.splitlines() if line.endswith(".ts?copy=" + film.info_hash))
        resp = await client.get(f"/stream/{movie_id}/hls/{first}")
        assert resp.status == 200
        with av.open(io.BytesIO(await resp.read())) as segment:
            assert segment.streams.video[0].codec_context.width == width


async def test_a_restart_after_a_step_down_lifts_the_larger_copys_limit(source_films, two_copies):
    """The larger copy is held back while the smaller one plays; after the server restarts, nothing
    remembers that step down, so the larger copy must not come back from its resume data still held
    back (it would play under the smaller copy's bitrate, too slow to step down from again)."""
    large, small = two_copies["1080p"], two_copies["720p"]
    large_size = large.stat().st_size
    cap = int(small.stat().st_size / SECONDS * 1.9)
    films = source_films.publish_copies({"1080p": large, "720p": small}, "Restarted Copies", upload_rate=cap)
    client = await source_films.client()
    movie_id = await source_films.find(client, "Restarted Copies")
    plan = await _plan(client, movie_id)
    _read, status = await _play_until_switch(client, movie_id, plan["url"], large_size, limit=30)
    assert status["switch"]["reason"] == "slow"
    held = client.app[TORRENTS].downloads[films[0].info_hash].handle
    assert held.download_limit() > 0  # the 1080p copy goes on, held back, beside the 720p copy
    await client.close()  # the server stops: resume data written

    client = await source_films.client()
    engine = client.app[TORRENTS]
    assert films[0].info_hash in engine.downloads
    assert engine.downloads[films[0].info_hash].handle.download_limit() <= 0
    await client.close()


async def _until_watched(engine, movie_id: int, watched: bool) -> None:
    deadline = time.monotonic() + 10
    while (movie_id in engine.copies.watched) != watched:
        assert time.monotonic() < deadline, f"film {movie_id} still {'not ' if watched else ''}watched"
        await asyncio.sleep(0.1)


async def test_a_film_is_no_longer_watched_once_left_or_removed(source_films, two_copies):
    """The copies of a film whose status was asked are checked each second only while someone reads it
    and its download is there; asked again, it is watched again."""
    films = source_films.publish_copies(
        {"1080p": two_copies["1080p"], "720p": two_copies["720p"]}, "Left Copies"
    )
    client = await source_films.client()
    engine = client.app[TORRENTS]
    movie_id = await source_films.find(client, "Left Copies")
    plan = await _plan(client, movie_id)
    resp = await client.get(plan["url"], headers={"Range": "bytes=0-9"})
    assert resp.status == 206
    await resp.read()
    await _status(client, movie_id)
    assert movie_id in engine.copies.watched
    engine.copies.idle_s = 1.0  # no reader is open: the film is left after a second
    await _until_watched(engine, movie_id, False)
    engine.copies.idle_s = 600.0
    await _status(client, movie_id)
    assert movie_id in engine.copies.watched
    assert await engine.remove(films[0].info_hash)
    await _until_watched(engine, movie_id, False)
    await client.close()
