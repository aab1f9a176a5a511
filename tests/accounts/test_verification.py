"""Email confirmation: a link mailed at registration and on every address change."""

from __future__ import annotations

import re

from tests.accounts.test_reset import eml_text, wait_for
from tests.fixtures.accounts import STRONG_PASSWORD, oauth_round_trip, post_form, register


def verify_links(folder) -> list[tuple[str, str]]:
    """(recipient line, path) of every confirmation mail written, oldest first."""
    found = []
    if folder.is_dir():
        for p in sorted(folder.glob("*.eml")):
            text = eml_text(p)
            m = re.search(r"http://127\.0\.0\.1:8000(/email/verify/[A-Za-z0-9_\-]+)", text)
            if m:
                to = re.search(r"^To: (.*)$", p.read_text(), re.M)
                found.append((to.group(1) if to else "", m.group(1)))
    return found


async def test_registration_mails_a_confirmation_link(accounts_client, db, settings):
    resp, data = await register(accounts_client)
    assert resp.status == 303
    page = await (await accounts_client.get("/profile")).text()
    assert "not confirmed yet" in page
    [(to, path)] = await wait_for(lambda: verify_links(settings.mail_dir))
    assert to == data["email"]
    resp = await accounts_client.get(path, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/profile?notice=email_verified"
    assert await db.fetchval("SELECT email_verified FROM users") is True
    page = await (await accounts_client.get("/profile")).text()
    assert "not confirmed yet" not in page
    # Signed out, the link still works (it is idempotent) and leads to the login page.
    accounts_client.session.cookie_jar.clear()
    resp = await accounts_client.get(path, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/login?notice=email_verified"


async def test_changed_address_needs_a_new_confirmation(accounts_client, db, settings):
    from tests.accounts.test_profile import post_profile

    resp, data = await register(accounts_client)
    [(_, first_link)] = await wait_for(lambda: verify_links(settings.mail_dir))
    fields = {k: data[k] for k in ("email", "username", "first_name", "last_name")} | {"language": "en"}
    resp = await post_profile(
        accounts_client, fields | {"email": "moved@example.org", "email_password": STRONG_PASSWORD}
    )
    assert resp.status == 303
    links = await wait_for(
        lambda: verify_links(settings.mail_dir) if len(verify_links(settings.mail_dir)) == 2 else None
    )
    assert links[1][0] == "moved@example.org"
    # The old link was for the old address: it confirms nothing now.
    resp = await accounts_client.get(first_link, allow_redirects=False)
    assert resp.headers["Location"] == "/profile?notice=verify_invalid"
    assert "invalid or expired" in await (await accounts_client.get(resp.headers["Location"])).text()
    assert await db.fetchval("SELECT email_verified FROM users") is False
    assert (await accounts_client.get(links[1][1], allow_redirects=False)).status == 303
    assert await db.fetchval("SELECT email_verified FROM users") is True


async def test_expired_or_made_up_links(accounts_client, db, settings):
    await register(accounts_client)
    [(_, path)] = await wait_for(lambda: verify_links(settings.mail_dir))
    await db.execute("UPDATE email_verifications SET expires_at = now() - interval '1 second'")
    for target in (path, "/email/verify/made-up", "/email/verify/" + "x" * 3000):
        resp = await accounts_client.get(target, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/profile?notice=verify_invalid"
    assert await db.fetchval("SELECT email_verified FROM users") is False


async def test_resend_is_limited(accounts_client, db):
    await register(accounts_client)
    statuses = []
    for _ in range(4):
        resp = await post_form(accounts_client, "/email/verify", {}, page="/profile")
        statuses.append(resp.status)
    assert statuses == [303, 303, 303, 429]
    assert await db.fetchval("SELECT count(*) FROM email_verifications") == 4  # registration + 3


async def test_confirmed_address_links_a_provider(aiohttp_client, make_app, fake_providers, db, settings):
    client = await aiohttp_client(make_app(bcrypt_cost=4, **fake_providers.settings()))
    resp, data = await register(client, email="grace.hopper@gmail.com")
    [(_, path)] = await wait_for(lambda: verify_links(settings.mail_dir))
    await client.get(path)
    client.session.cookie_jar.clear()
    resp = await oauth_round_trip(client, "google")
    assert resp.status == 303 and resp.headers["Location"] == "/"
    assert await db.fetchval("SELECT count(*) FROM users") == 1
    assert (
        await db.fetchval("SELECT u.username FROM oauth_identities i JOIN users u ON u.id = i.user_id")
        == data["username"]
    )
