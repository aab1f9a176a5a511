"""The player as a viewer meets it in chromium at 1280×800: a film published by a fake YTS, found by a
library search, its peers from the tracker its torrent names. Play sits in the film's header, visible
without scrolling; pressing it (keyboard or mouse) brings the player into the window and keeps the keys
in it; full screen fills the screen with the video; one state shows on the video at a time."""

from __future__ import annotations

import asyncio
import re

import pytest
from axe_playwright_python.async_playwright import Axe

from hypertube.media.generate import generate_film
from tests.fixtures.browser import expect_error_status, open_film, until

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

WIDTH, HEIGHT = 1280, 800
VIDEO = "document.querySelector('[data-player] video')"
# Which of the player's states are on screen: the start button, the busy line, the error.
STATES = (
    "() => ['[data-start]', '[data-busy]', '[data-error-box]']"
    ".filter(s => { const e = document.querySelector(s); const r = e.getBoundingClientRect();"
    " return !e.hidden && getComputedStyle(e).display !== 'none' && r.width > 0 && r.height > 0; })"
)


@pytest.fixture(scope="session")
def long_film(tmp_path_factory):
    """30 s of 320×180 H.264/AAC in MP4: it plays directly."""
    folder = tmp_path_factory.mktemp("view") / "Lantern Harbour"
    folder.mkdir()
    return generate_film(
        folder / "lantern.harbour.mp4", container="mp4", video_codec="h264", audio_codec="aac",
        duration_s=30, width=320, height=180,
    )  # fmt: skip


@pytest.fixture
def live_server(yts_live_server):
    return yts_live_server


async def _box(page, selector: str) -> dict:
    return await page.evaluate(
        f"() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }"
    )


# What this area draws on the film page: the header's Play and the player (the rest of the page is the
# page checks' business, tests/browser/test_pages_browser.py).
PLAYER_PARTS = {"include": [["[data-watch]"], ["[data-player]"]]}


