"""Finding 7: registration answers the same, in about the same time, whether or not the email already has
an account; the owner of that address gets a mail instead of a second account."""

from __future__ import annotations

import statistics
import time

from tests.fixtures.accounts import register
from tests.security.conftest import mails_to


async def _timed_register(client, **fields):
    client.session.cookie_jar.clear()
    start = time.perf_counter()
    resp, data = await register(client, **fields)
    return resp, time.perf_counter() - start


async def test_existing_email_gets_the_same_answer_and_a_mail_to_its_owner(site, db):
    resp, owner = await register(site)
    assert resp.status == 303
    site.session.cookie_jar.clear()
    fresh, _ = await register(site)
    site.session.cookie_jar.clear()
    again, _ = await register(site, email=owner["email"].upper())
    assert again.status == fresh.status == 303
    assert again.headers["Location"] == fresh.headers["Location"]
    assert "already" not in (await again.text()).lower()
    assert await db.fetchval("SELECT count(*) FROM users WHERE email = $1::citext", owner["email"]) == 1
    mails = await mails_to(db, owner["email"])
    assert len(mails) == 2  # the confirmation at sign-up, then the notice about the new attempt
    assert "/password/forgot" in mails[-1]


async def test_existing_email_takes_about_as_long(aiohttp_client, make_app, db):
    client = await aiohttp_client(make_app(bcrypt_cost=10))
    resp, owner = await register(client)
    assert resp.status == 303
    new, known = [], []
    for _ in range(3):
        new.append((await _timed_register(client))[1])
        known.append((await _timed_register(client, email=owner["email"]))[1])
    # bcrypt dominates a registration; the known address must not skip it.
    assert statistics.median(known) > 0.5 * statistics.median(new), (new, known)
