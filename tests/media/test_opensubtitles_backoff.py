"""OpenSubtitles busy, over its quota or failing: asked again later with back-off (its `Retry-After`
honoured), and an empty result caused by a failure is not kept."""

from __future__ import annotations

import time

import aiohttp
import pytest

from hypertube.cache import MemoryCache
from hypertube.keys import CACHE, MEDIA
from hypertube.media.opensubtitles import (
    BACKOFF_KEY,
    FIRST_BACKOFF,
    OpenSubtitles,
    OpenSubtitlesBusy,
    retry_after,
)
from tests.conftest import login_as


def backoff_left(cache: MemoryCache) -> float:
    expires, _ = cache._data[BACKOFF_KEY]  # type: ignore[attr-defined]
    return expires - time.monotonic()


@pytest.mark.parametrize(
    "status, headers, wait",
    [
        (429, {"Retry-After": "7"}, 7),
        (406, {}, FIRST_BACKOFF),
        (503, {}, FIRST_BACKOFF),
        (502, {"Retry-After": "120"}, 120),
    ],
)
async def test_busy_answers_back_off_then_ask_again(fake_opensubtitles, status, headers, wait):
    fake_opensubtitles.failures = [(status, headers)]
    cache = MemoryCache()
    async with aiohttp.ClientSession() as http:
        client = OpenSubtitles(http, fake_opensubtitles.url, fake_opensubtitles.key, cache)
        with pytest.raises(OpenSubtitlesBusy):
            await client.search("tt0012345", ["en", "fr"])
        assert wait - 2 < backoff_left(cache) <= wait
        with pytest.raises(OpenSubtitlesBusy):  # backing off: the service is not asked
            await client.search("tt0012345", ["en", "fr"])
        assert len(fake_opensubtitles.seen) == 1
        await cache.delete(BACKOFF_KEY)  # the wait is over
        assert await client.search("tt0012345", ["en", "fr"]) == {"en": 222, "fr": 333}


async def test_failures_in_a_row_wait_longer_each_time(fake_opensubtitles):
    fake_opensubtitles.failures = [(503, {}), (503, {}), (503, {})]
    cache = MemoryCache()
    async with aiohttp.ClientSession() as http:
        client = OpenSubtitles(http, fake_opensubtitles.url, fake_opensubtitles.key, cache)
        waits = []
        for _ in range(3):
            with pytest.raises(OpenSubtitlesBusy):
                await client.search("tt0012345", ["en"])
            waits.append(round(backoff_left(cache) / FIRST_BACKOFF))
            await cache.delete(BACKOFF_KEY)
        assert waits == [1, 2, 4]
        # An answer resets the count.
        assert await client.search("tt0012345", ["en"]) == {"en": 222}
        fake_opensubtitles.failures = [(429, {})]
        with pytest.raises(OpenSubtitlesBusy):
            await client.search("tt0012345", ["en"])
        assert round(backoff_left(cache) / FIRST_BACKOFF) == 1


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after("30") == 30
    assert retry_after(None) is None and retry_after("soon") is None
    assert (
        55
        < (retry_after(time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))) or 0)
        <= 60
    )


async def test_a_film_asked_while_the_service_was_busy_gets_its_subtitles_later(
    aiohttp_client, fake_opensubtitles, make_app, db, make_user, films
):
    fake_opensubtitles.failures = [(429, {"Retry-After": "60"})]
    app = make_app(**fake_opensubtitles.settings())
    client = await aiohttp_client(app)
    login_as(client, await make_user())
    movie = await db.fetchval(
        "INSERT INTO movies (title, imdb_id) VALUES ('Busy Night', 'tt0012345') RETURNING id"
    )
    app[MEDIA].register_file(movie, films["mkv-hevc-aac"])
    plan = await (await client.get(f"/stream/{movie}")).json()
    assert plan["subtitles"] == []
    await client.get(f"/stream/{movie}")
    assert len(fake_opensubtitles.seen) == 1  # backing off
    await app[CACHE].delete(BACKOFF_KEY)
    plan = await (await client.get(f"/stream/{movie}")).json()
    assert len(fake_opensubtitles.seen) == 2  # the busy answer was not kept: asked again
    # Every language the service has, the user's (English) first.
    assert [s["lang"] for s in plan["subtitles"]] == ["en", "fr"]
