"""The library and a film page in a real browser: search, infinite scroll, filters, sort, opening a film,
and posting, editing and deleting a comment, with no console error or warning."""

from __future__ import annotations

import re

import pytest
import pytest_asyncio

from hypertube.keys import POOL
from tests.fixtures.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

FILMS = 61  # two full pages of 24 and a last one of 13


@pytest_asyncio.fixture(loop_scope="session")
async def library(open_page, live_server):
    rows = [
        (
            f"Film {i:02d}",
            1950 + i,
            round(1 + (i % 9) + 0.5, 1),
            ["Comedy"] if i % 3 == 0 else ["Drama"],
            float(i * 7 % 50),
        )
        for i in range(1, FILMS + 1)
    ]
    rows.append(("The General", 1926, 8.1, ["Action", "Comedy"], 1.0))
    await live_server.app[POOL].executemany(
        """INSERT INTO movies (title, year, rating, genres, popularity, summary, details_at)
           VALUES ($1, $2, $3, $4, $5, 'A film.', now())""",
        rows,
    )
    page = await open_page()
    await sign_in(page, live_server, await live_server.create_user())
    return page


async def card_titles(page) -> list[str]:
    return await page.locator("[data-movie-grid] .movie-card-title").all_inner_texts()


async def test_scrolling_loads_every_film_once_then_stops(library):
    page = library
    await page.goto("/")
    assert await page.locator("[data-movie-grid] .movie-card").count() == 24
    assert await page.locator("a:has-text('More films')").count() == 0  # no visible next-page link
    for _ in range(10):
        if await page.locator("[data-end]").is_visible():
            break
        await page.locator("[data-movie-grid] .movie-card").last.scroll_into_view_if_needed()
        await page.mouse.wheel(0, 5000)
        await page.wait_for_timeout(300)
    await page.locator("[data-end]").wait_for(state="visible")
    ids = await page.locator("[data-movie-grid] .movie-card").evaluate_all(
        "cards => cards.map(c => c.dataset.movieId)"
    )
    assert len(ids) == FILMS + 1 == len(set(ids))
    assert await page.locator("[data-results-status]").inner_text() == f"{FILMS + 1} films shown"
    await page.mouse.wheel(0, 5000)
    await page.wait_for_timeout(300)
    assert await page.locator("[data-movie-grid] .movie-card").count() == FILMS + 1


async def test_search_with_a_typo_finds_the_film(library):
    page = library
    await page.goto("/")
    await page.fill("#lib-q", "the generl")
    await page.press("#lib-q", "Enter")
    await page.wait_for_url(re.compile(r"q=the\+generl"))
    assert (await card_titles(page))[0] == "The General"


async def test_filters_apply_at_once_and_the_address_follows(library):
    page = library
    await page.goto("/")
    # Set on the page that was loaded: still there at the end means nothing reloaded it.
    await page.evaluate("() => { document.documentElement.dataset.firstLoad = 'yes'; }")
    assert not await page.is_visible(".library-filters [data-apply]")  # nothing to submit
    await page.select_option("#lib-genre", "Comedy")
    await page.wait_for_url(re.compile(r"/\?genre=Comedy$"))
    await page.fill("#lib-year-min", "1960")
    await page.wait_for_url(re.compile(r"year_min=1960"))
    await page.fill("#lib-year-max", "1975")
    await page.wait_for_url(re.compile(r"year_max=1975"))
    expected = [f"Film {i:02d}" for i in range(10, 26) if i % 3 == 0]
    # Year: the newest first, no order in the address (it is the natural one).
    await page.select_option("#lib-sort", "year")
    await page.wait_for_url(re.compile(r"sort=year$"))
    assert await card_titles(page) == expected[::-1]
    assert await page.locator("#lib-order option:checked").inner_text() == "Newest first"
    await page.select_option("#lib-order", "asc")
    await page.wait_for_url(re.compile(r"sort=year&order=asc$"))
    assert await card_titles(page) == expected
    # Another sort starts in its own natural order: names A to Z, never the order left from the last.
    await page.select_option("#lib-sort", "name")
    await page.wait_for_url(re.compile(r"sort=name$"))
    assert await card_titles(page) == sorted(expected)
    assert await page.locator("#lib-order option:checked").inner_text() == "A to Z"
    assert await page.evaluate("() => document.documentElement.dataset.firstLoad") == "yes"
    # The address alone gives the same page (shareable), and Back goes through the earlier choices.
    shared = page.url
    await page.goto(shared)
    assert await card_titles(page) == sorted(expected)
    await page.goto("/?genre=Comedy&year_min=1960&year_max=1975&sort=year&order=asc")
    await page.select_option("#lib-sort", "rating")
    await page.wait_for_url(re.compile(r"sort=rating$"))
    await page.go_back()
    await page.wait_for_url(re.compile(r"sort=year&order=asc$"))
    assert await card_titles(page) == expected
    assert await page.locator("#lib-sort").input_value() == "year"


