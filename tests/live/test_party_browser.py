"""Watching together in two chromium contexts, with the real player and a film found the way a user
finds it (a library search over a fake YTS, its torrent's peers from the loopback tracker): a joiner
starts at the group's position with one click, the host never jumps back, pause and seek are followed
by both, and the panel lists who is in the group."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from playwright.async_api import expect

from bench.swarm import SourceSwarm
from hypertube.media.generate import generate_film
from tests.fixtures.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

TITLE = "Lantern Party"
DURATION = 40
VIDEO = "document.querySelector('video[data-video]')"
# [currentTime, paused, readyState, whether the page counts itself in step with the group]
NOW = (
    f"(() => {{ const v = {VIDEO}; return [v.currentTime, v.paused, v.readyState,"
    " document.querySelector('[data-live-panel]').dataset.partyInStep]; })()"
)


@pytest.fixture(scope="session")
def party_film(tmp_path_factory):
    """40 s of small H.264/AAC MP4 (played directly), long enough to watch, pause and seek in."""
    folder = tmp_path_factory.mktemp("party")
    return generate_film(folder / "lantern.party.mp4", duration_s=DURATION, width=320, height=180, fps=10)


@pytest_asyncio.fixture(loop_scope="session")
async def party_site(tmp_path, make_seeder, party_film, start_live_server):
    swarm = await SourceSwarm(tmp_path / "sources", make_seeder()).start()
    swarm.folder.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(swarm.publish_yts, 1, TITLE, party_film)
    server = await start_live_server(**swarm.settings("yts", timeout=2.0))
    yield server
    await swarm.close()


async def _until(page, expression: str, seconds: float = 10.0) -> None:
    """Polls a page expression (the page's CSP forbids the evaluation wait_for_function needs)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not await page.evaluate(expression):
        if loop.time() > end:
            raise AssertionError(
                f"still false after {seconds} s: {expression}; video {await page.evaluate(NOW)}"
            )
        await asyncio.sleep(0.05)


async def _both(host, guest) -> tuple[list, list]:
    """`NOW` of both pages, read at (nearly) the same moment."""
    return tuple(await asyncio.gather(host.evaluate(NOW), guest.evaluate(NOW)))  # type: ignore[return-value]


async def _until_together(
    host, guest, playing: bool, at_least: float, tolerance: float, seconds: float
) -> float:
    """Waits until both videos play (or are paused) at the same position (within `tolerance`, at or past
    `at_least`); returns how long that took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while True:
        h, g = await _both(host, guest)
        if (
            h[1] is not playing
            and g[1] is not playing
            and min(h[0], g[0]) >= at_least
            and abs(h[0] - g[0]) <= tolerance
        ):
            return loop.time() - start
        if loop.time() - start > seconds:
            notes = [await p.locator("[data-party-note]").text_content() for p in (host, guest)]
            raise AssertionError(f"host {h} and guest {g} not together after {seconds} s; notes {notes}")
        await asyncio.sleep(0.05)


async def _open(open_page, server, user, path: str):
    page = await open_page(base_url=server.url)
    await sign_in(page, server, user)
    await page.goto(path)
    await expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "ok")
    return page


async def _press(page, selector: str) -> None:
    """Presses a player control (dispatched: the controls may be hidden while the film plays)."""
    await page.locator(selector).dispatch_event("click")


async def test_a_joiner_starts_with_the_group_in_one_click_and_both_follow_pause_and_seek(
    party_site, open_page
):
    server = party_site
    host_user = await server.create_user("party_host")
    guest_user = await server.create_user("party_guest")

    # The host finds the film by searching the library, starts it, then a party: the group starts
    # where the host is.
    host = await open_page(base_url=server.url)
    await sign_in(host, server, host_user)
    await host.goto(f"/?q={TITLE.split()[0]}")
    await host.locator(".movie-card", has_text=TITLE).get_by_role("link").click()
    await expect(host.locator("[data-live-status]")).to_have_attribute("data-state", "ok")
    await host.locator("[data-start]").click()
    await _until(host, f"!{VIDEO}.paused && {VIDEO}.currentTime > 3", seconds=20)
    await host.get_by_role("button", name="Watch together").click()
    link = (await host.locator("[data-party-link]").input_value()).removeprefix(server.url)
    await expect(host.locator("[data-live-panel]")).to_have_attribute("data-party-state", "playing")
    assert float(await host.locator("[data-live-panel]").get_attribute("data-party-position")) > 3
    # Any backward move of the host's video from now on is counted.
    await host.evaluate(
        f"""(() => {{ const v = {VIDEO}; window.backJumps = []; let last = v.currentTime;
            v.addEventListener('timeupdate', () => {{
              if (v.currentTime < last - 0.2) window.backJumps.push([last, v.currentTime]);
              last = v.currentTime; }}); }})()"""
    )

    # The guest opens the link: the panel says the others are watching; one click starts the film
    # where the group is.
    guest = await _open(open_page, server, guest_user, link)
    await expect(guest.locator("[data-party-note]")).to_have_text(
        "The others are watching: press play to join them."
    )
    await guest.locator("[data-start]").click()
    took = await _until_together(host, guest, playing=True, at_least=4, tolerance=1.5, seconds=5)
    assert took < 5
    await asyncio.sleep(1.0)  # playing on together: still within 1.5 s of each other
    h, g = await _both(host, guest)
    assert not h[1] and not g[1] and abs(h[0] - g[0]) <= 1.5, (h, g)
    assert await host.evaluate("window.backJumps") == []
    for page in (host, guest):
        members = page.locator("[data-party-members] li")
        await expect(members).to_have_text(["party_guestin step", "party_hostin step"])
        await expect(page.locator("[data-party-members] [data-status='ready']")).to_have_count(2)

    # The guest pauses: both stop at the same frame.
    await _press(guest, "[data-play]")
    await _until_together(host, guest, playing=False, at_least=4, tolerance=0.5, seconds=5)
    await expect(host.locator("[data-party-note]")).to_contain_text("party_guest paused")

    # The host plays again, then jumps to 70 %: the group waits for both to buffer there and plays on.
    await _press(host, "[data-play]")
    await _until_together(host, guest, playing=True, at_least=4, tolerance=1.5, seconds=5)
    await guest.evaluate(
        """(() => { const panel = document.querySelector('[data-live-panel]'); const seen = window.states = [];
            setInterval(() => { const now = panel.dataset.partyState;
              if (seen[seen.length - 1] !== now) seen.push(now); }, 5); })()"""
    )
    await host.evaluate(
        """(() => { const s = document.querySelector('[data-seek]'); s.value = '700';
                    s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); })()"""
    )
    await _until_together(host, guest, playing=True, at_least=0.7 * DURATION, tolerance=1.5, seconds=10)
    await expect(guest.locator("[data-live-panel]")).to_have_attribute("data-party-state", "playing")
    assert "waiting" in await guest.evaluate("window.states")  # the group waited for both to buffer
    await expect(guest.locator("[data-party-note]")).to_contain_text("party_host")
