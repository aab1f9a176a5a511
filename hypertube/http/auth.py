"""Who is asking: reads the access-token cookie into `request[USER]`, silently renewing an expired one from
the refresh cookie (rotating it); helpers to open and close sessions and to require a signed-in user."""

from __future__ import annotations

import functools
import logging
import uuid
from urllib.parse import quote

from aiohttp import web

from hypertube.accounts import login_limits, sessions, users
from hypertube.accounts.login_limits import DEVICE_COOKIE, DEVICE_TTL
from hypertube.accounts.models import USER_COLUMNS, User
from hypertube.accounts.tokens import InvalidToken, decode_access_token, issue_access_token
from hypertube.http.cookies import set_cookie
from hypertube.http.errors import ApiError, wants_json
from hypertube.i18n import negotiate, set_language
from hypertube.keys import POOL, SETTINGS, USER

log = logging.getLogger(__name__)

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
LANG_COOKIE = "lang"
# Cookies (name, value, max_age, path) for this response; written by `write_pending_cookies` when it is
# prepared (aiohttp serialises `response.cookies` before prepare hooks run, and raised redirects need them too).
PENDING_COOKIES: web.RequestKey[list[tuple[str, str, int, str]]] = web.RequestKey("pending_cookies")
SKIP_PREFIXES = ("/static/", "/api/", "/media/", "/socket.io", "/healthz", "/favicon.ico")


async def user_from_access_token(app: web.Application, token: str | None) -> User | None:
    """The user an access token belongs to, or None if it is invalid, expired or its session was ended."""
    if not token or len(token) > 4096:
        return None
    try:
        claims = decode_access_token(app[SETTINGS].secret_key, token)
    except InvalidToken:
        return None
    family = None
    if claims.get("fam"):
        try:
            family = uuid.UUID(str(claims["fam"]))
        except ValueError:
            return None
    row = await app[POOL].fetchrow(
        f"""SELECT {USER_COLUMNS} FROM users u WHERE id = $1
            AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM session_families f
                                             WHERE f.id = $2 AND f.user_id = u.id AND f.revoked_at IS NULL))""",
        int(claims["sub"]),
        family,
    )
    return User.from_row(row) if row else None


def add_cookie(request: web.Request, name: str, value: str, *, max_age: int, path: str = "/") -> None:
    """Queues an HttpOnly, SameSite=Lax cookie (Secure under https) for this request's response, whichever
    response that turns out to be; max_age 0 deletes it."""
    pending = request.get(PENDING_COOKIES)
    if pending is None:
        pending = request[PENDING_COOKIES] = []
    pending.append((name, value, max_age, path))


async def write_pending_cookies(request: web.Request, response: web.StreamResponse) -> None:
    for name, value, max_age, path in request.get(PENDING_COOKIES) or ():
        set_cookie(response, request.app[SETTINGS], name, value, max_age=max_age, path=path)


def _set_access_cookie(request: web.Request, user_id: int, family: uuid.UUID) -> None:
    settings = request.app[SETTINGS]
    token = issue_access_token(settings.secret_key, user_id, settings.access_token_ttl, fam=str(family))
    add_cookie(request, ACCESS_COOKIE, token, max_age=settings.access_token_ttl)


def _set_refresh_cookie(request: web.Request, raw: str) -> None:
    add_cookie(request, REFRESH_COOKIE, raw, max_age=request.app[SETTINGS].refresh_token_ttl)


def clear_session_cookies(request: web.Request) -> None:
    add_cookie(request, ACCESS_COOKIE, "", max_age=0)
    add_cookie(request, REFRESH_COOKIE, "", max_age=0)


async def open_session(request: web.Request, user: User, conn=None) -> None:
    """Signs `user` in on this browser: a new refresh-token family and both cookies."""
    settings = request.app[SETTINGS]
    family, raw = await sessions.start_session(
        conn or request.app[POOL], user.id, settings.refresh_token_ttl, request.headers.get("User-Agent")
    )
    _set_access_cookie(request, user.id, family)
    _set_refresh_cookie(request, raw)
    _remember_device(request, user.id)
    request[USER] = user


def _remember_device(request: web.Request, user_id: int) -> None:
    """Marks this browser as one `user_id` signed in on: password guesses from elsewhere never lock it out."""
    secret = request.app[SETTINGS].secret_key
    if login_limits.known_device(secret, request.cookies.get(DEVICE_COOKIE), user_id) is None:
        add_cookie(request, DEVICE_COOKIE, login_limits.device_token(secret, user_id), max_age=DEVICE_TTL)


async def current_family(request: web.Request) -> uuid.UUID | None:
    """This browser's session (refresh-token family), from its refresh or access cookie."""
    family = await sessions.family_of(request.app[POOL], request.cookies.get(REFRESH_COOKIE, ""))
    if family is None:
        try:
            claims = decode_access_token(
                request.app[SETTINGS].secret_key, request.cookies.get(ACCESS_COOKIE, "")
            )
            family = uuid.UUID(str(claims.get("fam"))) if claims.get("fam") else None
        except (InvalidToken, ValueError):
            family = None
    return family


async def close_session(request: web.Request, reason: str = "logout") -> None:
    """Signs this browser out: revokes its refresh-token family and deletes the cookies."""
    pool = request.app[POOL]
    family = await current_family(request)
    if family is not None:
        await sessions.revoke_family(pool, family, reason)
    clear_session_cookies(request)
    request[USER] = None


async def _renew(request: web.Request, raw: str) -> User | None:
    settings = request.app[SETTINGS]
    try:
        rotation = await sessions.rotate(request.app[POOL], raw, settings.refresh_token_ttl)
    except sessions.RefreshTokenReused:
        log.warning("refresh token reused from %s: session family revoked", request.remote)
        clear_session_cookies(request)
        return None
    except sessions.SessionInvalid:
        clear_session_cookies(request)
        return None
    user = await users.by_id(request.app[POOL], rotation.user_id)
    if user is None:
        clear_session_cookies(request)
        return None
    _set_access_cookie(request, user.id, rotation.family_id)
    if rotation.refresh_token:
        _set_refresh_cookie(request, rotation.refresh_token)
    return user


@web.middleware
async def auth_middleware(request: web.Request, handler):
    user = None
    if not request.path.startswith(SKIP_PREFIXES):
        user = await user_from_access_token(request.app, request.cookies.get(ACCESS_COOKIE))
        refresh = request.cookies.get(REFRESH_COOKIE)
        if user is None and refresh:
            user = await _renew(request, refresh)
    request[USER] = user
    lang = (
        (user.language if user else None)
        or request.cookies.get(LANG_COOKIE)
        or negotiate(request.headers.get("Accept-Language"))
        or "en"
    )
    # aiohttp handles each request in its own task context, so the value never leaks to another request.
    set_language(lang)
    return await handler(request)


def current_user(request: web.Request) -> User | None:
    return request.get(USER)


def require_user(request: web.Request) -> User:
    """The signed-in user, or a redirect to the login page (pages) / a 401 (JSON)."""
    user = request.get(USER)
    if user is None:
        if wants_json(request) or request.method != "GET":
            raise ApiError(401, "Please sign in first.", code="unauthorized")
        target = request.path_qs
        raise web.HTTPSeeOther(f"/login?next={quote(target, safe='')}")
    return user


def login_required(handler):
    @functools.wraps(handler)
    async def wrapper(request: web.Request):
        require_user(request)
        return await handler(request)

    return wrapper


def setup(app: web.Application) -> None:
    """Writes queued cookies on every response, whatever produced it."""
    app.on_response_prepare.append(write_pending_cookies)
