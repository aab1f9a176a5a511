"""Sign-in with 42, GitHub and Google against fake providers that speak their real JSON."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fixtures.accounts import cookie, oauth_round_trip, post_form, register

EXPECTED = {
    "ft": ("marvin", "marvin@student.42.fr", "Marvin", "Android", True),
    "github": ("octocat", "mona@example.com", "Mona Lisa", "Octocat", True),
    "google": ("grace.hopper", "grace.hopper@gmail.com", "Grace", "Hopper", True),
}


@pytest.mark.parametrize("provider", ["ft", "github", "google"])
async def test_first_sign_in_creates_an_account(oauth_client, fake_providers, db, provider):
    resp = await oauth_round_trip(oauth_client, provider)
    assert resp.status == 303 and resp.headers["Location"] == "/"
    username, email, first, last, verified = EXPECTED[provider]
    row = await db.fetchrow("SELECT * FROM users")
    assert (row["username"], row["email"], row["first_name"], row["last_name"]) == (
        username,
        email,
        first,
        last,
    )
    assert row["email_verified"] is verified and row["password_hash"] is None
    link = await db.fetchrow("SELECT provider, subject, user_id FROM oauth_identities")
    assert link["provider"] == provider and link["user_id"] == row["id"]
    assert (await oauth_client.get("/profile", allow_redirects=False)).status == 200
    # The second time, the same account is used.
    oauth_client.session.cookie_jar.clear()
    resp = await oauth_round_trip(oauth_client, provider)
    assert resp.status == 303
    assert await db.fetchval("SELECT count(*) FROM users") == 1
    assert await db.fetchval("SELECT count(*) FROM session_families") == 2


@pytest.mark.parametrize(("provider", "pkce"), [("ft", False), ("github", True), ("google", True)])
async def test_state_and_pkce_are_sent(oauth_client, fake_providers, provider, pkce):
    start = await oauth_client.get(f"/auth/{provider}/login", allow_redirects=False)
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert len(query["state"][0]) >= 32
    assert query["redirect_uri"] == [f"http://127.0.0.1:8000/auth/{provider}/callback"]
    assert ("code_challenge" in query) is pkce
    if pkce:
        assert query["code_challenge_method"] == ["S256"]
    set_cookie = next(h for h in start.headers.getall("Set-Cookie") if h.startswith("ht_oauth="))
    assert "Path=/auth/" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    resp = await oauth_round_trip(oauth_client, provider)
    assert resp.status == 303
    sent = fake_providers.token_requests[-1]
    assert ("code_verifier" in sent) is pkce


async def test_login_next_is_kept_through_the_provider(oauth_client, fake_providers):
    resp = await oauth_round_trip(oauth_client, "github", "?next=/movies/7")
    assert resp.headers["Location"] == "/movies/7"
    oauth_client.session.cookie_jar.clear()
    resp = await oauth_round_trip(oauth_client, "github", "?next=https://evil.example/")
    assert resp.headers["Location"] == "/"


async def test_taken_username_asks_for_another(oauth_client, fake_providers, make_user, db):
    await make_user("octocat")
    resp = await oauth_round_trip(oauth_client, "github")
    assert resp.status == 303 and resp.headers["Location"] == "/auth/choose-username"
    page = await oauth_client.get("/auth/choose-username")
    text = await page.text()
    assert page.status == 200 and "GitHub" in text and 'value="octocat"' in text
    resp = await post_form(oauth_client, "/auth/choose-username", {"username": "OCTOCAT"})
    assert resp.status == 400 and "already taken" in await resp.text()
    resp = await post_form(oauth_client, "/auth/choose-username", {"username": "<script>"})
    assert resp.status == 400 and "3 to 30 letters" in await resp.text()
    assert await db.fetchval("SELECT count(*) FROM users") == 1
    resp = await post_form(oauth_client, "/auth/choose-username", {"username": "mona_cat"})
    assert resp.status == 303
    row = await db.fetchrow(
        "SELECT u.username, i.provider FROM users u JOIN oauth_identities i ON i.user_id = u.id"
    )
    assert tuple(row) == ("mona_cat", "github")
    assert (await oauth_client.get("/profile", allow_redirects=False)).status == 200
    assert await _picture_of(db, "mona_cat")  # the picture came through the pending sign-up too
    # The pending sign-up is gone once used.
    page = await oauth_client.get("/auth/choose-username", allow_redirects=False)
    assert page.status == 303 and "oauth_error=expired" in page.headers["Location"]


async def test_choose_username_without_a_pending_sign_up(oauth_client):
    resp = await oauth_client.get("/auth/choose-username", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/login?oauth_error=expired"
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJkYXRhIjp7fX0.forged"
    oauth_client.session.cookie_jar.update_cookies({"ht_oauth_pending": forged})
    resp = await oauth_client.get("/auth/choose-username", allow_redirects=False)
    assert resp.status == 303


async def test_verified_email_links_to_the_existing_verified_account(
    oauth_client, fake_providers, make_user, db
):
    user = await make_user("grace", email="Grace.Hopper@gmail.com")  # make_user marks the email verified
    resp = await oauth_round_trip(oauth_client, "google")
    assert resp.status == 303
    assert await db.fetchval("SELECT count(*) FROM users") == 1
    assert await db.fetchval("SELECT user_id FROM oauth_identities WHERE provider = 'google'") == user.id
    page = await (await oauth_client.get("/profile")).text()
    assert "grace" in page


async def test_unverified_local_email_is_not_linked(oauth_client, fake_providers, db):
    resp, data = await register(oauth_client, email="grace.hopper@gmail.com")
    assert resp.status == 303
    oauth_client.session.cookie_jar.clear()
    resp = await oauth_round_trip(oauth_client, "google")
    assert resp.status == 303 and resp.headers["Location"] == "/login?oauth_error=email_in_use"
    page = await (await oauth_client.get(resp.headers["Location"])).text()
    assert "already uses this email" in page
    assert await db.fetchval("SELECT count(*) FROM oauth_identities") == 0


async def test_unverified_provider_email_is_not_linked(oauth_client, fake_providers, make_user, db):
    await make_user("grace", email="grace.hopper@gmail.com")
    fake_providers.users["google"]["email_verified"] = False
    resp = await oauth_round_trip(oauth_client, "google")
    assert resp.headers["Location"] == "/login?oauth_error=email_in_use"
    assert await db.fetchval("SELECT count(*) FROM oauth_identities") == 0


async def test_github_without_verified_email_is_refused(oauth_client, fake_providers, db):
    # An unverified address from the list may belong to someone else: it neither creates nor links an account.
    fake_providers.github_emails = [
        {"email": "x@example.com", "primary": True, "verified": False, "visibility": None}
    ]
    resp = await oauth_round_trip(oauth_client, "github")
    assert resp.headers["Location"] == "/login?oauth_error=no_email"
    page = await (await oauth_client.get(resp.headers["Location"])).text()
    assert "did not share a verified email" in page
    assert await db.fetchval("SELECT count(*) FROM users") == 0


async def test_github_public_email_when_the_email_list_is_unavailable(oauth_client, fake_providers, db):
    # Without the user:email scope GitHub answers 404 on /user/emails; the public address (which GitHub
    # only allows from the verified ones) still makes an account, but is not trusted for linking.
    fake_providers.github_emails = None
    fake_providers.users["github"]["public_email"] = "octo@example.net"
    resp = await oauth_round_trip(oauth_client, "github")
    assert resp.status == 303 and resp.headers["Location"] == "/"
    row = await db.fetchrow("SELECT email, email_verified FROM users")
    assert tuple(row) == ("octo@example.net", False)


async def test_denied_consent_is_a_message(oauth_client, fake_providers, db):
    fake_providers.deny = True
    resp = await oauth_round_trip(oauth_client, "github")
    assert resp.status == 303 and resp.headers["Location"] == "/login?oauth_error=denied"
    page = await oauth_client.get(resp.headers["Location"])
    assert page.status == 400 and "cancelled" in await page.text()
    assert await db.fetchval("SELECT count(*) FROM users") == 0


async def test_bad_state_is_refused(oauth_client, fake_providers, db):
    start = await oauth_client.get("/auth/google/login", allow_redirects=False)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    resp = await oauth_client.get(f"/auth/google/callback?code=abc&state={state}x", allow_redirects=False)
    assert resp.headers["Location"] == "/login?oauth_error=state"
    # No state cookie at all (another browser, or it expired).
    oauth_client.session.cookie_jar.clear()
    resp = await oauth_client.get(f"/auth/google/callback?code=abc&state={state}", allow_redirects=False)
    assert resp.headers["Location"] == "/login?oauth_error=state"
    # A state cookie for another provider.
    await oauth_client.get("/auth/ft/login", allow_redirects=False)
    resp = await oauth_client.get(f"/auth/google/callback?code=abc&state={state}", allow_redirects=False)
    assert resp.headers["Location"] == "/login?oauth_error=state"
    page = await (await oauth_client.get("/login?oauth_error=state")).text()
    assert "Please try again" in page
    assert fake_providers.token_requests == []


@pytest.mark.parametrize("provider", ["ft", "github", "google"])
async def test_token_endpoint_failure_is_a_message(oauth_client, fake_providers, db, provider):
    fake_providers.token_status = 500
    resp = await oauth_round_trip(oauth_client, provider)
    assert resp.status == 303 and resp.headers["Location"] == "/login?oauth_error=provider"
    page = await oauth_client.get(resp.headers["Location"])
    assert "could not complete the sign-in" in await page.text()
    assert await db.fetchval("SELECT count(*) FROM users") == 0


@pytest.mark.parametrize("provider", ["ft", "github", "google"])
async def test_rejected_code_is_a_message(oauth_client, fake_providers, provider):
    start = await oauth_client.get(f"/auth/{provider}/login", allow_redirects=False)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    resp = await oauth_client.get(
        f"/auth/{provider}/callback?code=made-up&state={state}", allow_redirects=False
    )
    assert resp.headers["Location"] == "/login?oauth_error=provider"


async def test_provider_down_is_a_message(aiohttp_client, make_app, fake_providers):
    from tests.fixtures.accounts import free_port

    settings = fake_providers.settings() | {"oauth_google_token_url": f"http://127.0.0.1:{free_port()}"}
    client = await aiohttp_client(make_app(bcrypt_cost=4, **settings))
    resp = await oauth_round_trip(client, "google")
    assert resp.headers["Location"] == "/login?oauth_error=provider"


async def test_buttons_only_for_configured_providers(aiohttp_client, make_app, fake_providers):
    bare = await aiohttp_client(make_app(bcrypt_cost=4))
    for page in ("/login", "/register"):
        assert "/auth/" not in await (await bare.get(page)).text()
    assert (await bare.get("/auth/github/login", allow_redirects=False)).status == 404
    only_github = {k: v for k, v in fake_providers.settings().items() if "github" in k}
    client = await aiohttp_client(make_app(bcrypt_cost=4, **only_github))
    for page in ("/login", "/register"):
        text = await (await client.get(page)).text()
        assert (
            "/auth/github/login" in text and "/auth/ft/login" not in text and "/auth/google/login" not in text
        )
    assert (await client.get("/auth/nope/login", allow_redirects=False)).status == 404
    assert (await client.get("/auth/google/callback?code=x&state=y", allow_redirects=False)).status == 404


async def test_oauth_sign_in_sets_session_cookies(oauth_client, fake_providers):
    resp = await oauth_round_trip(oauth_client, "ft")
    assert cookie(oauth_client, "access_token") and cookie(oauth_client, "refresh_token")
    assert any(h.startswith("ht_oauth=") and "Max-Age=0" in h for h in resp.headers.getall("Set-Cookie"))


async def test_parallel_first_sign_ins_make_one_account(oauth_client, db):
    import asyncio

    from hypertube.accounts import oauth
    from hypertube.keys import POOL

    identity = oauth.Identity("github", "777", "twin@example.org", True, "twin", "Twin", "Peaks")
    pool = oauth_client.app[POOL]
    first, second = await asyncio.gather(
        oauth.create_account(pool, identity, "twin"), oauth.create_account(pool, identity, "twin")
    )
    assert first.id == second.id
    assert await db.fetchval("SELECT count(*) FROM users") == 1
    assert await db.fetchval("SELECT count(*) FROM oauth_identities") == 1


async def _picture_of(db, username: str | None = None, limit: float = 5.0):
    """The account's picture name once the background import has stored it (None after `limit`)."""
    for _ in range(int(limit * 20)):
        name = await db.fetchval(
            "SELECT picture FROM users WHERE $1::text IS NULL OR username = $1", username
        )
        if name:
            return name
        await asyncio.sleep(0.05)
    return None


