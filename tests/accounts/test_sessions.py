"""Sessions: cookie flags, silent renewal, refresh-token rotation, reuse detection and expiry."""

from __future__ import annotations

import uuid

import pytest

from hypertube.accounts import sessions
from hypertube.accounts.tokens import decode_access_token, issue_access_token
from hypertube.http.auth import user_from_access_token
from hypertube.keys import POOL
from tests.conftest import TEST_SECRET, login_as
from tests.fixtures.accounts import cookie, register


def set_cookie_headers(resp) -> dict[str, str]:
    found = {}
    for header in resp.headers.getall("Set-Cookie", []):
        found[header.split("=", 1)[0]] = header
    return found


async def test_cookie_flags(accounts_client):
    resp, _ = await register(accounts_client)
    headers = set_cookie_headers(resp)
    access, refresh = headers["access_token"], headers["refresh_token"]
    for h in (access, refresh):
        assert "HttpOnly" in h and "SameSite=Lax" in h and "Path=/" in h and "Secure" not in h
    assert "Max-Age=900" in access
    max_age = int(refresh.split("Max-Age=")[1].split(";")[0])
    assert max_age >= 14 * 24 * 3600
    claims = decode_access_token(TEST_SECRET, cookie(accounts_client, "access_token"))
    assert claims["exp"] - claims["iat"] <= 15 * 60


async def test_cookies_are_secure_under_https(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(bcrypt_cost=4, base_url="https://films.example"))
    # The browser-side Origin must match the https base URL for the CSRF check.
    from tests.fixtures.accounts import page_csrf

    token = await page_csrf(client, "/register")
    resp = await client.post(
        "/register",
        data={
            "csrf_token": token,
            "email": "s@example.org",
            "username": "secure1",
            "first_name": "S",
            "last_name": "T",
            "password": "Velvet-Harbor-Quartz-58",
        },
        headers={"Origin": "https://films.example", "Cookie": f"ht_csrf={token}"},
        allow_redirects=False,
    )
    assert resp.status == 303
    headers = set_cookie_headers(resp)
    assert "Secure" in headers["access_token"] and "Secure" in headers["refresh_token"]


async def test_expired_access_token_is_renewed_silently(accounts_client, db):
    resp, data = await register(accounts_client)
    old_refresh = cookie(accounts_client, "refresh_token")
    user_id = await db.fetchval("SELECT id FROM users")
    expired = issue_access_token(TEST_SECRET, user_id, -10)
    accounts_client.session.cookie_jar.clear(lambda c: c.key == "access_token")
    accounts_client.session.cookie_jar.update_cookies({"access_token": expired})
    resp = await accounts_client.get("/profile", allow_redirects=False)
    assert resp.status == 200
    assert data["username"] in await resp.text()
    new_refresh = cookie(accounts_client, "refresh_token")
    assert new_refresh and new_refresh != old_refresh
    assert decode_access_token(TEST_SECRET, cookie(accounts_client, "access_token"))["sub"] == str(user_id)
    rows = await db.fetch("SELECT rotated_at FROM refresh_tokens ORDER BY created_at")
    assert len(rows) == 2 and rows[0]["rotated_at"] is not None and rows[1]["rotated_at"] is None
    # Only hashes are stored.
    stored = {bytes(r["token_hash"]) for r in await db.fetch("SELECT token_hash FROM refresh_tokens")}
    assert sessions.hash_token(new_refresh) in stored and new_refresh.encode() not in stored


async def test_missing_access_cookie_is_renewed_on_a_post_too(accounts_client):
    await register(accounts_client)
    accounts_client.session.cookie_jar.clear(lambda c: c.key == "access_token")
    resp = await accounts_client.get("/profile", allow_redirects=False)
    assert resp.status == 200 and cookie(accounts_client, "access_token")


