"""`/settings/api-clients`: create a client (secret shown once, stored hashed), list and revoke."""

from __future__ import annotations

import hashlib
import re

from hypertube.accounts.api_clients import MAX_ACTIVE_CLIENTS
from tests.conftest import csrf_for, login_as
from tests.fixtures.api import basic_auth


async def _create(client, name: str):
    token = await csrf_for(client, "/settings/api-clients")
    return await client.post("/settings/api-clients", data={"name": name, "csrf_token": token})


def _credentials(html: str) -> tuple[str, str]:
    cid = re.search(r'data-client-id="([^"]+)"', html)
    secret = re.search(r'data-client-secret="([^"]+)"', html)
    assert cid and secret
    return cid.group(1), secret.group(1)


async def test_page_needs_sign_in(client):
    resp = await client.get("/settings/api-clients", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login")


async def test_create_shows_the_secret_once_and_stores_only_its_hash(client, make_user, db):
    user = await make_user()
    login_as(client, user)
    resp = await _create(client, "My <script>app</script>")
    # Post/Redirect/Get: the POST answers 303 to the page, which shows the secret (not in its URL).
    assert [r.status for r in resp.history] == [303] and resp.status == 200
    assert str(resp.url).endswith("/settings/api-clients")
    html = await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    assert "<script>app" not in html and "My &lt;script&gt;app&lt;/script&gt;" in html
    cid, secret = _credentials(html)
    row = await db.fetchrow("SELECT secret_hash, user_id, name FROM api_clients WHERE client_id = $1", cid)
    assert row["user_id"] == user.id and row["name"] == "My <script>app</script>"
    assert bytes(row["secret_hash"]) == hashlib.sha256(secret.encode()).digest()
    dump = str(await db.fetch("SELECT * FROM api_clients"))
    assert secret not in dump
    again = await (await client.get("/settings/api-clients")).text()
    assert cid in again and secret not in again and "data-client-secret" not in again
    token = await client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_auth(cid, secret)},
    )
    assert token.status == 200


async def test_reloading_after_a_create_makes_no_second_client(client, make_user, db):
    login_as(client, await make_user())
    await _create(client, "once")
    for _ in range(2):  # the browser's reload repeats the GET it was redirected to, not the POST
        html = await (await client.get("/settings/api-clients")).text()
        assert "data-client-secret" not in html and html.count('class="card api-client') == 1
    assert await db.fetchval("SELECT count(*) FROM api_clients") == 1


async def test_bad_names_are_refused_inline(client, make_user, db):
    login_as(client, await make_user())
    for name in ("", "   ", "x" * 81):
        resp = await _create(client, name)
        assert resp.status == 422
        html = await resp.text()
        assert 'class="field-error"' in html and "data-client-secret" not in html
    assert await db.fetchval("SELECT count(*) FROM api_clients") == 0


async def test_forms_need_the_csrf_token(client, make_user, db):
    user = await make_user()
    login_as(client, user)
    resp = await client.post("/settings/api-clients", data={"name": "x"})
    assert resp.status == 403
    assert await db.fetchval("SELECT count(*) FROM api_clients") == 0


async def test_revoking_a_client_kills_its_tokens(client, make_user, db):
    user = await make_user()
    login_as(client, user)
    cid, secret = _credentials(await (await _create(client, "bot")).text())
    token = (
        await (
            await client.post(
                "/api/v1/oauth/token",
                data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret},
            )
        ).json()
    )["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/movies", headers=bearer)).status == 200
    csrf = await csrf_for(client, "/settings/api-clients")
    resp = await client.post(
        f"/settings/api-clients/{cid}/revoke", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert resp.status == 303
    resp = await client.get("/api/v1/movies", headers=bearer)
    assert resp.status == 401 and 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    resp = await client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_auth(cid, secret)},
    )
    assert resp.status == 401
    assert "Revoked" in await (await client.get("/settings/api-clients")).text()


async def test_you_cannot_revoke_someone_elses_client(client, make_user, make_api_client, db):
    owner, intruder = await make_user(), await make_user()
    cid, _ = await make_api_client(owner)
    login_as(client, intruder)
    csrf = await csrf_for(client, "/settings/api-clients")
    await client.post(f"/settings/api-clients/{cid}/revoke", data={"csrf_token": csrf})
    assert await db.fetchval("SELECT revoked_at FROM api_clients WHERE client_id = $1", cid) is None
    assert cid not in await (await client.get("/settings/api-clients")).text()


async def test_active_clients_are_capped(client, make_user, make_api_client):
    user = await make_user()
    for i in range(MAX_ACTIVE_CLIENTS):
        await make_api_client(user, f"c{i}")
    login_as(client, user)
    resp = await _create(client, "one too many")
    assert resp.status == 422 and str(MAX_ACTIVE_CLIENTS) in await resp.text()
