"""Finding 9: every `next=` target, read the way a browser reads a Location header, stays on this site."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from tests.fixtures.accounts import STRONG_PASSWORD, oauth_round_trip, post_form, register
from tests.security.helpers import log_in, sign_up

TRICKS = [
    "//evil.example/",
    "/\\evil.example/",
    "\\/evil.example/",
    "\\\\evil.example/",
    "/\t/evil.example/",
    "\t//evil.example/",
    "/\n/evil.example/",
    "/\r\n/evil.example/",
    " //evil.example/",
    "/\x00/evil.example/",
    "/\x0b/evil.example/",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "/%2F/evil.example/",
    "/.//evil.example/",
    "/\u3000/evil.example/",
    "／／evil.example/",
]


def browser_target(base: str, location: str) -> tuple[str, str]:
    """(scheme, host) a browser goes to for this Location, as the URL standard parses it: tabs and newlines
    removed, leading and trailing C0 controls and spaces trimmed, backslashes read as slashes."""
    cleaned = "".join(ch for ch in location if ch not in "\t\n\r").strip("".join(map(chr, range(33))))
    cleaned = cleaned.replace("\\", "/")
    target = urlsplit(urljoin(base, cleaned))
    return target.scheme, target.netloc


def assert_same_site(base: str, resp) -> None:
    location = resp.headers.get("Location", "")
    assert browser_target(base, location) == browser_target(base, "/"), repr(location)


@pytest.mark.parametrize("trick", TRICKS)
async def test_next_targets_stay_on_this_site(site, trick):
    member = await sign_up(site)
    assert_same_site(site.url, await site.get("/login", params={"next": trick}, allow_redirects=False))
    resp = await post_form(site, "/language", {"language": "en", "next": trick}, page="/profile")
    assert resp.status == 303
    assert_same_site(site.url, resp)
    site.session.cookie_jar.clear()
    resp = await post_form(
        site, "/login", {"username": member["username"], "password": STRONG_PASSWORD, "next": trick}
    )
    assert resp.status == 303
    assert_same_site(site.url, resp)
    site.session.cookie_jar.clear()
    resp = await post_form(
        site,
        "/login?next=" + trick.replace("%", "%25"),
        {"username": member["username"], "password": STRONG_PASSWORD},
    )
    assert_same_site(site.url, resp)


@pytest.mark.parametrize("trick", ["/\t/evil.example/", "/\\evil.example/", "//evil.example/"])
async def test_next_through_registration_and_provider_sign_in(site, trick):
    resp, _ = await register(site)
    site.session.cookie_jar.clear()
    resp = await post_form(
        site,
        "/register?next=" + trick,
        {
            "email": "next@example.org",
            "username": "nexttrick",
            "first_name": "N",
            "last_name": "T",
            "password": STRONG_PASSWORD,
        },
        page="/register",
    )
    assert resp.status == 303
    assert_same_site(site.url, resp)
    site.session.cookie_jar.clear()
    resp = await oauth_round_trip(site, "google", "?next=" + trick)
    assert resp.status == 303
    assert_same_site(site.url, resp)


async def test_same_site_paths_are_kept(site):
    member = await sign_up(site)
    site.session.cookie_jar.clear()
    resp = await post_form(
        site,
        "/login",
        {"username": member["username"], "password": STRONG_PASSWORD, "next": "/movies/7?t=12#chat"},
    )
    assert resp.headers["Location"] == "/movies/7?t=12#chat"
    resp = await post_form(site, "/language", {"language": "fr", "next": "/profile?tab=1"}, page="/profile")
    assert resp.headers["Location"] == "/profile?tab=1"
    assert (await log_in(site, member["username"])).status == 303