async def test_reused_refresh_token_revokes_the_family(accounts_client, db):
    await register(accounts_client)
    stolen = cookie(accounts_client, "refresh_token")
    accounts_client.session.cookie_jar.clear(lambda c: c.key == "access_token")
    assert (await accounts_client.get("/profile", allow_redirects=False)).status == 200  # rotated
    # Past the grace window for racing requests, the old token is plainly replayed.
    await db.execute(
        "UPDATE refresh_tokens SET rotated_at = now() - interval '1 minute' WHERE rotated_at IS NOT NULL"
    )
    accounts_client.session.cookie_jar.clear()
    accounts_client.session.cookie_jar.update_cookies({"refresh_token": stolen})
    resp = await accounts_client.get("/profile", allow_redirects=False)
    assert resp.status == 303
    assert await db.fetchval("SELECT revoked_reason FROM session_families") == "reuse"
    # The legitimate holder of the newest token is signed out as well.
    newest_rows = await db.fetch("SELECT token_hash FROM refresh_tokens WHERE rotated_at IS NULL")
    assert len(newest_rows) == 1
    with pytest.raises(sessions.SessionInvalid):
        # We cannot recover the raw newest token from its hash, so check the family state directly.
        await sessions.rotate(accounts_client.app[POOL], stolen, 3600)


async def test_rotation_api_rotate_reuse_and_grace(accounts_client, db, make_user):
    pool = accounts_client.app[POOL]
    user = await make_user()
    family, first = await sessions.start_session(pool, user.id, 3600)
    second = await sessions.rotate(pool, first, 3600)
    assert second.refresh_token and second.family_id == family and second.user_id == user.id
    # A racing request with the same token inside the grace window keeps the session, gets no new token.
    racing = await sessions.rotate(pool, first, 3600)
    assert racing.refresh_token is None and racing.family_id == family
    third = await sessions.rotate(pool, second.refresh_token, 3600)
    assert third.refresh_token
    with pytest.raises(sessions.RefreshTokenReused):
        await sessions.rotate(pool, first, 3600, grace=0)
    with pytest.raises(sessions.SessionInvalid):
        await sessions.rotate(pool, third.refresh_token, 3600)
    with pytest.raises(sessions.SessionInvalid):
        await sessions.rotate(pool, "made-up-token", 3600)


async def test_expired_refresh_token_signs_out(accounts_client, db):
    await register(accounts_client)
    await db.execute("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
    accounts_client.session.cookie_jar.clear(lambda c: c.key == "access_token")
    resp = await accounts_client.get("/profile", allow_redirects=False)
    assert resp.status == 303
    assert "refresh_token=" in " ".join(resp.headers.getall("Set-Cookie", []))


async def test_user_from_access_token(accounts_client, db, make_user):
    app = accounts_client.app
    user = await make_user()
    assert (await user_from_access_token(app, issue_access_token(TEST_SECRET, user.id, 60))) == user
    assert await user_from_access_token(app, issue_access_token(TEST_SECRET, user.id, -1)) is None
    assert (
        await user_from_access_token(app, issue_access_token("another-secret-" + "y" * 30, user.id, 60))
        is None
    )
    assert await user_from_access_token(app, None) is None
    assert await user_from_access_token(app, "garbage") is None
    pool = app[POOL]
    family, _ = await sessions.start_session(pool, user.id, 3600)
    token = issue_access_token(TEST_SECRET, user.id, 60, fam=str(family))
    assert await user_from_access_token(app, token) == user
    await sessions.revoke_family(pool, family, "test")
    assert await user_from_access_token(app, token) is None
    other = issue_access_token(TEST_SECRET, user.id, 60, fam=str(uuid.uuid4()))
    assert await user_from_access_token(app, other) is None


async def test_login_as_helper_still_works(accounts_client, make_user):
    user = await make_user()
    login_as(accounts_client, user)
    assert (await accounts_client.get("/profile", allow_redirects=False)).status == 200


async def test_access_token_ttl_setting_is_used(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(bcrypt_cost=4, access_token_ttl=60))
    await register(client)
    claims = decode_access_token(TEST_SECRET, cookie(client, "access_token"))
    assert claims["exp"] - claims["iat"] == 60
