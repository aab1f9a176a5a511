"""The player in chromium: each demo film plays from a loopback swarm, seeks to 70 %, loads its subtitles,
and the page logs no console error or warning."""

from __future__ import annotations

import asyncio

import pytest

from hypertube.keys import POOL
from hypertube.media.generate import generate_demo_films, write_srt
from hypertube.media.generate_kinds import AudioSpec, Shape, generate_shaped
from tests.fixtures.browser import sign_in, until

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# (demo slug, plan kind, subtitle languages offered to a French-speaking user)
EXPECTED = {
    "big-buck-pattern": ("direct", ["en"]),
    "sintel-bars": ("hls", ["fr", "en"]),  # the user's language first
    "tears-of-hevc": ("hls", []),
    "elephants-avi": ("hls", ["fr"]),
}


@pytest.fixture(scope="session")
def demo_films(tmp_path_factory):
    return generate_demo_films(tmp_path_factory.mktemp("demo"), duration_s=12, width=320, height=180)


async def test_each_demo_film_plays_seeks_and_shows_subtitles(
    live_server, open_page, make_seeder, demo_films
):
    pool = live_server.app[POOL]
    seeder = make_seeder()
    user = await live_server.create_user(language="fr")
    page = await open_page(locale="fr-FR")
    await sign_in(page, live_server, user)
    for film in demo_films:
        seeded = await asyncio.to_thread(seeder.seed, film.directory)
        movie_id = await pool.fetchval(
            "INSERT INTO movies (title, year) VALUES ($1, 2024) RETURNING id", film.title
        )
        await pool.execute(
            """INSERT INTO torrents (movie_id, source, quality, info_hash, magnet, seeders)
               VALUES ($1, 'demo', '360p', $2, $3, 1)""",
            movie_id,
            seeded.info_hash,
            seeded.magnet,
        )
        kind, languages = EXPECTED[film.slug]
        await page.goto(f"/movies/{movie_id}")
        await page.click("[data-start]")
        await until(page, "() => document.querySelector('video').currentTime > 0.5")
        plan = await page.evaluate("() => document.querySelector('[data-player]').player.plan")
        assert plan["kind"] == kind, film.slug
        assert abs(plan["duration"] - 12) <= 0.5
        # Seek with the seek bar itself to 70 %, then playback carries on from there.
        await page.evaluate(
            """() => { const s = document.querySelector('[data-seek]'); s.value = '700';
                       s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }"""
        )
        await until(
            page,
            "() => { const v = document.querySelector('video'); const d = v.closest('[data-player]').player.duration();"
            " return !v.seeking && v.currentTime > d * 0.7 + 0.5 && !v.paused; }",
        )
        langs = await page.evaluate(
            "() => Array.from(document.querySelectorAll('video track')).map(t => t.srclang)"
        )
        assert langs == languages, film.slug
        if languages:
            # The French track shows by default for this user; every track loads its cues.
            await until(
                page,
                "() => Array.from(document.querySelector('video').textTracks)"
                ".every(t => t.mode !== 'disabled' && t.cues && t.cues.length > 0)",
            )
            modes = await page.evaluate(
                "() => Array.from(document.querySelector('video').textTracks).map(t => [t.language, t.mode])"
            )
            assert ("fr", "showing") in [tuple(m) for m in modes] or "fr" not in languages
        # Keyboard: m mutes, k pauses; the film was marked watched when it started.
        await page.focus("[data-player]")
        await page.keyboard.press("m")
        assert await page.evaluate("() => document.querySelector('video').muted")
        await page.keyboard.press("k")
        await until(page, "() => document.querySelector('video').paused")
        watched = await pool.fetchval(
            "SELECT count(*) FROM watches WHERE user_id = $1 AND movie_id = $2", user.id, movie_id
        )
        assert watched == 1


async def _add_seeded_film(pool, seeder, folder, title: str) -> int:
    seeded = await asyncio.to_thread(seeder.seed, folder)
    movie_id = await pool.fetchval("INSERT INTO movies (title, year) VALUES ($1, 2024) RETURNING id", title)
    await pool.execute(
        """INSERT INTO torrents (movie_id, source, quality, info_hash, magnet, seeders)
           VALUES ($1, 'demo', '360p', $2, $3, 1)""",
        movie_id,
        seeded.info_hash,
        seeded.magnet,
    )
    return movie_id


