"""Adaptive streaming in chromium with the network throttled (Chrome DevTools network conditions): a
1080p film found through the library and downloaded from a loopback swarm plays on its source, and
when the link drops below the source's bitrate hls.js moves to a smaller rendition without stalling;
a film that plays directly steps down to its renditions on a slow link and plays on."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from bench.swarm import SourceSwarm, library_cards
from hypertube.keys import RENDITION_MAKER
from hypertube.media.generate import generate_film
from tests.fixtures.browser import sign_in, until

# Generating the film, downloading it, making its renditions and playing 24 s: about 60 s on two idle
# cores, twice that on a loaded machine.
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]


def _film(tmp_path_factory, container: str) -> Path:
    """24 s of 1080p H.264/AAC at 5 fps: six segments, cheap to transcode."""
    folder = tmp_path_factory.mktemp(container)
    return generate_film(
        folder / f"peak.{container}", container=container, video_codec="h264", audio_codec="aac",
        duration_s=24, width=1920, height=1080, fps=5,
    )  # fmt: skip


@pytest.fixture(scope="session")
def peak(tmp_path_factory) -> Path:
    """Played through HLS (MKV)."""
    return _film(tmp_path_factory, "mkv")


@pytest.fixture(scope="session")
def direct_peak(tmp_path_factory) -> Path:
    """Played directly (MP4)."""
    return _film(tmp_path_factory, "mp4")


# This film's source is about 2.3 Mbit/s (2.7 announced), its 720p about 1.8 (2.8 announced), its
# 480p about 1.0 (1.4 announced).
# bits/s: the source loads faster than it plays, but slowly enough that the film is not all loaded
# before the drop (one segment in about 2.3 s).
FAST = 4_000_000
SLOW = 1_600_000  # too slow for the source and the 720p; the 480p loads in 2.5 s per 4 s segment

# Counts the time the playing video waits for data (after it first played), and the heights it showed.
WATCH = """() => {
  const v = document.querySelector('video');
  const w = (window.playback = {started: false, since: null, stalled: 0, heights: []});
  v.addEventListener('playing', () => {
    if (w.since !== null) w.stalled += performance.now() - w.since;
    w.since = null;
    w.started = true;
  });
  v.addEventListener('waiting', () => { if (w.started && w.since === null) w.since = performance.now(); });
  setInterval(() => {
    if (v.videoHeight && w.heights[w.heights.length - 1] !== v.videoHeight) w.heights.push(v.videoHeight);
  }, 100);
}"""
STALLED = """() => { const w = window.playback;
  return w.stalled + (w.since === null ? 0 : performance.now() - w.since); }"""
AHEAD = """() => { const v = document.querySelector('video'); const b = v.buffered;
  return b.length ? b.end(b.length - 1) - v.currentTime : 0; }"""


async def _throttle(cdp, bits_per_second: int) -> None:
    await cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 20,
            "downloadThroughput": bits_per_second / 8,
            "uploadThroughput": bits_per_second / 8,
        },
    )


@contextlib.asynccontextmanager
async def _signed_in(start_live_server, open_page, make_seeder, folder: Path, film: Path):
    """(page, server, movie id): the film as a user reaches it (library search, YTS, the tracker its
    `.torrent` names), downloaded whole after a first play, its renditions made ahead. The swarm's fake
    sources and tracker run on this test's (the browser's) event loop."""
    swarm = await SourceSwarm(folder, make_seeder()).start()
    try:
        swarm.publish_yts(1, "Throttled Peak", film)
        server = await start_live_server(**swarm.settings("yts"))
        page = await open_page(base_url=server.url)
        await sign_in(page, server, await server.create_user())
        yield page, server, await _finished_film(page, server)
    finally:
        await swarm.close()


async def _finished_film(page, server) -> int:
    response = await page.goto("/?q=Throttled+Peak")
    assert response is not None
    movie_id = library_cards(await response.text())["Throttled Peak"]
    await page.goto(f"/movies/{movie_id}")
    # The player's own first request: the plan, which starts the download.
    finished = (
        f"() => fetch('/stream/{movie_id}').then(r => r.json()).then(p => p.status.state === 'finished')"
    )
    await until(page, finished, limit=60)
    maker = server.app[RENDITION_MAKER]
    for _ in range(1200):  # the 720p and 480p renditions of the 16 s film: a few CPU seconds each
        if movie_id in maker.finished:
            return movie_id
        await asyncio.sleep(0.1)
    raise AssertionError(f"renditions not made ahead: {maker.made}")


async def test_a_slower_link_moves_down_a_rendition_without_stalling(
    start_live_server, open_page, make_seeder, peak, tmp_path
):
    async with _signed_in(start_live_server, open_page, make_seeder, tmp_path, peak) as (
        page,
        server,
        movie_id,
    ):
        await _moves_down(page, movie_id)


async def _moves_down(page, movie_id: int) -> None:
    await page.goto(f"/movies/{movie_id}")
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await _throttle(cdp, FAST)
    requested: list[str] = []
    loop = asyncio.get_running_loop()
    page.on(
        "requestfinished",
        lambda r: requested.append(f"{loop.time():.1f} {r.url}") if r.url.endswith(".ts") else None,
    )
    await page.evaluate(WATCH)
    await page.click("[data-start]")
    await until(page, "() => window.playback.started && document.querySelector('video').currentTime > 0.5")
    assert await page.get_attribute("[data-quality]", "data-playing") == "1080p"
    # The viewer pauses while 8 s are buffered (however loaded the machine is), then the link drops.
    await page.evaluate("() => document.querySelector('video').pause()")
    await until(page, f"() => ({AHEAD})() >= 8")
    requested.append(f"{loop.time():.1f} slow, {await page.evaluate(AHEAD):.1f} s ahead")
    await _throttle(cdp, SLOW)
    await page.evaluate("() => document.querySelector('video').play()")
    await until(page, "() => document.querySelector('[data-quality]').dataset.playing === '480p'", limit=30)
    await until(page, "() => document.querySelector('video').currentTime > 22", limit=40)
    stalled_ms = await page.evaluate(STALLED)  # from the first frame played to near the end
    heights = await page.evaluate("() => window.playback.heights")
    assert heights[0] == 1080 and heights[-1] == 480, heights
    slow = next(i for i, line in enumerate(requested) if line.endswith("s ahead"))
    assert all("/hls/480p/" not in line for line in requested[:slow]), requested  # down only once slow
    assert any("/hls/480p/" in line for line in requested[slow:]), requested
    assert stalled_ms <= 1000, (stalled_ms, requested)


async def test_direct_play_steps_down_on_a_slow_link(
    start_live_server, open_page, make_seeder, direct_peak, tmp_path
):
    async with _signed_in(start_live_server, open_page, make_seeder, tmp_path, direct_peak) as (
        page,
        server,
        movie_id,
    ):
        await page.goto(f"/movies/{movie_id}")
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("Network.enable")
        await _throttle(cdp, SLOW)  # the file (about 2.3 Mbit/s) comes slower than the film plays
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url))
        await page.evaluate(WATCH)
        await page.click("[data-start]")
        # The video waits for data, and the player moves to the renditions (a MediaSource) without a reload.
        await until(page, "() => document.querySelector('video').src.startsWith('blob:')", limit=60)
        await until(
            page, "() => document.querySelector('[data-quality]').dataset.playing === '480p'", limit=40
        )
        await until(page, "() => document.querySelector('video').currentTime > 20", limit=60)  # plays on
        assert (await page.text_content("[data-error]") or "").strip() == ""
        heights = await page.evaluate("() => window.playback.heights")
        assert heights[0] == 1080 and 480 in heights, heights  # the file first, then the renditions
        assert any(url.endswith(f"/stream/{movie_id}/file") for url in asked)
        assert any("/hls/480p/" in url for url in asked)
