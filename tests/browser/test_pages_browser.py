"""Every page of the site in a real browser, at 360 px and 1280 px wide, in English and French, dark and
light: no horizontal scrolling, the header/main/footer landmarks, no console error or warning, and no
serious or critical axe-core violation."""

from __future__ import annotations

import asyncio
import re

import pytest
import pytest_asyncio
from aiohttp import web

from hypertube.keys import POOL
from tests.fixtures.browser import LiveServer, expect_error_status, no_horizontal_overflow, sign_in
from tests.fixtures.catalog import FakeUpstreams, yts_movie

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# Not pages: files, JSON, streams, sockets, and the OAuth hops that leave for the provider.
NOT_PAGES = re.compile(r"^/(static|api/v1|stream|socket\.io|media|healthz|favicon\.ico|auth/)")
# Pages without the site's header and footer (Swagger UI fills the whole page).
STANDALONE = ("/api/docs",)
PUBLIC_ONLY = ("/login", "/register", "/password/")


@pytest_asyncio.fixture(loop_scope="session")
async def live_server(start_live_server):
    """The app with YTS pointed at a fake that lists one film with a copy, so that the film page shows
    everything it can (its table of copies included) and the film arrives the way users' films do."""
    fake = FakeUpstreams()
    fake.yts_movies.append(
        yts_movie(4242, "Night of the Test Pattern", year=1968, rating=7.9, genres=("Horror",))
    )
    upstream = web.Application()
    upstream.router.add_get("/yts/api/v2/list_movies.json", fake.yts_list)
    upstream.router.add_get("/yts/api/v2/movie_details.json", fake.yts_details)
    runner = web.AppRunner(upstream)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield await start_live_server(**fake.settings("yts", timeout=10))
    await runner.cleanup()


async def sample_movie(server: LiveServer) -> int:
    return await server.app[POOL].fetchval(
        """INSERT INTO movies (title, year, rating, runtime, genres, summary, director)
           VALUES ('Night of the Test Pattern', 1968, 7.9, 96, '{Horror}', 'A film for page checks.', 'Ann Other')
           RETURNING id"""
    )


async def site_pages(server: LiveServer, username: str, film: int | None = None) -> list[str]:
    """GET pages of the router, dynamic parts filled with real values (a user, a dead token, and `film`, or
    a film made for the purpose); with `film=0`, pages about a film are left out."""
    values = {"username": username, "token": "expired-or-unknown-token", "name": username}
    if film:
        values["id"] = values["movie_id"] = str(film)
    paths: list[str] = []
    for resource in server.app.router.resources():
        if not any(route.method in ("GET", "*") for route in resource):
            continue
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        if not path or NOT_PAGES.match(path):
            continue
        if "{" in path:
            names = re.findall(r"{(\w+)(?::[^}]*)?}", path)
            if any(n in ("id", "movie_id") for n in names) and film != 0:
                values.setdefault("id", str(await sample_movie(server)))
                values["movie_id"] = values["id"]
            if not all(n in values for n in names):
                continue
            path = re.sub(r"{(\w+)(?::[^}]*)?}", lambda m: values[m.group(1)], path)
        paths.append(path)
    return sorted(set(paths))


async def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def check_page(page, path: str, lang: str, found: dict[str, list[str]]) -> int:
    """Loads `path`, checks its layout and landmarks, and runs axe-core on it; violations go into `found`
    under "{width} {lang} {path}"."""
    response = await page.goto(path, timeout=30_000)  # Swagger UI's bundle is 1.4 MB to load and parse
    assert response is not None
    if "text/html" not in (response.headers.get("content-type") or ""):
        return response.status  # a file served under a page path (e.g. a word list), not a page
    if path in STANDALONE:
        # Swagger UI: open a GET and a PATCH operation (parameters, try-it-out, request body).
        await page.locator(".swagger-ui .opblock").first.wait_for(timeout=30_000)  # a 1.4 MB bundle
        for method in ("get", "patch"):
            await page.locator(f".opblock-{method} .opblock-summary-control").first.click()
        await page.locator(".opblock-body textarea").first.wait_for()
        schema = ".models .json-schema-2020-12-expand-deep-button"  # one schema, in full
        await page.locator(schema).first.click()
        await page.locator(".models .json-schema-2020-12-property").first.wait_for()
    else:
        for landmark in ("header.site-header", "main#main", "footer.site-footer"):
            assert await page.locator(landmark).count() == 1, f"{path}: {landmark}"
    assert await page.locator("h1, h2").count() >= 1, f"{path}: no heading"
    assert await page.get_attribute("html", "lang") == lang, path
    scroll_width, inner_width = await no_horizontal_overflow(page)
    assert scroll_width <= inner_width, f"{path}: {scroll_width}px wide in a {inner_width}px window"
    if serious := await serious_violations(page):
        found[f"{inner_width} {lang} {path}"] = serious
    return response.status


