"""`safe_next` reads a `next` address the way browsers do and keeps only paths on this site."""

from __future__ import annotations

import pytest

from hypertube.http.redirects import safe_next


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "//evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "\\/evil.com",
        "/\t/evil.com",
        "/\r\n/evil.com",
        "\t//evil.com",
        " //evil.com",
        "\x00//evil.com",
        "http:evil.com",
        "http://evil.com/",
        "https:/evil.com",
        "javascript:alert(1)",
        "evil.com",
        "movies/1",
        "/a\x00b",
        "/a\x7fb",
        "/" + "a" * 2000,
    ],
)
def test_refuses_what_leads_elsewhere(target):
    assert safe_next(target) is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", "/"),
        ("/movies/12?q=a#comments", "/movies/12?q=a#comments"),
        ("/%2F%2Fevil.com", "/%2F%2Fevil.com"),  # an encoded slash is part of a path, not a host
        ("  /profile \x00", "/profile"),
        ("/pro\tfile", "/profile"),
        ("/users\\ada", "/users/ada"),
        ("/search?next=//evil.com", "/search?next=//evil.com"),
        ("/films/été", "/films/été"),
    ],
)
def test_keeps_paths_on_this_site_as_the_browser_reads_them(target, expected):
    assert safe_next(target) == expected
