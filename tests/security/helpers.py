"""Steps a user takes, shared by the security tests: signing up, asking for a reset, API credentials."""

from __future__ import annotations

import re

from tests.fixtures.accounts import STRONG_PASSWORD, page_csrf, post_form, register
from tests.fixtures.api import basic_auth
from tests.security.conftest import link_path, mails_to

NEW_PASSWORD = "Lantern-Orbit-Maple-93"


async def sign_up(client, **fields) -> dict:
    """Registers through the form (which signs the browser in); returns the fields with the user's id."""
    resp, data = await register(client, **fields)
    assert resp.status == 303, await resp.text()
    return data


async def user_id_of(db, username: str) -> int:
    return await db.fetchval("SELECT id FROM users WHERE username = $1::citext", username)


async def ask_reset(client, db, email: str) -> str:
    """Asks for a reset link on the forgot page; returns the path of the newest link mailed to `email`."""
    resp = await post_form(client, "/password/forgot", {"email": email})
    assert resp.status == 200
    mails = [m for m in await mails_to(db, email) if "/password/reset/" in m]
    assert mails, f"no reset mail to {email}"
    return link_path(mails[-1], "/password/reset/")


async def use_reset(client, path: str, password: str = NEW_PASSWORD):
    return await post_form(client, path, {"password": password})


async def log_in(client, username: str, password: str = STRONG_PASSWORD):
    return await post_form(client, "/login", {"username": username, "password": password})


async def api_credentials(client) -> tuple[str, str]:
    """Creates an API client on /settings/api-clients as the signed-in user; returns (id, secret)."""
    token = await page_csrf(client, "/settings/api-clients")
    headers = {"Origin": str(client.make_url("/")).rstrip("/")}
    resp = await client.post(
        "/settings/api-clients", data={"name": "script", "csrf_token": token}, headers=headers
    )
    # Post/Redirect/Get: the secret is on the page the POST redirects to, shown once.
    assert [r.status for r in resp.history] == [303] and resp.status == 200, await resp.text()
    html = await resp.text()
    cid = re.search(r'data-client-id="([^"]+)"', html)
    secret = re.search(r'data-client-secret="([^"]+)"', html)
    assert cid and secret
    return cid.group(1), secret.group(1)


async def bearer(client, cid: str, secret: str):
    """The token endpoint's answer for these credentials."""
    return await client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_auth(cid, secret)},
    )


async def api_headers(client) -> dict[str, str]:
    """Bearer headers for a new API client of the signed-in user."""
    resp = await bearer(client, *await api_credentials(client))
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['access_token']}"}
