"""Login, logout, the `next` parameter and the login rate limit."""

from __future__ import annotations

import pytest

from hypertube.accounts.passwords import hash_password
from tests.fixtures.accounts import STRONG_PASSWORD, cookie, post_form, register


async def make_member(accounts_client):
    resp, data = await register(accounts_client)
    assert resp.status == 303
    accounts_client.session.cookie_jar.clear()
    return data


async def test_login_with_username_and_password(accounts_client):
    data = await make_member(accounts_client)
    resp = await post_form(
        accounts_client, "/login", {"username": data["username"].upper(), "password": STRONG_PASSWORD}
    )
    assert resp.status == 303 and resp.headers["Location"] == "/"
    assert cookie(accounts_client, "access_token") and cookie(accounts_client, "refresh_token")
    assert (await accounts_client.get("/profile", allow_redirects=False)).status == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("nobody_here", STRONG_PASSWORD),
        (None, "Wrong-password-42"),
        (None, ""),
        ("", ""),
        ("<script>alert(1)</script>", "x"),
        ("' OR 1=1 --", "' OR 1=1 --"),
        ("x" * 5000, "y" * 5000),
    ],
)
async def test_every_failure_has_the_same_message(accounts_client, db, username, password):
    data = await make_member(accounts_client)
    resp = await post_form(
        accounts_client,
        "/login",
        {"username": username if username is not None else data["username"], "password": password},
    )
    text = await resp.text()
    assert resp.status == 400
    assert "Wrong username or password." in text
    assert "<script>alert(1)" not in text
    assert cookie(accounts_client, "access_token") is None
    assert await db.fetchval("SELECT count(*) FROM session_families") == 1  # only the registration's


async def test_oauth_only_account_cannot_use_a_password(accounts_client, make_user):
    user = await make_user("oauthonly")
    resp = await post_form(
        accounts_client, "/login", {"username": user.username, "password": STRONG_PASSWORD}
    )
    assert resp.status == 400 and "Wrong username or password." in await resp.text()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/movies/3?x=1", "/movies/3?x=1"),
        ("/profile", "/profile"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/%0d%0aSet-Cookie:x=1", "/%0d%0aSet-Cookie:x=1"),
    ],
)
async def test_next_is_followed_only_for_local_paths(accounts_client, db, make_user, target, expected):
    user = await make_user("walker")
    await db.execute(
        "UPDATE users SET password_hash = $1 WHERE id = $2", await hash_password(STRONG_PASSWORD, 4), user.id
    )
    resp = await post_form(
        accounts_client,
        "/login",
        {"username": "walker", "password": STRONG_PASSWORD, "next": target},
        page="/login",
    )
    assert resp.status == 303
    assert resp.headers["Location"].lower() == expected.lower()
    assert "x=1" not in resp.headers.get("Set-Cookie", "")


async def test_login_page_keeps_next_for_the_form(accounts_client):
    resp = await accounts_client.get("/profile", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].replace("%2F", "/") == "/login?next=/profile"
    page = await (await accounts_client.get(resp.headers["Location"])).text()
    assert 'name="next" value="/profile"' in page


async def test_logout_revokes_the_session_and_clears_cookies(accounts_client, db):
    await register(accounts_client)
    refresh = cookie(accounts_client, "refresh_token")
    access = cookie(accounts_client, "access_token")
    resp = await post_form(accounts_client, "/logout", {}, page="/profile")
    assert resp.status == 303 and resp.headers["Location"].startswith("/login")
    set_cookies = " ".join(resp.headers.getall("Set-Cookie"))
    assert "access_token=;" in set_cookies.replace('""', "") and "Max-Age=0" in set_cookies
    assert await db.fetchval("SELECT revoked_reason FROM session_families") == "logout"
    assert (await accounts_client.get("/profile", allow_redirects=False)).status == 303
    # Cookies copied before logout are worth nothing now.
    accounts_client.session.cookie_jar.update_cookies({"access_token": access, "refresh_token": refresh})
    assert (await accounts_client.get("/profile", allow_redirects=False)).status == 303


async def test_logout_refuses_cross_site_posts(accounts_client):
    await register(accounts_client)
    resp = await accounts_client.post(
        "/logout", headers={"Origin": "http://evil.example"}, allow_redirects=False
    )
    assert resp.status == 403
    assert (await accounts_client.get("/profile", allow_redirects=False)).status == 200


async def test_login_is_rate_limited_per_account_with_a_message(accounts_client):
    data = await make_member(accounts_client)
    statuses = []
    for _ in range(12):
        resp = await post_form(
            accounts_client, "/login", {"username": data["username"], "password": "Wrong-password-42"}
        )
        statuses.append(resp.status)
        if resp.status == 429:
            break
    assert statuses[-1] == 429 and 500 not in statuses
    assert int(resp.headers["Retry-After"]) > 0
    assert "Too many attempts" in await resp.text()
    # Even the right password waits now: the limit protects the account, not the guess.
    resp = await post_form(
        accounts_client, "/login", {"username": data["username"], "password": STRONG_PASSWORD}
    )
    assert resp.status == 429


async def test_login_is_rate_limited_per_ip(accounts_client):
    statuses = []
    for i in range(35):
        resp = await post_form(
            accounts_client, "/login", {"username": f"someone{i}", "password": "Wrong-password-42"}
        )
        statuses.append(resp.status)
    assert 429 in statuses and set(statuses) <= {400, 429}
