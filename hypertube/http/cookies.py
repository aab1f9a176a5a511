"""Writing cookies: HttpOnly and SameSite=Lax unless asked otherwise, Secure when the settings say so."""

from __future__ import annotations

from http.cookies import SimpleCookie

from aiohttp import web

from hypertube.settings import Settings


def set_cookie(
    response: web.StreamResponse,
    settings: Settings,
    name: str,
    value: str,
    *,
    max_age: int,
    http_only: bool = True,
    path: str = "/",
    same_site: str = "Lax",
) -> None:
    """Adds the Set-Cookie header itself rather than using `response.cookies`, which aiohttp serialises
    before the prepare hooks run: this works from those hooks and on raised redirects alike."""
    jar: SimpleCookie = SimpleCookie()
    jar[name] = value
    morsel = jar[name]
    if http_only:
        morsel["httponly"] = True
    morsel["samesite"] = same_site
    morsel["path"] = path
    morsel["max-age"] = str(max_age)  # 0 deletes the cookie
    if settings.secure:
        morsel["secure"] = True
    response.headers.add("Set-Cookie", morsel.OutputString())


def delete_cookie(response: web.StreamResponse, settings: Settings, name: str, path: str = "/") -> None:
    set_cookie(response, settings, name, "", max_age=0, path=path)