# Every pair of (theme, width, language) values meets in one of these four runs (an orthogonal array):
# both themes at both widths, in both languages, at half the cost of all eight combinations.
PAIRWISE = [("dark", 1280, "en"), ("dark", 360, "fr"), ("light", 360, "en"), ("light", 1280, "fr")]


@pytest.mark.timeout(300)  # about 15 pages, each checked by axe-core: slow on a busy machine
@pytest.mark.parametrize(("scheme", "width", "lang"), PAIRWISE)
async def test_every_page_fits_and_is_clean(open_page, live_server, scheme, width, lang):
    user = await live_server.create_user(language=lang)
    public = await site_pages(live_server, user.username, film=0)
    assert "/" in public and "/api/docs" in public

    locale = {"en": "en-US", "fr": "fr-FR"}[lang]
    found: dict[str, list[str]] = {}
    statuses: dict[str, int] = {}

    async def new_page(signed_in: bool):
        page = await open_page(width=width, height=720, locale=locale, color_scheme=scheme)
        if signed_in:
            await sign_in(page, live_server, user)
        return page

    async def as_visitor() -> None:
        visitor = await new_page(signed_in=False)
        for status in (400, 403, 404, 410):
            expect_error_status(visitor, status)  # the 404 page itself, a dead reset link
        for path in [p for p in public if p.startswith(PUBLIC_ONLY)] + ["/no-such-page"]:
            await check_page(visitor, path, lang, found)

    async def as_member():
        member = await new_page(signed_in=True)
        await member.goto("/")  # the library asks YTS (the fake), which brings the film in
        film = await live_server.app[POOL].fetchval(
            "SELECT id FROM movies WHERE title = 'Night of the Test Pattern'"
        )
        assert film, "the library did not bring the film from YTS"
        for path in await site_pages(live_server, user.username, film):
            if not path.startswith(PUBLIC_ONLY) and path not in STANDALONE:
                statuses[path] = await check_page(member, path, lang, found)
        return member, film

    async def standalone() -> None:
        # Swagger UI takes half the time of all the other pages together: it is checked meanwhile.
        page = await new_page(signed_in=True)
        for path in STANDALONE:
            statuses[path] = await check_page(page, path, lang, found)

    async with asyncio.TaskGroup() as group:
        group.create_task(as_visitor())
        members = group.create_task(as_member())
        group.create_task(standalone())
    member, film = members.result()
    assert statuses["/"] == 200 and statuses["/api/docs"] == 200
    assert all(status < 500 for status in statuses.values()), statuses
    assert not found, found
    await member.goto(f"/movies/{film}")  # it was checked with its table of copies
    assert await member.locator(".movie-torrents table td").count() >= 4


async def test_long_words_and_many_toasts_do_not_overflow_a_small_screen(open_page, live_server):
    page = await open_page(width=360)
    user = await live_server.create_user(
        "W" * 30, first_name="Wolfeschlegelsteinhausenbergerdorff" + "x" * 20
    )
    await sign_in(page, live_server, user)
    await page.goto("/")
    await page.evaluate(
        """import('/static/js/util.js').then((m) => {
             for (let i = 0; i < 4; i++) m.toast('A very long notification ' + 'x'.repeat(120), 'error');
           })"""
    )
    await page.locator(".toast").nth(3).wait_for()
    scroll_width, inner_width = await no_horizontal_overflow(page)
    assert scroll_width <= inner_width
