"""Finding 6: wrong passwords from elsewhere never lock the owner out of their known browser; limits count
per address and per account-and-address, and the guesser is the one who gets stopped. Finding 10: the
counters live in a store of their own, so heavy searching (which fills the response cache) cannot evict them."""

from __future__ import annotations

from hypertube.keys import CACHE
from tests.fixtures.accounts import post_form
from tests.security.helpers import log_in, sign_up

WRONG = "Not-The-Password-0"


async def signed_out_owner_and_guesser(site, browser):
    """An account whose owner signed up on `site` and signed out, and a browser elsewhere guessing."""
    member = await sign_up(site)
    assert (await post_form(site, "/logout", {}, page="/profile")).status == 303
    return member, browser("127.0.0.2")


async def test_guessing_from_elsewhere_does_not_lock_out_the_owners_browser(site, browser):
    member, guesser = await signed_out_owner_and_guesser(site, browser)
    statuses = [(await log_in(guesser, member["username"], WRONG)).status for _ in range(25)]
    assert statuses[0] == 400 and statuses[-1] == 429, statuses
    # The guesser is stopped even with the right password now.
    assert (await log_in(guesser, member["username"])).status == 429
    # The owner, on the browser they signed in with before, gets in at once.
    resp = await log_in(site, member["username"])
    assert resp.status == 303, await resp.text()


async def test_guesses_spread_over_addresses_slow_down_strangers_not_the_owner(site, browser):
    member = await sign_up(site)
    assert (await post_form(site, "/logout", {}, page="/profile")).status == 303
    for n in range(2, 8):
        guesser = browser(f"127.0.0.{n}")
        for _ in range(4):
            assert (await log_in(guesser, member["username"], WRONG)).status in (400, 429)
    assert (await log_in(site, member["username"])).status == 303


async def test_one_address_guessing_many_accounts_is_stopped(site, browser):
    guesser = browser("127.0.0.9")
    statuses = [(await log_in(guesser, f"someone{n}", WRONG)).status for n in range(40)]
    assert 429 in statuses
    assert statuses[-1] == 429


async def test_a_full_response_cache_keeps_the_login_limits(site, browser):
    member, guesser = await signed_out_owner_and_guesser(site, browser)
    statuses = [(await log_in(guesser, member["username"], WRONG)).status for _ in range(12)]
    assert statuses[-1] == 429, statuses
    # What a long stream of different searches leaves in the response cache.
    cache = site.app[CACHE]
    # The in-process cache keeps 50,000 entries and drops the oldest past that.
    for n in range(50_010):
        await cache.set(f"library:search-{n}", {"ids": [n]}, 300)
    assert (await log_in(guesser, member["username"], WRONG)).status == 429
