"""Writing cookies: HttpOnly and SameSite=Lax unless asked otherwise, Secure when the settings say so."""

from __future__ import annotations

from http.cookies import SimpleCookie

from aiohttp import web

from hypertube.settings import Settings


def cookie_header(
    settings: Settings,
    name: str,
    value: str,
    *,
    max_age: int,
    http_only: bool = True,
    path: str = "/",
    same_site: str = "Lax",
) -> str:
    """The value of a Set-Cookie header; a max_age of 0 deletes the cookie."""
    jar: SimpleCookie = SimpleCookie()
    jar[name] = value
    morsel = jar[name]
    if http_only:
        morsel["httponly"] = True
    morsel["samesite"] = same_site
    morsel["path"] = path
    morsel["max-age"] = str(max_age)
    if settings.secure:
        morsel["secure"] = True
    return morsel.OutputString()


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
    header = cookie_header(
        settings, name, value, max_age=max_age, http_only=http_only, path=path, same_site=same_site
    )
    response.headers.add("Set-Cookie", header)


def delete_cookie(response: web.StreamResponse, settings: Settings, name: str, path: str = "/") -> None:
    set_cookie(response, settings, name, "", max_age=0, path=path)