def _menu(name: str) -> str:
    """[value, label, checked] of each item of a player menu."""
    return (
        f"() => Array.from(document.querySelectorAll('[data-{name}-menu] button'))"
        ".map(b => [b.dataset.value, b.textContent, b.getAttribute('aria-checked')])"
    )


async def test_audio_and_subtitle_menus_list_every_track_and_switch(
    live_server, open_page, make_seeder, tmp_path
):
    folder = tmp_path / "Deux Pistes"
    folder.mkdir()
    shape = Shape(
        audio=(AudioSpec("en", "ac3", tone_hz=300), AudioSpec("fr", "aac", default=True, tone_hz=1200))
    )
    await asyncio.to_thread(generate_shaped, folder / "film.mkv", shape, duration_s=12)
    write_srt(folder / "film.en.srt", [(0.5, 11.5, "Hello")])
    write_srt(folder / "film.fr.srt", [(0.5, 11.5, "Déjà l'été")])
    movie_id = await _add_seeded_film(live_server.app[POOL], make_seeder(), folder, "Deux pistes")
    user = await live_server.create_user(language="fr")
    page = await open_page(locale="fr-FR")
    await sign_in(page, live_server, user)
    await page.goto(f"/movies/{movie_id}")
    await page.click("[data-start]")
    await until(page, "() => document.querySelector('video').currentTime > 0.5")
    # Audio: both tracks, the French default chosen; English reloads its playlist and plays on.
    assert await page.evaluate(_menu("audio")) == [["1", "English", "false"], ["2", "Français", "true"]]
    assert await page.is_visible("[data-audio-button]")
    await page.click("[data-audio-button]")
    await page.click("[data-audio-menu] button[data-value='1']")
    await until(page, "() => document.querySelector('[data-player]').player.plan.url.endsWith('?audio=1')")
    # hls.js plays the renditions' master playlist of that track.
    loaded = await page.evaluate("() => document.querySelector('[data-player]').player.hls.url")
    assert loaded.endswith(f"/stream/{movie_id}/hls/master.m3u8?audio=1")
    before = await page.evaluate("() => document.querySelector('video').currentTime")
    await until(page, f"() => document.querySelector('video').currentTime > {before} + 1")
    assert await page.evaluate(_menu("audio")) == [["1", "English", "true"], ["2", "Français", "false"]]
    # Subtitles: off, French (the user's), English; French shows; English chosen and remembered.
    assert await page.evaluate(_menu("subs")) == [
        ["", "Sous-titres désactivés", "false"],
        ["fr", "Français", "true"],
        ["en", "English", "false"],
    ]
    await page.click("[data-subs-button]")
    await page.click("[data-subs-menu] button[data-value='en']")
    showing = "() => Array.from(document.querySelector('video').textTracks).filter(t => t.mode === 'showing').map(t => t.language)"
    assert await page.evaluate(showing) == ["en"]
    # The offset control moves the cues by 0.5 s a click.
    await until(
        page,
        "() => { const t = Array.from(document.querySelector('video').textTracks).find(t => t.language === 'en'); return t.cues && t.cues.length; }",
    )
    await page.click("[data-subs-shift='1']")
    start = await page.evaluate(
        "() => Array.from(document.querySelector('video').textTracks).find(t => t.language === 'en').cues[0].startTime"
    )
    assert start == 1.0
    assert (await page.text_content("[data-subs-offset]")).strip() == "+0.5 s"
    await page.reload()
    await page.click("[data-start]")
    await until(page, "() => document.querySelector('video').currentTime > 0.5")
    assert await page.evaluate(showing) == ["en"]
    # While the controls show, the cues sit above their bar (lines counted from the bottom, 5 % of the
    # video's height each at least); once the controls hide, back at the bottom.
    cue = "Array.from(document.querySelector('video').textTracks).find(t => t.language === 'en').cues[0]"
    bar = (
        "(() => { const c = document.querySelector('[data-controls]'), v = document.querySelector('video');"
        " return (c.offsetHeight - parseFloat(getComputedStyle(c).paddingTop)) / v.clientHeight * 100; })()"
    )
    lifted = await until(page, f"() => {{ const c = {cue}; return c && c.line !== 'auto' && [c.line, {bar}]; }}")
    assert -1 - lifted[0] >= lifted[1] / 5 > 0
    await until(page, "() => document.querySelector('[data-player]').classList.contains('is-idle')")
    assert await page.evaluate(f"() => {{ const c = {cue}; return [c.line, c.snapToLines]; }}") == ["auto", True]
