"""Adaptive streaming in chromium with the network throttled (Chrome DevTools network conditions): a
1080p film found through the library and downloaded from a loopback swarm plays on its source; when
the link drops below the source's bitrate hls.js moves to a smaller rendition without stalling, and
when the link is fast again it climbs back to the source. A film that plays directly steps down to its
renditions on a slow link, plays on, and climbs back to the source's rendition once the link recovers."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import pytest

from bench.swarm import SourceSwarm, library_cards
from hypertube.keys import RENDITION_MAKER
from hypertube.media.generate import generate_film
from tests.fixtures.browser import sign_in, until

# Generating the film, downloading it, making its renditions and playing 40 s: about 70 s on two idle
# cores, twice that on a loaded machine.
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]


FILM_S = 56


def _film(tmp_path_factory, container: str) -> Path:
    """56 s of 1080p H.264/AAC at 5 fps: fourteen segments, cheap to transcode; long enough to go down
    a rendition, climb back and play the source again once the smaller rendition's buffer is played."""
    folder = tmp_path_factory.mktemp(container)
    return generate_film(
        folder / f"peak.{container}", container=container, video_codec="h264", audio_codec="aac",
        duration_s=FILM_S, width=1920, height=1080, fps=5,
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
# bits/s: the source loads faster than it plays (one segment in about 2 s), with room for a first
# segment cut while the machine is busy (hls.js keeps the source while 0.95 × its estimate reaches the
# peak); the 8 s buffered before the drop leave most of the film to load after it.
FAST = 5_000_000
SLOW = 1_600_000  # too slow for the source and the 720p; the 480p loads in 2.5 s per 4 s segment
RECOVERED = 8_000_000  # the link once fast again: twice the source's peak

# Counts the time the playing video waits for data (after it first played), the heights it showed, the
# quality labels shown, and hls.js's bandwidth estimates (kbit/s) as they change.
WATCH = """() => {
  const v = document.querySelector('video');
  const w = (window.playback = {started: false, since: null, stalled: 0, heights: [], labels: [], estimates: []});
  const player = document.querySelector('[data-player]').player;
  const label = document.querySelector('[data-quality-label]');
  v.addEventListener('playing', () => {
    if (w.since !== null) w.stalled += performance.now() - w.since;
    w.since = null;
    w.started = true;
  });
  v.addEventListener('waiting', () => { if (w.started && w.since === null) w.since = performance.now(); });
  setInterval(() => {
    if (v.videoHeight && w.heights[w.heights.length - 1] !== v.videoHeight) w.heights.push(v.videoHeight);
    const text = label.textContent.trim();
    if (text && w.labels[w.labels.length - 1] !== text) w.labels.push(text);
    const kbps = player.hls ? Math.round(player.hls.bandwidthEstimate / 1000) : null;
    if (kbps !== null && w.estimates[w.estimates.length - 1]?.[1] !== kbps)
      w.estimates.push([Math.round(performance.now() / 100) / 10, kbps]);
  }, 100);
}"""
STALLED = """() => { const w = window.playback;
  return w.stalled + (w.since === null ? 0 : performance.now() - w.since); }"""
AHEAD = """() => { const v = document.querySelector('video'); const b = v.buffered;
  return b.length ? b.end(b.length - 1) - v.currentTime : 0; }"""
PLAYING = "() => document.querySelector('[data-quality]').dataset.playing"
# A segment of the source's own playlist (the renditions' are under /hls/720p/ and /hls/480p/).
# The 480p then the source shown, and the quality label on the source again (it follows hls.js's
# LEVEL_SWITCHED, which can come a moment after the first frame).
BACK_UP = """(() => { const h = window.playback.heights; const l = window.playback.labels;
  return h.length >= 2 && h[h.length - 2] === 480 && h[h.length - 1] === 1080
    && l[l.length - 1] === 'Auto (1080p)'; })()"""
SOURCE_SEGMENT = re.compile(r"/hls/\d+\.ts")


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


def _log_segments(page, lines: list[str]) -> None:
    """Appends "<loop time> <url>" to `lines` for each MPEG-TS segment the page finished loading."""
    loop = asyncio.get_running_loop()
    page.on(
        "requestfinished",
        lambda r: lines.append(f"{loop.time():.1f} {r.url}") if r.url.endswith(".ts") else None,
    )


async def _climbs(page, cdp, segments: list[str]) -> tuple[float, float, float]:
    """The link recovers once the 480p loads: hls.js (Auto) loads the source's segments again, and the
    video plays the 480p, then the source, the quality label following. Returns (seconds from the
    recovery to the first source segment loaded, seconds from the recovery to the source shown again,
    milliseconds the video waited since the recovery)."""
    loop = asyncio.get_running_loop()
    stalled_before = await page.evaluate(STALLED)
    recovered_at = loop.time()
    segments.append(f"{recovered_at:.1f} recovered, {await page.evaluate(AHEAD):.1f} s ahead")
    await _throttle(cdp, RECOVERED)
    mark = len(segments)

    def _source_loaded() -> float | None:
        for line in segments[mark:]:
            at, _, url = line.partition(" ")
            if SOURCE_SEGMENT.search(url):
                return float(at)
        return None

    for _ in range(300):  # hls.js's bandwidth estimate rises as segments come faster
        if (loaded := _source_loaded()) is not None:
            break
        await asyncio.sleep(0.1)
    else:
        estimates = await page.evaluate("() => window.playback.estimates")
        raise AssertionError(f"no source segment within 30 s of the recovery: {segments} {estimates}")
    # The 480p already buffered plays first (hls.js does not throw it away), then the source.
    await until(page, f"() => {BACK_UP}", limit=60)
    played_at = loop.time()
    stalled_ms = await page.evaluate(STALLED) - stalled_before
    watched = await page.evaluate("() => window.playback")
    print(
        f"estimates (s, kbit/s): {watched['estimates']}; segments: {segments}; heights: {watched['heights']}"
    )
    assert watched["labels"][-2:] == ["Auto (480p)", "Auto (1080p)"], watched["labels"]
    assert stalled_ms <= 1000, (stalled_ms, segments)
    return loaded - recovered_at, played_at - recovered_at, stalled_ms


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


async def test_a_slower_link_moves_down_a_rendition_and_back_up_without_stalling(
    start_live_server, open_page, make_seeder, peak, tmp_path
):
    async with _signed_in(start_live_server, open_page, make_seeder, tmp_path, peak) as (
        page,
        server,
        movie_id,
    ):
        cdp, segments = await _moves_down(page, movie_id)
        climb_s, shown_s, _ = await _climbs(page, cdp, segments)
        stalled_ms = await page.evaluate(STALLED)  # from the first frame played to the source again
        assert stalled_ms <= 1000, (stalled_ms, segments)
        print(
            f"hls: source loaded {climb_s:.1f} s, shown {shown_s:.1f} s after the recovery; waited {stalled_ms:.0f} ms"
        )


async def _moves_down(page, movie_id: int):
    """(CDP session, segments loaded): the film plays on its source, then on its 480p once the link
    is slower than the source."""
    await page.goto(f"/movies/{movie_id}")
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await _throttle(cdp, FAST)
    requested: list[str] = []
    loop = asyncio.get_running_loop()
    _log_segments(page, requested)
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
    for _ in range(300):
        if any("/hls/480p/" in line for line in requested):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"no 480p segment within 30 s of the drop: {requested}")
    slow = next(i for i, line in enumerate(requested) if line.endswith("s ahead"))
    assert all("/hls/480p/" not in line for line in requested[:slow]), requested  # down only once slow
    assert any("/hls/480p/" in line for line in requested[slow:]), requested
    return cdp, requested


