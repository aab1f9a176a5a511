"""Cookies are written one way: HttpOnly and SameSite=Lax by default, Secure when the site is on https."""

from __future__ import annotations

from aiohttp import web

from hypertube.http.cookies import delete_cookie, set_cookie
from hypertube.settings import Settings


def _settings(tmp_path, base_url: str) -> Settings:
    return Settings(data_dir=tmp_path, secret_key="k" * 40, base_url=base_url)


def test_set_cookie_defaults_and_secure_under_https(tmp_path):
    response = web.Response()
    set_cookie(response, _settings(tmp_path, "https://films.example"), "lang", "fr", max_age=60)
    header = response.headers["Set-Cookie"]
    assert header.startswith("lang=fr;")
    for part in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=60", "Secure"):
        assert part in header


def test_plain_http_cookie_is_not_secure_and_options_apply(tmp_path):
    response = web.Response()
    settings = _settings(tmp_path, "http://127.0.0.1:8000")
    set_cookie(response, settings, "theme", "dark", max_age=5, http_only=False, path="/x", same_site="Strict")
    delete_cookie(response, settings, "old")
    first, second = response.headers.getall("Set-Cookie")
    assert "Secure" not in first and "HttpOnly" not in first
    assert "Path=/x" in first and "SameSite=Strict" in first
    assert second.startswith('old="";') and "Max-Age=0" in second
