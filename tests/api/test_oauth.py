"""The token endpoint (RFC 6749 §4.4 client credentials) and Bearer authentication on the API."""

from __future__ import annotations

import asyncio
import base64
import time

import jwt
import pytest

from hypertube.accounts.tokens import issue_access_token
from hypertube.http.api.oauth import TOKEN_LIMIT
from tests.conftest import TEST_SECRET, login_as
from tests.fixtures.api import basic_auth

TOKEN = "/api/v1/oauth/token"


async def test_basic_auth_gets_a_bearer_token_that_acts_as_the_owner(api, make_user, make_api_client):
    user = await make_user()
    cid, secret = await make_api_client(user)
    resp = await api.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers={"Authorization": basic_auth(cid, secret)}
    )
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.data["token_type"] == "Bearer" and resp.data["expires_in"] == 900
    claims = jwt.decode(resp.data["access_token"], TEST_SECRET, algorithms=["HS256"], audience="api")
    assert claims["sub"] == str(user.id) and claims["cid"] == cid
    me = await api.as_({"Authorization": f"Bearer {resp.data['access_token']}"}).get(
        f"/api/v1/users/{user.id}"
    )
    assert me.status == 200 and me.data["email"] == user.email


async def test_credentials_in_the_form_body_work_too(api, make_user, make_api_client):
    cid, secret = await make_api_client(await make_user())
    resp = await api.post(
        TOKEN,
        data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret, "scope": "api"},
    )
    assert resp.status == 200 and resp.data["access_token"]


async def test_basic_credentials_are_form_decoded(api, make_user, make_api_client):
    cid, secret = await make_api_client(await make_user())
    encoded = base64.b64encode(f"{cid}:{secret}".replace("_", "%5F").encode()).decode()
    resp = await api.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {encoded}"}
    )
    assert resp.status == 200


@pytest.mark.parametrize(
    "form, auth, status, error",
    [
        ({"grant_type": "client_credentials"}, "wrong-secret", 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, "unknown-client", 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        ({"grant_type": "password"}, "basic", 400, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "x"}, "basic", 400, "unsupported_grant_type"),
        ({}, "basic", 400, "invalid_request"),
        ({"grant_type": "client_credentials", "scope": "admin"}, "basic", 400, "invalid_scope"),
        ({"grant_type": "client_credentials", "client_secret": "x"}, "basic", 400, "invalid_request"),
        ({"grant_type": "client_credentials"}, "bearer", 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, "garbage-basic", 401, "invalid_client"),
    ],
)
async def test_token_errors_follow_rfc_6749(api, make_user, make_api_client, form, auth, status, error):
    cid, secret = await make_api_client(await make_user())
    headers = {}
    if auth == "basic":
        headers["Authorization"] = basic_auth(cid, secret)
    elif auth == "wrong-secret":
        headers["Authorization"] = basic_auth(cid, secret + "x")
    elif auth == "unknown-client":
        headers["Authorization"] = basic_auth("htc_nobody", secret)
    elif auth == "bearer":
        headers["Authorization"] = "Bearer abc"
    elif auth == "garbage-basic":
        headers["Authorization"] = "Basic ***"
    resp = await api.post(TOKEN, data=form, headers=headers)
    assert resp.status == status
    assert set(resp.data) == {"error", "error_description"} and resp.data["error"] == error
    assert resp.headers["Cache-Control"] == "no-store"
    if status == 401:
        assert resp.headers["WWW-Authenticate"].startswith("Basic")


