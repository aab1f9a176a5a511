"""The player's quality menu in chromium: a 1080p film starts on its source rendition under "Auto", and
pinning 480p plays the 480p rendition."""

from __future__ import annotations

import pytest

from hypertube.keys import MEDIA, POOL
from tests.fixtures.browser import sign_in, until

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_quality_menu_starts_on_the_source_and_pins_a_rendition(live_server, open_page, full_hd):
    movie_id = await live_server.app[POOL].fetchval(
        "INSERT INTO movies (title, year) VALUES ('Full HD', 2024) RETURNING id"
    )
    live_server.app[MEDIA].register_file(movie_id, full_hd)
    user = await live_server.create_user()
    page = await open_page()
    await sign_in(page, live_server, user)
    await page.goto(f"/movies/{movie_id}")
    await page.click("[data-start]")
    await until(page, "() => document.querySelector('video').currentTime > 0.3")
    assert await page.is_visible("[data-quality-button]")
    assert await page.get_attribute("[data-quality]", "data-playing") == "1080p"
    assert (await page.text_content("[data-quality-label]")).strip() == "Auto (1080p)"
    await page.click("[data-quality-button]")
    items = await page.eval_on_selector_all("[data-quality-menu] button", "bs => bs.map(b => b.textContent)")
    assert items == ["Auto", "1080p", "720p", "480p"]
    await page.click("[data-quality-menu] button:text-is('480p')")
    await until(page, "() => document.querySelector('[data-quality]').dataset.playing === '480p'")
    assert (await page.text_content("[data-quality-label]")).strip() == "480p"
    await until(page, "() => { const v = document.querySelector('video'); return v.videoHeight === 480; }")