async def test_open_a_film_and_comment_on_it(library):
    page = library
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto("/?q=general")
    await page.click(".movie-card >> text=The General")
    await page.wait_for_url(re.compile(r"/movies/\d+$"))
    assert await page.locator("h1").inner_text() == "The General (1926)"

    await page.fill("#comment-new", "What a <b>train</b> chase!")
    await page.click("[data-comment-form] button[type=submit]")
    await page.wait_for_url(re.compile(r"/movies/\d+#comments$"))
    body = page.locator(".comment .comment-body").first
    assert await body.inner_text() == "What a <b>train</b> chase!"

    await page.click(".comment-edit summary")
    edit = page.locator(".comment-edit textarea").first
    await edit.fill("Best train chase ever.")
    await page.click(".comment-edit button[type=submit]")
    await page.wait_for_url(re.compile(r"#comment-\d+$"))
    assert await page.locator(".comment .comment-body").first.inner_text() == "Best train chase ever."
    assert await page.locator(".comment-edited").count() == 1

    await page.click(".comment-delete button")
    await page.wait_for_url(re.compile(r"#comments$"))
    assert await page.locator(".comment").count() == 0
    assert await page.locator("[data-no-comments]").is_visible()


async def test_narrow_screen_has_no_sideways_scroll(open_page, live_server, library):
    from tests.fixtures.browser import no_horizontal_overflow

    page = await open_page(width=360)
    await sign_in(page, live_server, await live_server.create_user())
    await page.goto("/")
    width, inner = await no_horizontal_overflow(page)
    assert width <= inner


# Each number field's placeholder against the room its box leaves for text (the box less its padding
# and, while the browser shows them, the spin buttons): both in CSS pixels.
PLACEHOLDER_ROOM = """ids => ids.map(id => {
  const input = document.getElementById(id);
  const style = getComputedStyle(input);
  const context = document.createElement("canvas").getContext("2d");
  context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const spin = style.appearance === "textfield" ? 0 : 15;
  const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - spin;
  return {id, placeholder: input.placeholder, text: context.measureText(input.placeholder).width, room};
})"""


async def test_the_filter_bar_placeholders_fit_their_fields(open_page, live_server):
    for width, language in [(1280, "en"), (1280, "fr"), (375, "en"), (375, "fr")]:
        page = await open_page(width=width)
        await sign_in(page, live_server, await live_server.create_user(language=language))
        await page.goto("/")
        assert await page.get_attribute("html", "lang") == language
        fields = await page.evaluate(PLACEHOLDER_ROOM, ["lib-year-min", "lib-year-max", "lib-rating"])
        cut = [f for f in fields if f["text"] > f["room"]]
        assert not cut, f"placeholders cut at {width} px ({language}): {cut}"


# Each menu's chosen option against the room its box leaves for text (less its padding and the arrow),
# in CSS pixels.
SELECT_ROOM = """ids => ids.map(id => {
  const select = document.getElementById(id);
  const style = getComputedStyle(select);
  const context = document.createElement("canvas").getContext("2d");
  context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const text = select.selectedOptions[0].text;
  const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16;
  return {id, text, width: context.measureText(text).width, room};
})"""

RESULTS_TOP = "() => document.querySelector('[data-library-results]').getBoundingClientRect().top"


async def test_the_filter_bar_keeps_its_place_and_its_menus_fit(open_page, live_server):
    for width, language in [(1280, "en"), (1280, "fr"), (375, "en"), (375, "fr")]:
        page = await open_page(width=width)
        await sign_in(page, live_server, await live_server.create_user(language=language))
        await page.goto("/")
        menus = await page.evaluate(SELECT_ROOM, ["lib-genre", "lib-sort", "lib-order"])
        cut = [m for m in menus if m["width"] > m["room"]]
        assert not cut, f"menus cut at {width} px ({language}): {cut}"
        top = await page.evaluate(RESULTS_TOP)
        await page.locator("#lib-q").press_sequentially("z")
        await page.locator("[data-clear]").wait_for(state="visible")
        assert await page.evaluate(RESULTS_TOP) == top, f"the films moved at {width} px ({language})"
        menus = await page.evaluate(SELECT_ROOM, ["lib-genre", "lib-sort", "lib-order"])
        cut = [m for m in menus if m["width"] > m["room"]]
        assert not cut, f"menus cut while searching at {width} px ({language}): {cut}"
        await page.close()
