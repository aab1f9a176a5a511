"""Finding 1: a reset link confirms only the address it was mailed to, an email change ends every open
link, and a provider sign-in joins an account only when that account's address was proven by mail."""

from __future__ import annotations

from tests.accounts.test_profile import post_profile
from tests.fixtures.accounts import oauth_round_trip
from tests.security.conftest import link_path, mails_to
from tests.security.helpers import ask_reset, log_in, sign_up, use_reset

VICTIM = "grace.hopper@gmail.com"  # the fake Google user's verified address


def profile_fields(data: dict, **changes) -> dict:
    fields = {k: data[k] for k in ("email", "username", "first_name", "last_name")} | {"language": "en"}
    return fields | {"email_password": data["password"]} | changes


async def test_reset_link_then_email_change_cannot_capture_a_provider_sign_in(site, db):
    attacker = await sign_up(site)
    link = await ask_reset(site, db, attacker["email"])
    resp = await post_profile(site, profile_fields(attacker, email=VICTIM))
    assert resp.status == 303
    # The link went to the old address: it must not vouch for the new one (it is simply dead now).
    resp = await use_reset(site, link)
    assert resp.status == 400
    assert await db.fetchval("SELECT email_verified FROM users") is False
    site.session.cookie_jar.clear()
    resp = await oauth_round_trip(site, "google")
    assert resp.headers["Location"] == "/login?oauth_error=email_in_use"
    assert await db.fetchval("SELECT count(*) FROM oauth_identities") == 0


async def test_reset_link_still_confirms_the_address_it_reached(site, db):
    member = await sign_up(site, email=VICTIM)
    link = await ask_reset(site, db, member["email"])
    assert (await use_reset(site, link)).status == 303
    assert await db.fetchval("SELECT email_verified FROM users") is True
    # A proven address may be joined by the provider that vouches for the same address.
    site.session.cookie_jar.clear()
    resp = await oauth_round_trip(site, "google")
    assert resp.status == 303 and resp.headers["Location"] == "/"
    assert await db.fetchval("SELECT count(*) FROM oauth_identities") == 1


async def test_email_change_ends_open_reset_and_confirmation_links(site, db):
    member = await sign_up(site)
    [confirmation] = await mails_to(db, member["email"])
    confirm_link = link_path(confirmation, "/email/verify/")
    reset_link = await ask_reset(site, db, member["email"])
    assert (await post_profile(site, profile_fields(member, email="elsewhere@example.org"))).status == 303
    # Back to the first address: the links sent before the change stay dead.
    assert (await post_profile(site, profile_fields(member))).status == 303
    resp = await site.get(confirm_link, allow_redirects=False)
    assert resp.headers["Location"] == "/profile?notice=verify_invalid"
    assert (await site.get(reset_link)).status == 400
    assert (await use_reset(site, reset_link)).status == 400
    site.session.cookie_jar.clear()
    assert (await log_in(site, member["username"])).status == 303


async def test_email_change_through_the_api_ends_reset_links(site, db):
    from tests.fixtures.accounts import STRONG_PASSWORD
    from tests.security.helpers import api_headers, user_id_of

    member = await sign_up(site)
    link = await ask_reset(site, db, member["email"])
    headers = await api_headers(site)
    uid = await user_id_of(db, member["username"])
    resp = await site.patch(
        f"/api/v1/users/{uid}",
        json={"email": VICTIM, "current_password": STRONG_PASSWORD},
        headers=headers,
    )
    assert resp.status == 200, await resp.text()
    assert (await use_reset(site, link)).status == 400
    assert await db.fetchval("SELECT email_verified FROM users") is False