async def test_direct_play_steps_down_on_a_slow_link_and_climbs_back(
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
        segments: list[str] = []
        _log_segments(page, segments)
        await page.evaluate(WATCH)
        await page.click("[data-start]")
        # The video waits for data, and the player moves to the renditions (a MediaSource) without a reload.
        await until(page, "() => document.querySelector('video').src.startsWith('blob:')", limit=60)
        for _ in range(400):
            if any("/hls/480p/" in line for line in segments):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"no 480p segment within 40 s of the step down: {segments}")
        assert (await page.text_content("[data-error]") or "").strip() == ""
        assert any(url.endswith(f"/stream/{movie_id}/file") for url in asked)
        climb_s, shown_s, stalled_ms = await _climbs(page, cdp, segments)
        heights = await page.evaluate("() => window.playback.heights")
        assert heights[0] == 1080, heights  # the file first, then the renditions
        assert (await page.text_content("[data-error]") or "").strip() == ""
        print(
            f"direct: source loaded {climb_s:.1f} s, shown {shown_s:.1f} s after the recovery;"
            f" waited {stalled_ms:.0f} ms since"
        )
        # A quality the viewer pins stays, however fast the link: the rest comes at 480p.
        mark = len(segments)
        await page.hover("[data-player] video")  # the controls show again
        await page.click("[data-quality-button]")
        await page.click("[data-quality-menu] button:text-is('480p')")
        await until(page, "() => document.querySelector('video').videoHeight === 480", limit=30)
        assert (await page.text_content("[data-quality-label]") or "").strip() == "480p"
        after = segments[mark:]  # a source segment asked for before the pin may still finish first
        pinned = next(i for i, line in enumerate(after) if "/hls/480p/" in line)
        assert not any(SOURCE_SEGMENT.search(line) for line in after[pinned:]), segments
        # After a retry the film plays directly again, and steps down again on a slow link: the quality
        # menu follows the new source, not the closed hls.js player.
        await _throttle(cdp, SLOW)
        await page.evaluate("() => document.querySelector('[data-retry]').click()")
        await until(page, "() => /[/]file/.test(document.querySelector('video').src)", limit=30)
        await until(page, "() => document.querySelector('video').src.startsWith('blob:')", limit=60)
