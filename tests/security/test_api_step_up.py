"""Finding 2: the API changes a password or an email only with the current password, and a password reset
or "sign out everywhere else" ends the account's API tokens and clients too."""

from __future__ import annotations

from tests.fixtures.accounts import STRONG_PASSWORD, post_form
from tests.security.helpers import (
    NEW_PASSWORD,
    api_credentials,
    ask_reset,
    bearer,
    log_in,
    sign_up,
    use_reset,
    user_id_of,
)


async def _patch(site, uid: int, headers: dict, body: dict):
    return await site.patch(f"/api/v1/users/{uid}", json=body, headers=headers)


async def _token(site, cid: str, secret: str) -> dict[str, str]:
    resp = await bearer(site, cid, secret)
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['access_token']}"}


async def test_password_and_email_need_the_current_password(site, db):
    member = await sign_up(site)
    uid = await user_id_of(db, member["username"])
    headers = await _token(site, *await api_credentials(site))
    for change in ({"password": NEW_PASSWORD}, {"email": "taken-over@example.org"}):
        for proof in ({}, {"current_password": "Wrong-Guess-Entirely-11"}):
            resp = await _patch(site, uid, headers, change | proof)
            assert resp.status in (400, 403, 422), (change, proof, resp.status)
            assert (await resp.json())["error"]["field"] == "current_password"
    assert await db.fetchval("SELECT email FROM users WHERE id = $1", uid) == member["email"]
    # Fields that cannot take the account over need no proof.
    resp = await _patch(site, uid, headers, {"username": member["username"] + "x"})
    assert resp.status == 200
    resp = await _patch(site, uid, headers, {"password": NEW_PASSWORD, "current_password": STRONG_PASSWORD})
    assert resp.status == 200, await resp.text()
    site.session.cookie_jar.clear()
    assert (await log_in(site, member["username"] + "x", NEW_PASSWORD)).status == 303


async def test_password_reset_ends_api_tokens_and_clients(site, db):
    member = await sign_up(site)
    uid = await user_id_of(db, member["username"])
    cid, secret = await api_credentials(site)
    headers = await _token(site, cid, secret)
    assert (await site.get(f"/api/v1/users/{uid}", headers=headers)).status == 200
    link = await ask_reset(site, db, member["email"])
    page = await (await site.get(link)).text()
    assert "API" in page  # the reset page says programs lose their access too
    assert (await use_reset(site, link)).status == 303
    assert (await site.get(f"/api/v1/users/{uid}", headers=headers)).status == 401
    assert (await bearer(site, cid, secret)).status == 401


async def test_signing_out_everywhere_else_ends_api_tokens_and_clients(site, db, browser):
    member = await sign_up(site)
    laptop = browser("127.0.0.2")
    assert (await log_in(laptop, member["username"])).status == 303
    uid = await user_id_of(db, member["username"])
    cid, secret = await api_credentials(site)
    headers = await _token(site, cid, secret)
    page = await (await site.get("/settings/sessions")).text()
    assert "API" in page  # the page says the button also ends API access
    resp = await post_form(site, "/settings/sessions/end-others", {}, page="/settings/sessions")
    assert resp.status == 303
    assert (await site.get(f"/api/v1/users/{uid}", headers=headers)).status == 401
    assert (await bearer(site, cid, secret)).status == 401
    # This browser stays signed in; the other one is signed out.
    assert (await site.get("/settings/sessions", allow_redirects=False)).status == 200
    assert (await laptop.get("/settings/sessions", allow_redirects=False)).status == 303


async def test_an_account_without_a_password_changes_them_on_its_profile_page(site, db, make_user):
    from tests.conftest import login_as
    from tests.security.helpers import api_headers

    member = await make_user()  # as made by a sign-in provider: no password
    login_as(site, member)
    headers = await api_headers(site)
    resp = await _patch(site, member.id, headers, {"email": "moved@example.org", "current_password": "x"})
    assert resp.status == 403
    assert "no password yet" in (await resp.json())["error"]["message"]