async def _serious_axe_failures(page, context: str | dict = PLAYER_PARTS) -> list[str]:
    results = await Axe().run(page, context=context)
    return [
        f"{v['id']}: {[(n['target'], n.get('failureSummary', '')[:200]) for n in v['nodes']][:4]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def _focus_in_player(page) -> bool:
    return await page.evaluate(
        "() => document.querySelector('[data-player]').contains(document.activeElement)"
    )


async def test_header_play_by_keyboard_fills_the_window_keeps_the_keys_and_goes_full_screen(
    open_page, live_server, yts_swarm, long_film
):
    yts_swarm.publish_yts(1, "Lantern", long_film.parent)
    user = await live_server.create_user()
    page = await open_page(width=WIDTH, height=HEIGHT)
    await open_film(page, live_server, user, "Lantern")

    # Play is in the header, inside the first screen, and the player is not.
    play = await _box(page, "[data-watch]")
    assert 0 <= play["top"] and play["bottom"] <= HEIGHT, play
    assert (await page.text_content("[data-watch]")).strip() == "Play"
    assert (await _box(page, "[data-player]"))["top"] > play["bottom"]
    assert await page.evaluate(STATES) == ["[data-start]"]
    assert await _serious_axe_failures(page) == []

    await page.focus("[data-watch]")
    await page.keyboard.press("Enter")
    await until(page, f"() => {VIDEO}.currentTime > 0.5")
    # The player took the window below the sticky header, and the keys stay in it.
    header = await _box(page, ".site-header")
    player = await _box(page, "[data-player]")
    assert abs(player["top"] - header["bottom"]) <= 1 and abs(player["bottom"] - HEIGHT) <= 1, player
    assert await _focus_in_player(page)
    assert await page.evaluate(STATES) == []
    assert await _serious_axe_failures(page, "[data-player]") == []
    # Controls lie over the video, and hide after a few idle seconds of playback.
    controls = await _box(page, "[data-controls]")
    video = await _box(page, "[data-player] video")
    assert video["top"] <= controls["top"] and controls["bottom"] <= video["bottom"] + 1
    await until(page, "() => document.querySelector('[data-player]').classList.contains('is-idle')", 8)
    await until(
        page, "() => getComputedStyle(document.querySelector('[data-controls]')).visibility === 'hidden'", 2
    )

    scrolled = await page.evaluate("() => window.scrollY")
    await page.keyboard.press("k")
    await until(page, f"() => {VIDEO}.paused")
    assert not await page.evaluate(
        "() => document.querySelector('[data-player]').classList.contains('is-idle')"
    )
    await page.keyboard.press(" ")
    await until(page, f"() => !{VIDEO}.paused")
    assert await page.evaluate("() => window.scrollY") == scrolled  # Space played, it did not scroll
    before = await page.evaluate(f"() => {VIDEO}.currentTime")
    await page.keyboard.press("ArrowRight")
    await until(page, f"() => {VIDEO}.currentTime >= {before} + 4.5")
    await page.keyboard.press("m")
    assert await page.evaluate(f"() => {VIDEO}.muted")

    # Full screen: the player's element, the video box exactly the screen, the controls over it.
    await page.keyboard.press("f")
    await until(page, "() => document.fullscreenElement === document.querySelector('[data-player]')")
    await until(
        page,
        f"() => {{ const r = {VIDEO}.getBoundingClientRect();"
        " return r.left === 0 && r.top === 0 && r.width === innerWidth && r.height === innerHeight; }",
        5,
    )
    await page.mouse.move(640, 400)
    controls = await _box(page, "[data-controls]")
    assert controls["bottom"] == HEIGHT and controls["top"] > HEIGHT / 2, controls
    assert await _focus_in_player(page)
    await page.keyboard.press("f")
    await until(page, "() => document.fullscreenElement === null")
    await page.keyboard.press("k")
    await until(page, f"() => {VIDEO}.paused")


async def test_mouse_start_keeps_the_keys_and_the_header_offers_to_resume(
    open_page, live_server, yts_swarm, long_film
):
    yts_swarm.publish_yts(2, "Harbour", long_film.parent)
    user = await live_server.create_user(language="fr")
    page = await open_page(width=WIDTH, height=HEIGHT, locale="fr-FR", color_scheme="dark")
    await open_film(page, live_server, user, "Harbour")
    assert (await page.text_content("[data-watch]")).strip() == "Lecture"
    assert await _serious_axe_failures(page) == []

    await page.click("[data-watch]")  # the mouse this time
    await until(page, f"() => {VIDEO}.currentTime > 0.5")
    assert await _focus_in_player(page)
    scrolled = await page.evaluate("() => window.scrollY")
    await page.keyboard.press(" ")
    await until(page, f"() => {VIDEO}.paused")
    assert await page.evaluate("() => window.scrollY") == scrolled
    # A click on the video itself plays, and the keys still work after it.
    await page.click("[data-player] video", position={"x": 200, "y": 120})
    await until(page, f"() => !{VIDEO}.paused")
    assert await _focus_in_player(page)
    await page.keyboard.press("ArrowRight")
    await until(page, f"() => {VIDEO}.currentTime > 6.5")
    await page.keyboard.press("k")
    await until(page, f"() => {VIDEO}.paused")  # pausing saves the position

    position = await page.evaluate(f"() => Math.floor({VIDEO}.currentTime)")
    await asyncio.sleep(0.5)
    await page.reload()
    label = (await page.text_content("[data-watch]")).strip()
    assert label == f"Reprendre à 0:{position:02d}", label
    await page.click("[data-watch]")
    await until(page, f"() => !{VIDEO}.paused && {VIDEO}.currentTime >= {position}")


async def test_one_state_at_a_time_downloading_in_words_then_playing(
    open_page, live_server, yts_swarm, make_seeder, long_film
):
    yts_swarm.seeder = make_seeder(upload_rate=96 * 1024)  # about 15 s for the whole film
    yts_swarm.publish_yts(3, "Slowboat", long_film.parent)
    pages = {}
    for lang, locale in (("en", "en-US"), ("fr", "fr-FR")):
        user = await live_server.create_user(language=lang)
        pages[lang] = page = await open_page(width=WIDTH, height=HEIGHT, locale=locale)
        await open_film(page, live_server, user, "Slowboat")
    for page in pages.values():
        await page.click("[data-watch]")
    # One seeder: "1 peer" in English, "1 pair" in French; the rate and an estimate of the start.
    expected = {
        "en": r"Downloading \d+% · 1 peer · [\d.]+ k?B/s · starts in about \d+ s",
        "fr": r"Téléchargement \d+\s% · 1 pair · [\d,]+\sk?o/s · démarre dans environ \d+ s",
    }
    # The text with an estimate, and the states on screen at that same moment.
    busy = "() => { const t = document.querySelector('[data-state]').textContent;"
    busy += f" return t.includes('·') && /\\d s$/.test(t) ? [t, ({STATES})()] : null; }}"
    seen = await asyncio.gather(*(until(page, busy) for page in pages.values()))
    for lang, (text, states) in zip(pages, seen, strict=True):
        assert re.fullmatch(expected[lang], text), text
        assert states == ["[data-busy]"]
    # The live panel's download line says it the same way.
    live = "() => document.querySelector('[data-live-progress-text]').textContent"
    await until(pages["en"], f"() => ({live})().endsWith(' · 1 peer')")
    await until(pages["fr"], f"() => ({live})().endsWith(' · 1 pair')")
    for page in pages.values():
        await until(page, f"() => {VIDEO}.currentTime > 0.5", 60)
        assert await page.evaluate(STATES) == []


async def test_an_error_says_why_and_offers_to_try_again(open_page, live_server, yts_swarm, tmp_path):
    folder = tmp_path / "Notes Only"
    folder.mkdir()
    (folder / "readme.txt").write_text("No film in here.\n" * 2000)
    yts_swarm.publish_yts(4, "Paperweight", folder)
    user = await live_server.create_user()
    for scheme in ("light", "dark"):
        page = await open_page(width=WIDTH, height=HEIGHT, color_scheme=scheme)
        expect_error_status(page, 422)
        await open_film(page, live_server, user, "Paperweight")
        await page.click("[data-start]")
        await until(page, "() => !document.querySelector('[data-error-box]').hidden")
        assert await page.evaluate(STATES) == ["[data-error-box]"]
        assert (await page.text_content("[data-error]")).strip() == "This torrent holds no video file."
        assert await _focus_in_player(page)
        # Readable on the video in both themes (axe's contrast rules among the rest).
        assert await _serious_axe_failures(page, "[data-player]") == [], scheme
        await page.click("[data-retry]")
        await until(page, "() => !document.querySelector('[data-error-box]').hidden")
        assert await page.evaluate(STATES) == ["[data-error-box]"]
        assert await _focus_in_player(page)
