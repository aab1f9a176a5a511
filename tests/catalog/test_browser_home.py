"""The library home in chromium: a film found by searching, played part way through the player from a
loopback swarm (fake YTS, its tracker, a seeder), comes back in "Continue watching" with a progress bar;
played to its end, it leaves that row and shows as watched."""

from __future__ import annotations

import asyncio

import pytest

from hypertube.keys import POOL
from hypertube.media.generate import generate_film
from tests.fixtures.browser import open_film, until

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

FILM_S = 20


@pytest.fixture
def live_server(yts_live_server):
    return yts_live_server


async def _saved(pool, user_id: int, movie_id: int, at_least: float, finished: bool = False) -> None:
    """Waits for the player's last position request to land (it is sent without waiting for it)."""
    for _ in range(100):
        row = await pool.fetchrow(
            "SELECT position_s, finished_at FROM watches WHERE user_id = $1 AND movie_id = $2",
            user_id,
            movie_id,
        )
        if row and row["position_s"] >= at_least and (row["finished_at"] is not None) == finished:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the position never reached {at_least} s (finished: {finished})")


async def test_a_film_played_part_way_continues_from_the_home(live_server, open_page, yts_swarm, tmp_path):
    film = await asyncio.to_thread(
        generate_film, tmp_path / "Harbour Lights" / "harbour.lights.mp4", duration_s=FILM_S
    )
    await asyncio.to_thread(yts_swarm.publish_yts, 1, "Harbour Lights", film)
    user = await live_server.create_user()
    page = await open_page()

    # Found by searching, opened, played through the player for a few seconds, then paused.
    movie_id = await open_film(page, live_server, user, "Harbour Lights", query="harbour")
    await page.click("[data-start]")
    await until(page, "() => document.querySelector('video').currentTime > 4")
    await page.focus("[data-player]")
    await page.keyboard.press("k")
    await until(page, "() => document.querySelector('video').paused")
    pool = live_server.app[POOL]
    await _saved(pool, user.id, movie_id, 4)

    await page.goto("/")
    row = page.locator("[data-row='continue']")
    await row.wait_for()
    assert await row.locator(".home-row-head h2").inner_text() == "Continue watching"
    card = row.locator(f"[data-movie-id='{movie_id}']")
    assert await card.locator(".movie-card-title").inner_text() == "Harbour Lights"
    percent = int(await card.locator("[data-watch-progress]").get_attribute("value"))
    assert 20 <= percent < 90, percent  # of the film's real length (20 s), not the 95 minutes YTS says
    assert "is-watched" not in (await card.get_attribute("class"))
    assert await page.locator("[data-row]").count() == 1  # one film: no popular or genre rows

    # From the row back to the film, played on to its end: watched, and out of the row.
    await card.locator("a").click()
    await page.wait_for_url(f"**/movies/{movie_id}")
    await page.click("[data-start]")
    await until(page, "() => document.querySelector('video').currentTime > 4")
    await page.evaluate(
        """() => { const s = document.querySelector('[data-seek]'); s.value = '960';
                   s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }"""
    )
    await until(page, "() => document.querySelector('video').ended")
    await _saved(pool, user.id, movie_id, FILM_S * 0.9, finished=True)
    await page.goto("/")
    await page.locator("[data-movie-grid]").wait_for()
    assert await page.locator("[data-row='continue']").count() == 0
    watched = page.locator(f"[data-movie-grid] [data-movie-id='{movie_id}']")
    assert "is-watched" in (await watched.get_attribute("class"))
    assert await watched.locator(".watched-badge").is_visible()
