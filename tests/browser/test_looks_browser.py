"""How pages look, in a real browser: avatars that stay round, the theme toggle's sun and moon, and
Swagger UI following the site's theme with its own dark stylesheet."""

from __future__ import annotations

import pytest

from tests.browser.test_pages_browser import sample_movie
from tests.fixtures.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_avatars_stay_round_beside_a_long_comment(open_page, live_server):
    user = await live_server.create_user()
    film = await sample_movie(live_server)
    page = await open_page(width=360)
    await sign_in(page, live_server, user)
    await page.goto(f"/movies/{film}")
    await page.fill("#comment-new", "A comment long enough to take several lines on a phone. " * 4)
    async with page.expect_navigation():
        await page.click("form[data-comment-form] [type=submit]")
    comment = page.locator(".comment").first
    await comment.wait_for()
    row = await comment.bounding_box()
    assert row and row["height"] > 100  # the row is much taller than the avatar beside it
    await page.wait_for_function("[...document.images].every((img) => img.complete)")
    for selector in ("header img.avatar", ".comment-avatar"):
        box = await page.locator(selector).first.bounding_box()
        assert box and box["width"] > 20 and abs(box["width"] - box["height"]) < 0.5, (selector, box)
        radius = await page.locator(selector).first.evaluate("(img) => getComputedStyle(img).borderRadius")
        assert radius == "50%", (selector, radius)


async def test_the_theme_toggle_shows_a_sun_in_the_dark_and_a_moon_in_the_light(open_page):
    page = await open_page(color_scheme="dark", width=360)
    await page.goto("/login")
    sun, moon = page.locator("[data-theme-toggle] .icon-sun"), page.locator("[data-theme-toggle] .icon-moon")
    assert await sun.is_visible() and not await moon.is_visible()
    # The rays are drawn: stroked lines, not only the filled disc that looked like a dot.
    assert await sun.locator("path").evaluate("(p) => getComputedStyle(p).strokeWidth") == "2px"
    rays = await sun.locator("path").bounding_box()
    assert rays and rays["width"] > 15
    await page.click("[data-theme-toggle]")
    assert await moon.is_visible() and not await sun.is_visible()


async def test_swagger_ui_follows_the_theme_with_its_dark_stylesheet(open_page, live_server):
    page = await open_page(color_scheme="dark")
    await page.goto("/api/docs", timeout=30_000)
    await page.locator(".swagger-ui .opblock").first.wait_for(timeout=30_000)
    background = "getComputedStyle(document.body).backgroundColor"
    assert await page.evaluate(background) == "rgb(31, 31, 31)"
    assert (
        await page.locator(".swagger-ui .info .title").evaluate("(e) => getComputedStyle(e).filter") == "none"
    )
    # A theme chosen on the site wins over the system's, from the first paint.
    await page.evaluate("localStorage.setItem('theme', 'light')")
    await page.reload()
    assert await page.evaluate(background) == "rgb(255, 255, 255)"
    assert await page.get_attribute("link[data-dark-stylesheet]", "media") == "not all"
