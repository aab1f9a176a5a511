"""Finding 8: every opaque value a client sends back (page cursors, OAuth state, ids, tokens) is checked and
a forged one answers 400 (or 404 for a path naming nothing), never 500."""

from __future__ import annotations

import base64
import json

import pytest

from tests.fixtures.accounts import oauth_round_trip
from tests.security.helpers import api_headers, sign_up


def forged(key, movie_id) -> str:
    """A cursor built the way the server builds them, around values it never gives out."""
    return base64.urlsafe_b64encode(json.dumps([key, movie_id]).encode()).decode().rstrip("=")


# (sort, cursor): a NUL in a title key, ids past the database's 64 bits, and keys of the wrong size.
FORGED = [
    ("name", forged("a\x00b", 1)),
    ("name", forged("abc", 2**63)),
    ("name", forged("abc", 2**64 - 1)),
    ("name", forged("abc", -(2**63) - 1)),
    ("popularity", forged(1.0, 2**63)),
    ("name", forged("\ud800", 1)),
    ("name", "%00"),
    ("name", "A" * 2000),
]


@pytest.mark.parametrize(("sort", "cursor"), FORGED)
async def test_forged_cursors_answer_400(site, db, api_movie, sort, cursor):
    await sign_up(site)
    for _ in range(3):
        await api_movie()
    headers = await api_headers(site)
    for path in (
        f"/?sort={sort}&after={cursor}",
        f"/library/page?sort={sort}&after={cursor}",
        f"/api/v1/movies?sort={sort}&cursor={cursor}",
    ):
        resp = await site.get(path, headers=headers if path.startswith("/api") else None)
        assert resp.status == 400, (path, resp.status, (await resp.text())[:300])


@pytest.mark.parametrize(
    "path",
    [
        "/movies/99999999999999999999",
        "/movies/9223372036854775808",
        "/movies/-1",
        "/stream/9223372036854775808",
        "/api/v1/users/9223372036854775808",
        "/api/v1/movies/9223372036854775808",
        "/api/v1/comments/9223372036854775808",
        "/api/v1/comments?cursor=9223372036854775808",
        "/api/v1/users?cursor=99999999999999999999",
        "/users/%00",
        "/password/reset/%00abc",
        "/email/verify/%00abc",
        "/settings/sessions/%00/end",
    ],
)
async def test_forged_ids_and_tokens_are_refused_cleanly(site, path):
    await sign_up(site)
    headers = await api_headers(site)
    method = "POST" if path.endswith("/end") else "GET"
    resp = await site.request(method, path, headers=headers, allow_redirects=False)
    assert resp.status in (303, 400, 403, 404), (path, resp.status, (await resp.text())[:300])


@pytest.mark.parametrize("state", ["\x00", "a" * 5000, "é", "null"])
async def test_forged_oauth_state_is_refused(site, state):
    start = await site.get("/auth/google/login", allow_redirects=False)
    assert start.status == 302
    resp = await site.get(
        "/auth/google/callback", params={"state": state, "code": "x"}, allow_redirects=False
    )
    assert resp.status == 303 and resp.headers["Location"] == "/login?oauth_error=state"
    assert (await oauth_round_trip(site, "google")).status == 303


@pytest.mark.parametrize("token", ["Bearer", "x" * 10000, "a.b.c", "é"])
async def test_forged_bearer_tokens_answer_401(site, token):
    value = f"Bearer {token}".encode().decode("latin-1")
    resp = await site.get("/api/v1/movies", headers={"Authorization": value})
    assert resp.status in (400, 401), resp.status