@pytest.mark.parametrize("provider", ["ft", "github", "google"])
async def test_the_providers_picture_becomes_the_new_accounts_picture(
    oauth_client, fake_providers, db, settings, provider
):
    from PIL import Image

    resp = await oauth_round_trip(oauth_client, provider)
    assert resp.status == 303
    name = await _picture_of(db)
    assert name, fake_providers.picture_requests
    assert fake_providers.picture_requests == [
        {"ft": "ft.jpg", "github": "github.png", "google": "google.png"}[provider]
    ]
    # Stored like an upload: a 256 px square WebP, served from /media/avatars/.
    path = settings.data_dir / "avatars" / name
    with Image.open(path) as img:
        assert img.format == "WEBP" and img.size == (256, 256)
    served = await oauth_client.get(f"/media/avatars/{name}")
    assert served.status == 200
    # The next sign-in keeps it and fetches nothing.
    oauth_client.session.cookie_jar.clear()
    await oauth_round_trip(oauth_client, provider)
    await asyncio.sleep(0.3)
    assert len(fake_providers.picture_requests) == 1
    assert await db.fetchval("SELECT picture FROM users") == name


@pytest.mark.parametrize(
    ("status", "body"),
    [(404, None), (200, b"<html>not a picture</html>"), (200, b"\x89PNG\r\n\x1a\n" + b"\0" * 100)],
)
async def test_a_broken_provider_picture_leaves_the_account_without_one(
    oauth_client, fake_providers, db, settings, status, body
):
    fake_providers.picture_status = status
    fake_providers.picture_bytes = body
    resp = await oauth_round_trip(oauth_client, "github")
    assert resp.status == 303
    assert (await oauth_client.get("/profile", allow_redirects=False)).status == 200
    await asyncio.sleep(0.5)
    assert fake_providers.picture_requests == ["github.png"]
    assert await db.fetchval("SELECT picture FROM users") is None
    folder = settings.data_dir / "avatars"
    assert not folder.exists() or not any(folder.iterdir())


async def test_an_account_with_a_picture_keeps_it(oauth_client, fake_providers, make_user, db):
    user = await make_user("grace", email="grace.hopper@gmail.com")
    await db.execute("UPDATE users SET picture = $2 WHERE id = $1", user.id, "a" * 32 + ".webp")
    await oauth_round_trip(oauth_client, "google")
    await asyncio.sleep(0.3)
    assert fake_providers.picture_requests == []
    assert await db.fetchval("SELECT picture FROM users") == "a" * 32 + ".webp"
