"""The player in chromium follows a film to its smaller copy: a fake YTS film with a 1080p and a 720p
copy, one seeder capped between their bitrates; the film page's player starts on the 1080p copy, the
server moves the film to the 720p copy, and the player goes on from the same time with a note."""

from __future__ import annotations

import pytest

from bench.swarm import SourceSwarm, library_cards
from tests.fixtures.browser import sign_in, until
from tests.fixtures.torrent import write_test_film

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(180)]

SECONDS = 8.0
# The notes the page shows (toasts come and go): kept as they appear.
NOTES = """() => {
  window.notes = [];
  new MutationObserver(() => {
    for (const t of document.querySelectorAll('.toast-text')) {
      if (!window.notes.includes(t.textContent)) window.notes.push(t.textContent);
    }
  }).observe(document.body, {subtree: true, childList: true});
}"""

# The video's times as it plays, with the source each came from.
TIMES = """() => {
  window.times = [];
  const v = document.querySelector('video');
  v.addEventListener('timeupdate', () => window.times.push([v.src, v.currentTime]));
}"""


# A status check still in flight when the player starts following again (a retry: stop, then follow)
# ends with its own chain: one chain checks afterwards, and none once stopped. Times in the page's clock.
ONE_CHAIN = """async () => {
  const { CopyFollower } = await import('/static/js/player-copy.js');
  let checks = 0;
  let answer = null;
  const same = { copy: { info_hash: 'a' } };
  const plan = { copy: 'a', status: { copies: [{}, {}] } };
  const follower = new CopyFollower(() => {
    checks += 1; // the first check waits for `answer`, the others are answered at once
    return checks === 1 ? new Promise((resolve) => { answer = resolve; }) : Promise.resolve(same);
  }, async () => {});
  const until = async (ok) => { while (!ok()) await new Promise((r) => setTimeout(r, 50)); };
  follower.follow(plan);
  await until(() => checks === 1);
  follower.stop();
  follower.follow(plan); // the retry, while the first check waits for its answer
  answer(same);
  await until(() => checks >= 2);
  await new Promise((r) => setTimeout(r, 5000)); // two more periods of 2 s
  const running = checks;
  follower.stop();
  await new Promise((r) => setTimeout(r, 4500));
  return [running, checks];
}"""


async def test_player_follows_the_film_to_its_smaller_copy(
    start_live_server, open_page, make_seeder, tmp_path
):
    large = write_test_film(tmp_path / "large" / "film.1080p.mp4", seconds=SECONDS, size=(640, 480))
    small = write_test_film(tmp_path / "small" / "film.720p.mp4", seconds=SECONDS, size=(320, 240))
    cap = int(small.stat().st_size / SECONDS * 1.9)  # under the 1080p copy's bitrate, over the 720p one's
    swarm = await SourceSwarm(tmp_path / "sources", make_seeder()).start()
    try:
        films = swarm.publish_yts_copies(
            1, "Two Copies", {"1080p": large, "720p": small}, seeder=make_seeder(cap)
        )
        server = await start_live_server(**swarm.settings("yts"))
        page = await open_page(base_url=server.url)
        await sign_in(page, server, await server.create_user())
        response = await page.goto("/?q=Two+Copies")
        assert response is not None
        movie_id = library_cards(await response.text())["Two Copies"]
        await page.goto(f"/movies/{movie_id}")
        await page.evaluate(NOTES)
        await page.evaluate(TIMES)
        await page.click("[data-start]")
        await until(page, "() => document.querySelector('video').currentTime > 0.2", limit=30)
        assert films[0].info_hash in await page.evaluate("() => document.querySelector('video').src")
        await until(
            page,
            f"() => document.querySelector('[data-player]').dataset.copy === '{films[1].info_hash}'",
            limit=40,
        )
        assert films[1].info_hash in await page.evaluate("() => document.querySelector('video').src")
        notes = await page.evaluate("() => window.notes")
        assert "Switched to 720p: the 1080p copy downloads too slowly" in notes, notes
        # It goes on from where it was, in the 720p copy's picture, not from the film's start.
        times = await page.evaluate("() => window.times")
        before = max(t for src, t in times if films[0].info_hash in src)
        assert before > 0.5, times
        await until(page, f"() => document.querySelector('video').currentTime > {before} + 1", limit=30)
        times = await page.evaluate("() => window.times")
        after = [t for src, t in times if films[0].info_hash not in src and t > 0.05]
        assert min(after) >= before - 0.5, (before, times)
        assert await page.evaluate("() => document.querySelector('video').videoWidth") == 320
        # One polling chain after a retry during a check: 2 more checks in 5 s (not 4), none once stopped.
        running, checks = await page.evaluate(ONE_CHAIN)
        assert running == 4 and checks == running, (running, checks)
    finally:
        await swarm.close()
