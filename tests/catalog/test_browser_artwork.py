"""The library at 1280 px in chromium with covers from our own origin: every picture arrives as WebP in
one of our widths, fills the box kept for it, and the console stays clean; a refused cover gives way to
the lettered placeholder."""

from __future__ import annotations

import pytest
import pytest_asyncio
from aiohttp import web

from hypertube.catalog.artwork import WIDTHS
from hypertube.keys import POOL
from tests.fixtures.browser import expect_error_status, sign_in
from tests.fixtures.catalog import jpeg

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]
COLORS = [(200, 40, 40), (40, 160, 60), (30, 60, 200), (220, 180, 30), (120, 40, 160), (20, 160, 170)]


def serve_upstream_pictures(app: web.Application) -> None:
    """A picture host beside the app (on the same loopback port): what a source's cover server sends."""
    pictures = {f"poster{i}.jpg": jpeg(600, 900, c) for i, c in enumerate(COLORS)}
    pictures["page.jpg"] = b"<html>not a picture</html>"

    async def picture(request: web.Request) -> web.Response:
        return web.Response(body=pictures[request.match_info["name"]], content_type="image/jpeg")

    app.router.add_get("/upstream/{name}", picture)


@pytest_asyncio.fixture(loop_scope="session")
async def covers(start_live_server, open_page):
    async def start(names: list[str]):
        server = await start_live_server(prepare=serve_upstream_pictures)
        await server.app[POOL].executemany(
            """INSERT INTO movies (title, year, rating, genres, popularity, cover_url, details_at)
               VALUES ($1, 2001, 7.0, '{Drama}', $2, $3, now())""",
            [(f"Cover Film {i}", float(100 - i), f"{server.url}/upstream/{n}") for i, n in enumerate(names)],
        )
        page = await open_page(width=1280, base_url=server.url)
        await sign_in(page, server, await server.create_user())
        return server, page

    return start


async def test_the_library_shows_covers_from_our_origin(covers):
    server, page = await covers([f"poster{i}.jpg" for i in range(len(COLORS))])
    await page.goto("/")
    images = page.locator(".movie-cover img[data-artwork]")
    assert await images.count() == len(COLORS)
    await page.wait_for_function(
        "() => [...document.querySelectorAll('img[data-artwork]')].every(i => i.complete && i.naturalWidth > 0)"
    )
    loaded = await images.evaluate_all(
        """imgs => imgs.map(i => {
            const box = i.getBoundingClientRect(), cover = i.parentElement;
            return {src: i.currentSrc, natural: [i.naturalWidth, i.naturalHeight],
                    box: [Math.round(box.width), Math.round(box.height)],
                    cover: [cover.clientWidth, cover.clientHeight]};
        })"""
    )
    for img in loaded:
        assert img["src"].startswith(server.url + "/images/cover/"), img
        # srcset pictures report their size in CSS pixels: the width chosen is in the address.
        assert int(img["src"].split("?")[0].rsplit("/", 1)[1].removesuffix(".webp")) in WIDTHS["cover"]
        width, height = img["natural"]
        assert abs(height - width * 1.5) <= 1.5
        # The picture fills the box kept for it inside the card's border, a 2:3 box.
        assert img["box"] == img["cover"] and abs(img["cover"][1] - img["cover"][0] * 1.5) < 2
    sent = await page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.initiatorType === 'img').map(e => e.name)"
    )
    # Every picture the page loaded came from our origin (the covers, and the user's own avatar).
    assert sent and all(u.startswith(server.url + "/") for u in sent)
    assert sum(u.startswith(server.url + "/images/cover/") for u in sent) == len(COLORS)


async def test_a_refused_cover_gives_way_to_the_placeholder(covers):
    server, page = await covers(["page.jpg"])
    expect_error_status(page, 404)  # the refused picture's address answers 404, as it should
    await page.goto("/")
    card = page.locator(".movie-card").first
    await card.locator("img[data-artwork]").wait_for(state="detached")
    placeholder = card.locator(".movie-cover-placeholder")
    assert await placeholder.is_visible() and await placeholder.inner_text() == "C"
