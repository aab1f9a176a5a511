"""Finding 10: rate-limit counters live in a store of their own, so heavy searching (which fills the
response cache) cannot evict them and reopen a limit."""

from __future__ import annotations

from hypertube.keys import CACHE
from tests.fixtures.accounts import post_form
from tests.security.helpers import log_in, sign_up

WRONG = "Not-The-Password-0"


async def test_a_full_response_cache_keeps_the_login_limits(site, browser):
    member = await sign_up(site)
    assert (await post_form(site, "/logout", {}, page="/profile")).status == 303
    guesser = browser("127.0.0.2")
    statuses = [(await log_in(guesser, member["username"], WRONG)).status for _ in range(12)]
    assert statuses[-1] == 429, statuses
    # What a long stream of different searches leaves in the response cache.
    cache = site.app[CACHE]
    for n in range(60_000):
        await cache.set(f"library:search-{n}", {"ids": [n]}, 300)
    assert (await log_in(guesser, member["username"], WRONG)).status == 429