async def test_token_endpoint_wants_a_form(api, make_user, make_api_client):
    cid, secret = await make_api_client(await make_user())
    resp = await api.post(
        TOKEN,
        json={"grant_type": "client_credentials"},
        headers={"Authorization": basic_auth(cid, secret)},
    )
    assert resp.status == 400 and resp.data["error"] == "invalid_request"
    resp = await api.post(
        TOKEN,
        data="grant_type=client_credentials&grant_type=client_credentials",
        headers={
            "Authorization": basic_auth(cid, secret),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert resp.status == 400 and "repeated" in resp.data["error_description"]
    resp = await api.post(
        TOKEN,
        data="grant_type=client_credentials&pad=" + "x" * 20_000,
        headers={
            "Authorization": basic_auth(cid, secret),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert resp.status == 413 and resp.data["error"] == "invalid_request"


async def test_token_form_may_arrive_in_pieces(api, make_user, make_api_client):
    cid, secret = await make_api_client(await make_user())
    form = f"grant_type=client_credentials&client_id={cid}&client_secret={secret}&pad=" + "x" * 5000

    async def pieces():
        for i in range(0, len(form), 700):
            yield form[i : i + 700].encode()
            await asyncio.sleep(0)

    resp = await api.post(TOKEN, data=pieces(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200, resp.data


async def test_token_endpoint_only_takes_post(api):
    resp = await api.get(TOKEN, check=False)
    assert resp.status == 405 and resp.headers["Allow"] == "POST"
    assert resp.data["error"]["code"] == "method_not_allowed"


async def test_token_requests_are_rate_limited_per_address(api, make_user, make_api_client):
    cid, _ = await make_api_client(await make_user())
    for _ in range(TOKEN_LIMIT[0]):
        resp = await api.post(
            TOKEN, data={"grant_type": "client_credentials"}, headers={"Authorization": basic_auth(cid, "no")}
        )
        assert resp.status == 401
    resp = await api.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers={"Authorization": basic_auth(cid, "no")}
    )
    assert resp.status == 429 and resp.data["error"] == "slow_down"
    assert int(resp.headers["Retry-After"]) >= 1


# ---- Bearer tokens on the API ----------------------------------------------------------------------


async def test_no_token_is_a_401_with_a_bearer_challenge(api):
    resp = await api.get("/api/v1/movies")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert resp.data["error"]["code"] == "unauthorized"


async def _assert_invalid_token(api, token: str) -> None:
    resp = await api.get("/api/v1/movies", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 401, token
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    assert resp.data["error"]["code"] == "invalid_token"


async def test_forged_expired_and_foreign_tokens_are_refused(api, make_user, make_api_client):
    user = await make_user()
    cid, _ = await make_api_client(user)
    now = int(time.time())
    claims = {"sub": str(user.id), "iat": now, "exp": now + 600, "iss": "hypertube", "aud": "api", "cid": cid}
    await _assert_invalid_token(api, jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256"))
    await _assert_invalid_token(api, jwt.encode({**claims, "exp": now - 5}, TEST_SECRET, algorithm="HS256"))
    await _assert_invalid_token(api, jwt.encode({**claims, "aud": "web"}, TEST_SECRET, algorithm="HS256"))
    await _assert_invalid_token(
        api, jwt.encode({**claims, "cid": "htc_other"}, TEST_SECRET, algorithm="HS256")
    )
    await _assert_invalid_token(
        api, jwt.encode({**claims, "sub": str(user.id + 1)}, TEST_SECRET, algorithm="HS256")
    )
    await _assert_invalid_token(
        api, jwt.encode({k: v for k, v in claims.items() if k != "cid"}, TEST_SECRET, algorithm="HS256")
    )
    await _assert_invalid_token(api, jwt.encode(claims, None, algorithm="none"))
    await _assert_invalid_token(api, issue_access_token(TEST_SECRET, user.id, 600))  # a site token
    await _assert_invalid_token(api, "x" * 5000)
    await _assert_invalid_token(api, "ünïcode")
    # The genuine claims do work: the refusals above are about the token, not the user.
    resp = await api.get(
        "/api/v1/movies",
        headers={"Authorization": "Bearer " + jwt.encode(claims, TEST_SECRET, algorithm="HS256")},
    )
    assert resp.status == 200


async def test_the_site_cookie_never_authenticates_the_api(api, client, make_user):
    user = await make_user()
    login_as(client, user)
    resp = await api.get("/api/v1/movies")
    assert resp.status == 401
    resp = await api.post("/api/v1/comments", json={"comment": "hi", "movie_id": 1})
    assert resp.status == 401


async def test_expired_token_from_the_endpoint_is_refused(
    aiohttp_client, make_app, make_user, make_api_client, api_spec
):
    from tests.fixtures.api import Api

    api = Api(await aiohttp_client(make_app(access_token_ttl=1)), api_spec)
    cid, secret = await make_api_client(await make_user())
    resp = await api.post(
        TOKEN, data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret}
    )
    assert resp.data["expires_in"] == 1
    token = resp.data["access_token"]
    assert (await api.get("/api/v1/movies", headers={"Authorization": f"Bearer {token}"})).status == 200
    await asyncio.sleep(2.1)
    await _assert_invalid_token(api, token)
