"""Finding 5: an open Socket.IO connection ends with the session it was opened in (logout, "sign out" of
that session from elsewhere, a password change), on every node, and writes check the session first."""

from __future__ import annotations

import asyncio

import pytest

from tests.fixtures.accounts import FAST_BCRYPT, cookie, post_form
from tests.fixtures.live import LiveClient
from tests.security.helpers import log_in, sign_up


async def chatting(url: str, live_client, token: str, film: int) -> LiveClient:
    """A socket in the film's room that has just sent a chat message successfully."""
    sock = await live_client(url, token=token)
    assert (await sock.call("join", {"movie_id": film}))["ok"]
    assert (await sock.call("chat:send", {"movie_id": film, "text": "still here"}))["ok"]
    return sock


async def assert_ended(sock: LiveClient, film: int) -> None:
    """The server closes the socket promptly; nothing it sent after is accepted."""
    try:
        await asyncio.wait_for(sock.disconnected.wait(), 5)
    except TimeoutError:
        reply = await sock.call("chat:send", {"movie_id": film, "text": "after the session ended"})
        raise AssertionError(f"socket still open after its session ended; chat answered {reply}") from None


async def test_logout_ends_the_browsers_socket(site, db, live_client, make_movie):
    await sign_up(site)
    film = await make_movie()
    sock = await chatting(site.url, live_client, cookie(site, "access_token"), film)
    assert (await post_form(site, "/logout", {}, page="/profile")).status == 303
    await assert_ended(sock, film)
    rows = await db.fetch("SELECT body FROM chat_messages")
    assert [r["body"] for r in rows] == ["still here"]


async def test_ending_a_session_elsewhere_and_a_password_change_end_its_sockets(
    site, db, browser, live_client, make_movie
):
    member = await sign_up(site)
    film = await make_movie()
    laptop = browser("127.0.0.2")
    assert (await log_in(laptop, member["username"])).status == 303
    laptop_token = laptop.session.cookie_jar.filter_cookies(laptop.make_url("/"))["access_token"].value
    sock = await chatting(site.url, live_client, laptop_token, film)
    page = await (await site.get("/settings/sessions")).text()
    import re

    [other] = re.findall(r'data-session="([0-9a-f-]+)"(?! data-current)', page)
    resp = await post_form(site, f"/settings/sessions/{other}/end", {}, page="/settings/sessions")
    assert resp.status == 303
    await assert_ended(sock, film)

    own = await chatting(site.url, live_client, cookie(site, "access_token"), film)
    from tests.fixtures.accounts import STRONG_PASSWORD
    from tests.security.helpers import NEW_PASSWORD

    resp = await post_form(
        site,
        "/profile/password",
        {"current_password": STRONG_PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        page="/profile",
    )
    assert resp.status == 303
    await assert_ended(own, film)


@pytest.mark.slow
async def test_logout_on_one_node_ends_the_socket_on_another(
    aiohttp_client, make_app, redis_settings, live_client, make_movie
):
    first = await aiohttp_client(make_app(bcrypt_cost=FAST_BCRYPT, **redis_settings))
    second = await aiohttp_client(make_app(bcrypt_cost=FAST_BCRYPT, **redis_settings))
    await sign_up(first)
    film = await make_movie()
    url = str(second.server.make_url("/")).rstrip("/")
    sock = await chatting(url, live_client, cookie(first, "access_token"), film)
    assert (await post_form(first, "/logout", {}, page="/profile")).status == 303
    await assert_ended(sock, film)


async def test_a_write_right_after_logout_is_refused(site, db, live_client, make_movie):
    await sign_up(site)
    film = await make_movie()
    sock = await chatting(site.url, live_client, cookie(site, "access_token"), film)
    assert (await post_form(site, "/logout", {}, page="/profile")).status == 303
    # Sooner than the sweep that closes such sockets: the event itself checks the session.
    reply = await sock.call("chat:send", {"movie_id": film, "text": "too late"})
    assert reply["ok"] is False and reply["error"]["code"] == "session_expired"
    await asyncio.wait_for(sock.disconnected.wait(), 5)
    assert [r["body"] for r in await db.fetch("SELECT body FROM chat_messages")] == ["still here"]
