"""Security headers on every response, and CSRF defence (token + Origin check) on cookie-authenticated writes."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlparse

from aiohttp import web

from hypertube.http.cookies import set_cookie
from hypertube.http.errors import ApiError
from hypertube.i18n import N_
from hypertube.keys import CSRF_NEW, CSRF_TOKEN, SETTINGS

CSRF_COOKIE = "ht_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The API authenticates with Bearer tokens only and never reads cookies, so forged requests gain nothing there.
CSRF_EXEMPT_PREFIXES = ("/api/v1/", "/socket.io")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Pictures come from our own origin (hypertube/catalog/artwork.py): no third party sees who browses.
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self' ws: wss:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def csrf_token(request: web.Request) -> str:
    """The token for forms on this page; created (and set as a cookie on the response) when missing."""
    token = request.get(CSRF_TOKEN) or request.cookies.get(CSRF_COOKIE)
    if not token or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request[CSRF_NEW] = True
    request[CSRF_TOKEN] = token
    return token


def _same_origin(request: web.Request, origin: str) -> bool:
    settings = request.app[SETTINGS]
    allowed = {_origin_of(settings.base_url), f"{request.scheme}://{request.host}"}
    return _origin_of(origin) in allowed


def _origin_of(url: str) -> str:
    p = urlparse(url)
    return f"{p.scheme}://{p.netloc}".lower()


@web.middleware
async def csrf_middleware(request: web.Request, handler):
    if request.method not in SAFE_METHODS and not request.path.startswith(CSRF_EXEMPT_PREFIXES):
        origin = request.headers.get("Origin") or request.headers.get("Referer")
        if origin and origin != "null" and not _same_origin(request, origin):
            raise ApiError(403, N_("This request came from another site and was refused."), code="csrf")
        expected = request.cookies.get(CSRF_COOKIE, "")
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            # Reading the form here caches it on the request for the handler.
            form = await request.post()
            value = form.get(CSRF_FIELD, "")
            sent = value if isinstance(value, str) else ""
        if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
            raise ApiError(
                403, N_("Your session form has expired. Reload the page and try again."), code="csrf"
            )
    return await handler(request)


def add_csrf_cookie(request: web.Request, response: web.StreamResponse) -> None:
    set_cookie(response, request.app[SETTINGS], CSRF_COOKIE, request[CSRF_TOKEN], max_age=30 * 24 * 3600)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.app[SETTINGS].secure:
        h.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.get(CSRF_NEW) and CSRF_COOKIE not in response.cookies:
        add_csrf_cookie(request, response)
