"""`/settings/sessions`: every browser signed in to the account, ending one, ending all the others."""

from __future__ import annotations

import re
import uuid

from aiohttp.test_utils import TestClient

from hypertube.accounts import sessions
from tests.fixtures.accounts import STRONG_PASSWORD, page_csrf, post_form, register

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


async def _browser(client: TestClient, user_agent: str) -> TestClient:
    """Another browser on the same server, with its own cookies and User-Agent."""
    other = TestClient(client.server, headers={"User-Agent": user_agent})
    await other.start_server()
    return other


async def _sign_in(browser: TestClient, username: str) -> None:
    resp = await post_form(browser, "/login", {"username": username, "password": STRONG_PASSWORD})
    assert resp.status == 303


def _listed(html: str) -> list[str]:
    return re.findall(r'data-session="([0-9a-f-]{36})"', html)


async def _signed_in(browser: TestClient) -> bool:
    return (await browser.get("/profile", allow_redirects=False)).status == 200


async def test_sessions_lists_each_browser_and_ends_one(accounts_client):
    resp, account = await register(accounts_client)
    assert resp.status == 303
    phone = await _browser(accounts_client, SAFARI_IPHONE)
    laptop = await _browser(accounts_client, FIREFOX_LINUX)
    try:
        await _sign_in(phone, account["username"])
        await _sign_in(laptop, account["username"])
        page = await accounts_client.get("/settings/sessions")
        assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
        html = await page.text()
        ids = _listed(html)
        assert len(ids) == 3
        assert "Firefox on Linux" in html and "Safari on iOS" in html and "Unknown device" in html
        current = re.search(r'data-session="([0-9a-f-]{36})" data-current', html)
        assert current and current.group(1) == ids[0]  # this browser first

        laptop_html = await (await laptop.get("/settings/sessions")).text()
        laptop_id = re.search(r'data-session="([0-9a-f-]{36})" data-current', laptop_html).group(1)
        resp = await post_form(
            accounts_client, f"/settings/sessions/{laptop_id}/end", {}, page="/settings/sessions"
        )
        assert resp.status == 303 and resp.headers["Location"] == "/settings/sessions"
        html = await (await accounts_client.get("/settings/sessions")).text()
        assert laptop_id not in _listed(html) and len(_listed(html)) == 2
        assert "That session has been ended." in html
        # Signed out at once, and its refresh token cannot bring it back.
        assert not await _signed_in(laptop)
        assert await _signed_in(phone) and await _signed_in(accounts_client)

        # Ending it again, a made-up one or a malformed id: 404 with a message, nothing else ends.
        for bad in (laptop_id, str(uuid.uuid4()), "not-a-uuid", "' OR 1=1 --"):
            resp = await post_form(
                accounts_client, f"/settings/sessions/{bad}/end", {}, page="/settings/sessions"
            )
            assert resp.status == 404, bad
            assert "does not exist or has already ended" in await resp.text()
        assert await _signed_in(phone)
    finally:
        await phone.close()
        await laptop.close()


async def test_end_all_other_sessions_keeps_this_one(accounts_client, db):
    _, account = await register(accounts_client)
    others = [await _browser(accounts_client, ua) for ua in (SAFARI_IPHONE, FIREFOX_LINUX, FIREFOX_LINUX)]
    stranger_browser = others.pop()
    _, stranger = await register(stranger_browser)
    try:
        for other in others:
            await _sign_in(other, account["username"])
        resp = await post_form(
            accounts_client, "/settings/sessions/end-others", {}, page="/settings/sessions"
        )
        assert resp.status == 303
        html = await (await accounts_client.get("/settings/sessions")).text()
        assert "Other sessions ended: 2." in html and len(_listed(html)) == 1
        assert await _signed_in(accounts_client)
        assert [await _signed_in(o) for o in others] == [False, False]
        assert "Sign out all other sessions" not in html  # nothing left to end
        # Another account's sessions are untouched.
        user_id = await db.fetchval("SELECT id FROM users WHERE username = $1", stranger["username"])
        assert len(await sessions.open_sessions(db, user_id)) == 1
    finally:
        for other in (*others, stranger_browser):
            await other.close()


async def test_ending_this_browser_signs_it_out(accounts_client):
    await register(accounts_client)
    html = await (await accounts_client.get("/settings/sessions")).text()
    (mine,) = _listed(html)
    resp = await post_form(accounts_client, f"/settings/sessions/{mine}/end", {}, page="/settings/sessions")
    assert resp.status == 303 and resp.headers["Location"] == "/login?notice=logged_out"
    assert not await _signed_in(accounts_client)


async def test_sessions_need_a_signed_in_user_and_a_csrf_token(accounts_client):
    resp = await accounts_client.get("/settings/sessions", allow_redirects=False)
    assert resp.status in (302, 303) and resp.headers["Location"].startswith("/login")
    await register(accounts_client)
    await page_csrf(accounts_client, "/settings/sessions")  # the page carries a token
    resp = await accounts_client.post(
        "/settings/sessions/end-others",
        data={},
        headers={"Origin": str(accounts_client.make_url("/")).rstrip("/")},
        allow_redirects=False,
    )
    assert resp.status == 403
    assert await _signed_in(accounts_client)


def test_device_names_from_user_agents():
    assert sessions.device_of(FIREFOX_LINUX) == ("Firefox", "Linux")
    assert sessions.device_of(SAFARI_IPHONE) == ("Safari", "iOS")
    edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0"
    assert sessions.device_of(edge) == ("Edge", "Windows")
    assert sessions.device_of("<script>alert(1)</script>") == (None, None)
    assert sessions.device_of(None) == (None, None)


async def test_unlinking_a_provider_keeps_at_least_one_way_in(oauth_client, fake_providers, db):
    from tests.fixtures.accounts import oauth_round_trip

    assert (await oauth_round_trip(oauth_client, "github")).status == 303
    user_id = await db.fetchval("SELECT id FROM users")
    html = await (await oauth_client.get("/settings/sessions")).text()
    assert 'data-provider="github"' in html and "only way to sign in" in html
    # No password and no other provider: refused, with a message, and nothing removed.
    resp = await post_form(oauth_client, "/settings/providers/github/unlink", {}, page="/settings/sessions")
    assert resp.status == 303
    html = await (await oauth_client.get("/settings/sessions")).text()
    assert "set a password on your profile first" in html
    assert await db.fetchval("SELECT count(*) FROM oauth_identities WHERE user_id = $1", user_id) == 1
    # Unknown or not linked: 404 with a message.
    for provider in ("google", "myspace", "<script>"):
        resp = await post_form(
            oauth_client, f"/settings/providers/{provider}/unlink", {}, page="/settings/sessions"
        )
        assert resp.status == 404 and "not linked" in await resp.text()
    # With a password set, the link can go; the password still signs in.
    resp = await post_form(oauth_client, "/profile/password", {"password": STRONG_PASSWORD}, page="/profile")
    assert resp.status == 303
    resp = await post_form(oauth_client, "/settings/providers/github/unlink", {}, page="/settings/sessions")
    assert resp.status == 303
    html = await (await oauth_client.get("/settings/sessions")).text()
    assert "GitHub is no longer linked to your account." in html and 'data-provider="github"' not in html
    assert await db.fetchval("SELECT count(*) FROM oauth_identities") == 0
    username = await db.fetchval("SELECT username FROM users WHERE id = $1", user_id)
    oauth_client.session.cookie_jar.clear()
    resp = await post_form(oauth_client, "/login", {"username": username, "password": STRONG_PASSWORD})
    assert resp.status == 303
