"""The live panel in two real browser contexts: comments, chat, typing, presence and watch-together.

The film page's player area is replaced by a bare `<video data-video>` playing a generated 10 s clip:
that is the hook the player exposes, and it keeps this test independent of streaming."""

from __future__ import annotations

import asyncio
import io
import re

import aiohttp_jinja2
import av
import jinja2
import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import expect

from hypertube.catalog import chat, comments
from hypertube.keys import EVENTS, POOL, SETTINGS
from tests.fixtures.browser import no_horizontal_overflow, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PLAYER = """<div class="player-stand-in">
<video data-video src="/test-clip.webm" muted playsinline preload="auto" width="64" height="64"></video>
</div>"""


def _clip() -> bytes:
    """10 s of 64×64 VP9 in WebM, a grey ramp: small and decodable by chromium."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="webm") as out:
        stream = out.add_stream("libvpx-vp9", rate=10)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        stream.options = {"deadline": "realtime", "cpu-used": "8"}
        for i in range(100):
            frame = av.VideoFrame(64, 64, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([(i * 2) % 255]) * plane.buffer_size)
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def add_test_player(app: web.Application) -> None:
    env = aiohttp_jinja2.get_env(app)
    env.loader = jinja2.ChoiceLoader([jinja2.DictLoader({"player.html": PLAYER}), env.loader])
    clip = app[SETTINGS].data_dir / "test-clip.webm"
    clip.parent.mkdir(parents=True, exist_ok=True)
    clip.write_bytes(_clip())

    async def serve_clip(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(clip)  # byte ranges: chromium seeks only in media served with them

    app.router.add_get("/test-clip.webm", serve_clip)


@pytest_asyncio.fixture(loop_scope="session")
async def film_site(start_live_server):
    server = await start_live_server(prepare=add_test_player)
    movie_id = await server.app[POOL].fetchval(
        "INSERT INTO movies (title, year) VALUES ('Live Film', 2001) RETURNING id"
    )
    return server, movie_id


async def _until(page, expression: str, seconds: float = 10.0) -> None:
    """Polls a JavaScript expression until it is true (wait_for_function would need 'unsafe-eval' under our CSP)."""
    for _ in range(int(seconds / 0.05)):
        if await page.evaluate(expression):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still false after {seconds} s: {expression}")


async def _open_as(open_page, server, user, path: str, width: int = 1280):
    page = await open_page(base_url=server.url, width=width)
    await sign_in(page, server, user)
    await page.goto(path)
    await expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "ok")
    return page


async def test_comment_chat_typing_and_presence_reach_the_other_page(film_site, open_page):
    server, movie_id = film_site
    alice = await server.create_user("alice_live")
    bob = await server.create_user("bob_live")
    pa = await _open_as(open_page, server, alice, f"/movies/{movie_id}")
    pb = await _open_as(open_page, server, bob, f"/movies/{movie_id}", width=360)
    pa2 = await _open_as(open_page, server, alice, f"/movies/{movie_id}")
    await expect(pa.locator("[data-presence]")).to_contain_text("bob_live")
    await expect(pb.locator("[data-presence]")).to_contain_text("alice_live")

    # A comment posted through the page's form appears on the other page without a reload.
    await pa.fill("#comment-new", "A <b>live</b> comment")
    await pa.get_by_role("button", name="Post comment").click()
    await expect(pa.locator("[data-live-status]")).to_have_attribute("data-state", "ok")
    item = pb.locator("[data-comment-list] [data-comment-id]").first
    await expect(item.locator(".comment-body")).to_have_text("A <b>live</b> comment")
    await expect(item.locator(".comment-head a")).to_have_text("alice_live")
    await expect(pb.locator("[data-no-comments]")).to_have_count(0)
    await expect(pb.locator("[data-comment-count]")).to_have_text("(1)")
    # Only the author's other tab gets edit and delete controls on the live item, and they work.
    await expect(item.locator(".comment-edit, .comment-delete")).to_have_count(0)
    own = pa2.locator("[data-comment-list] [data-comment-id]").first
    await expect(own.locator(".comment-body")).to_have_text("A <b>live</b> comment")
    comment_id = await own.get_attribute("data-comment-id")
    await expect(own.locator("form.comment-delete")).to_have_attribute(
        "action", f"/movies/{movie_id}/comments/{comment_id}/delete"
    )
    await own.locator(".comment-edit summary").click()
    await expect(own.locator(".comment-edit textarea")).to_have_value("A <b>live</b> comment")
    await own.locator(".comment-edit textarea").fill("An edited comment")
    await own.get_by_role("button", name="Save").click()
    await expect(item.locator(".comment-body")).to_have_text("An edited comment")

    # Chat: the typing indicator, then the message with its author on both pages, as text.
    await pa.locator("[data-chat-input]").press_sequentially("hello <img src=x>")
    await expect(pb.locator("[data-typing]")).to_contain_text("alice_live")
    await pa.locator("[data-chat-input]").press("Enter")
    for page in (pa, pb):
        line = page.locator("[data-chat-log] .live-chat-item").last
        await expect(line.locator(".live-chat-text")).to_have_text("hello <img src=x>")
        await expect(line.locator(".live-chat-author")).to_have_text("alice_live")
    await expect(pb.locator("[data-chat-log] img[src='x']")).to_have_count(0)
    await expect(pa.locator("[data-chat-input]")).to_have_value("")
    scroll_width, inner_width = await no_horizontal_overflow(pb)
    assert scroll_width <= inner_width

    # A page opened later shows the history.
    carol = await server.create_user("carol_live")
    pc = await _open_as(open_page, server, carol, f"/movies/{movie_id}")
    await expect(pc.locator("[data-chat-log] .live-chat-text")).to_have_text(["hello <img src=x>"])


async def test_watch_together_play_pause_and_late_joiner(film_site, open_page):
    server, movie_id = film_site
    host = await server.create_user("host_live")
    guest = await server.create_user("guest_live")
    ph = await _open_as(open_page, server, host, f"/movies/{movie_id}")
    await ph.get_by_role("button", name="Watch together").click()
    await expect(ph.locator("[data-party-link]")).to_have_value(
        re.compile(rf"/movies/{movie_id}\?party=[\w-]{{12}}$")
    )
    link = await ph.locator("[data-party-link]").input_value()
    assert "party=" in ph.url

    pg = await _open_as(open_page, server, guest, link.removeprefix(server.url))
    await expect(pg.locator("[data-party-info]")).to_be_visible()
    await expect(pg.locator("[data-party-start]")).to_be_hidden()

    await ph.evaluate("document.querySelector('video[data-video]').play()")
    panel = pg.locator("[data-live-panel]")
    await expect(panel).to_have_attribute("data-party-playing", "true")
    await _until(pg, "!document.querySelector('video[data-video]').paused")
    await expect(pg.locator("[data-party-note]")).to_contain_text("host_live")
    # Both are listed in the group, in step.
    for page in (ph, pg):
        members = page.locator("[data-party-members] li")
        await expect(members).to_have_text([re.compile("^guest_live"), re.compile("^host_live")])
        await expect(members.and_(page.locator("[data-status='ready']"))).to_have_count(2)

    await pg.evaluate("document.querySelector('video[data-video]').pause()")
    await expect(ph.locator("[data-live-panel]")).to_have_attribute("data-party-playing", "false")
    await _until(ph, "document.querySelector('video[data-video]').paused")

    await ph.evaluate(
        "(() => { const v = document.querySelector('video[data-video]'); v.currentTime = 6; })()"
    )
    await _until(pg, "Math.abs(document.querySelector('video[data-video]').currentTime - 6) < 0.5")

    # Someone opening the link later jumps to where the party is.
    late = await server.create_user("late_live")
    pl = await _open_as(open_page, server, late, link.removeprefix(server.url))
    await _until(pl, "Math.abs(document.querySelector('video[data-video]').currentTime - 6) < 0.5")
    await expect(pl.locator("[data-live-panel]")).to_have_attribute("data-party-playing", "false")


# The library page loads live.js once the catalog's template includes it; until then this stand-in
# renders the catalog's real card partial with the module, as the library page is meant to.
async def test_download_progress_on_the_film_page_and_library_cards(start_live_server, open_page):
    server = await start_live_server(prepare=add_test_player)
    pool = server.app[POOL]
    movie_id = await pool.fetchval(
        "INSERT INTO movies (title, year, popularity) VALUES ('Downloading', 2001, 99) RETURNING id"
    )
    viewer = await server.create_user("viewer_live")
    film = await _open_as(open_page, server, viewer, f"/movies/{movie_id}")
    library = await open_page(base_url=server.url)
    await sign_in(library, server, viewer)
    await library.goto("/")
    card = library.locator(f"[data-movie-id='{movie_id}']")
    await expect(card).to_be_visible()
    await asyncio.sleep(1.0)  # the page reports its visible cards shortly after connecting

    events = server.app[EVENTS]
    progress = {"movie_id": movie_id, "progress": 0.42, "rate": 2 * 1024 * 1024, "peers": 3, "ready": False}
    await events.publish("download:progress", progress, room=f"movie:{movie_id}")
    await expect(film.locator("[data-live-progress-text]")).to_have_text(
        "42% downloaded · 2.0 MB/s · 3 peers"
    )
    await expect(film.locator("[data-live-progress-bar]")).to_have_attribute("value", "42")
    badge = card.locator("[data-live-card-progress]")
    await expect(badge).to_have_text("42%")
    await expect(badge).to_have_attribute("title", "42% downloaded · 2.0 MB/s · 3 peers")
    done = {**progress, "progress": 1.0, "ready": True}
    await events.publish("download:progress", done, room=f"movie:{movie_id}")
    await expect(badge).to_have_text("Ready to play")


async def test_a_page_reconnects_and_catches_up_on_what_it_missed(film_site, open_page):
    server, movie_id = film_site
    alice = await server.create_user("alice_again")
    bob = await server.create_user("bob_again")
    pa = await _open_as(open_page, server, alice, f"/movies/{movie_id}")

    # Bob's WebSockets go through a relay in the browser, so the test can cut them like a network drop.
    relays = []

    def relay(ws) -> None:
        relays.append((ws, ws.connect_to_server()))

    pb = await open_page(base_url=server.url)
    await pb.route_web_socket(re.compile(r"/socket\.io/"), relay)
    await sign_in(pb, server, bob)
    await pb.goto(f"/movies/{movie_id}")
    await expect(pb.locator("[data-live-status]")).to_have_attribute("data-state", "ok")
    await pa.locator("[data-chat-input]").fill("before the cut")
    await pa.locator("[data-chat-input]").press("Enter")
    await expect(pb.locator("[data-chat-log] .live-chat-text").last).to_have_text("before the cut")

    for page_side, server_side in relays:
        await server_side.close()
        await page_side.close()
    # While bob is away (the client waits at least half a second before reconnecting), alice chats
    # and comments.
    pool, events = server.app[POOL], server.app[EVENTS]
    await chat.post_message(pool, movie_id=movie_id, user_id=alice.id, text="while you were away")
    await comments.create_comment(pool, events, user_id=alice.id, movie_id=movie_id, body="missed comment")

    await expect(pb.locator("[data-chat-log] .live-chat-text").last).to_have_text(
        "while you were away", timeout=15_000
    )
    await expect(pb.locator("[data-comment-list] .comment-body").first).to_have_text("missed comment")
    await expect(pb.locator("[data-live-status]")).to_have_attribute("data-state", "ok")
    assert len(relays) >= 2  # it did reconnect by itself
