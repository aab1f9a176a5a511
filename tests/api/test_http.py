"""HTTP behaviour of the API: status codes, media types, limits, rate limits and CORS."""

from __future__ import annotations

import pytest

from hypertube.http.api.policy import Limits
from hypertube.keys import API_LIMITS
from tests.fixtures.api import Api


@pytest.fixture
async def me(api, make_user, api_token, api_movie):
    user = await make_user()
    caller = api.as_(await api_token(api.client, user))
    caller.user = user
    caller.movie = await api_movie()
    return caller


async def test_wrong_method_is_405_with_allow(me):
    resp = await me.request("PUT", f"/api/v1/users/{me.user.id}", json={}, check=False)
    assert resp.status == 405
    assert set(resp.headers["Allow"].split(",")) == {"GET", "PATCH"}
    assert resp.data["error"]["code"] == "method_not_allowed"
    resp = await me.request("DELETE", "/api/v1/movies", check=False)
    assert resp.status == 405 and resp.headers["Allow"] == "GET"


async def test_accept_without_json_is_406(me):
    resp = await me.get("/api/v1/movies", headers={"Accept": "text/html"})
    assert resp.status == 406 and resp.data["error"]["code"] == "not_acceptable"
    resp = await me.get("/api/v1/movies", headers={"Accept": "application/json;q=0, text/plain"})
    assert resp.status == 406
    for accept in ("application/json", "*/*", "application/*", "text/html, application/json;q=0.5"):
        assert (await me.get("/api/v1/movies", headers={"Accept": accept})).status == 200


async def test_non_json_body_is_415(me):
    resp = await me.post(
        "/api/v1/comments",
        data=f"comment=hi&movie_id={me.movie}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 415 and resp.data["error"]["code"] == "unsupported_media_type"
    resp = await me.post("/api/v1/comments", data=b"{}")  # no Content-Type at all
    assert resp.status == 415


async def test_malformed_json_is_400_and_wrong_shape_422(me):
    for raw in (b"{", b'{"comment": "x",}', b"\xff\xfe", b'{"comment": "\\ud800"}'):
        resp = await me.post("/api/v1/comments", data=raw, headers={"Content-Type": "application/json"})
        assert resp.status == 400 and resp.data["error"]["code"] == "invalid_json", raw
    for doc in (b"[]", b'"text"', b"null", b"42"):
        resp = await me.post("/api/v1/comments", data=doc, headers={"Content-Type": "application/json"})
        assert resp.status == 422, doc


async def test_a_very_long_address_is_414_with_a_message(me, client):
    # Repeated parameters full of odd characters, as a fuzzer sends them: past 8 KiB the answer is the
    # usual JSON envelope (the HTTP parser alone would send a bare text/plain 400 past 8190 bytes).
    odd = "%F1%82%9D%8A%C3%8E%7B%27%5CU000b%27%3A+-4.08e%2B16%7D"
    resp = await me.get("/api/v1/comments?" + "&".join(f"movie_id={odd}" for _ in range(400)))
    assert resp.status == 414 and resp.data["error"]["code"] == "uri_too_long"
    assert "too long" in resp.data["error"]["message"]
    # Pages answer with the error page.
    page = await client.get("/?q=" + "x" * 9000)
    assert page.status == 414 and page.headers["Content-Type"].startswith("text/html")
    # Just under the limit is an ordinary request.
    ok = await me.get("/api/v1/movies?q=" + "x" * 7000)
    assert ok.status in (200, 400)


async def test_huge_body_is_413(me):
    big = b'{"comment": "' + b"x" * 70_000 + b'"}'
    resp = await me.post(
        f"/api/v1/movies/{me.movie}/comments", data=big, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413 and resp.data["error"]["code"] == "payload_too_large"

    async def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(20):
            yield b"x" * 8192

    resp = await me.post(
        f"/api/v1/movies/{me.movie}/comments", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413


async def test_unknown_api_path_is_a_json_404(me):
    resp = await me.get("/api/v1/nothing-here", check=False)
    assert resp.status == 404 and resp.data["error"]["code"] == "not_found"


async def test_rate_limit_per_client_is_429_with_retry_after(
    aiohttp_client, make_app, make_user, api_token, api_spec
):
    app = make_app()
    app[API_LIMITS] = Limits(requests=3, window=60)
    client = await aiohttp_client(app)
    api = Api(client, api_spec)
    user = await make_user()
    first, second = api.as_(await api_token(client, user)), api.as_(await api_token(client, user))
    for _ in range(3):
        assert (await first.get("/api/v1/movies")).status == 200
    resp = await first.get("/api/v1/movies")
    assert resp.status == 429 and resp.data["error"]["code"] == "rate_limited"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    # Limits are per client: another client of the same user still gets through.
    assert (await second.get("/api/v1/movies")).status == 200


async def test_cors_only_for_configured_origins(aiohttp_client, make_app, make_user, api_token, api_spec):
    client = await aiohttp_client(make_app(cors_origins=("https://app.example",)))
    api = Api(client, api_spec)
    me = api.as_(await api_token(client, await make_user()))
    preflight = await client.options(
        "/api/v1/comments",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert set(preflight.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST"}
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight.headers

    refused = await client.options(
        "/api/v1/comments",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers

    resp = await me.get("/api/v1/movies", headers={"Origin": "https://app.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Location" in resp.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in resp.headers
    resp = await me.get("/api/v1/movies", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    # Errors carry the header too, so a browser client can read them.
    resp = await api.get("/api/v1/movies", headers={"Origin": "https://app.example"})
    assert resp.status == 401 and resp.headers["Access-Control-Allow-Origin"] == "https://app.example"
    # Pages are never opened to other origins.
    page = await client.get("/healthz", headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in page.headers


async def test_no_cors_when_none_configured(me):
    resp = await me.client.options(
        "/api/v1/movies", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    )
    assert resp.status == 403
    resp = await me.get("/api/v1/movies", headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_api_needs_no_csrf_token_and_sets_no_cookie(
    aiohttp_client, make_app, make_user, api_movie, make_api_client
):
    client = await aiohttp_client(make_app())
    cid, secret = await make_api_client(await make_user())
    movie = await api_movie()
    token = await client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret},
    )
    assert "Set-Cookie" not in token.headers
    bearer = {"Authorization": f"Bearer {(await token.json())['access_token']}"}
    for resp in (
        await client.post(
            f"/api/v1/movies/{movie}/comments",
            json={"comment": "hi"},
            headers={**bearer, "Origin": "https://elsewhere.example"},
        ),
        await client.get("/api/v1/movies", headers=bearer),
        await client.get("/api/v1/movies/0", headers=bearer),
        await client.get("/api/v1/openapi.json"),
        await client.get("/api/docs"),
    ):
        assert resp.status in (200, 201, 404)
        assert "Set-Cookie" not in resp.headers, resp.url
    assert not list(client.session.cookie_jar)
