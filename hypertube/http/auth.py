"""Who is asking: reads the access-token cookie into `request[USER]`; helpers to require a signed-in user."""

from __future__ import annotations

import functools
from urllib.parse import quote

from aiohttp import web

from hypertube.accounts.models import USER_COLUMNS, User
from hypertube.accounts.tokens import InvalidToken, decode_access_token
from hypertube.http.errors import ApiError, wants_json
from hypertube.i18n import negotiate, set_language
from hypertube.keys import POOL, SETTINGS, USER

ACCESS_COOKIE = "access_token"
LANG_COOKIE = "lang"


async def user_from_access_token(app: web.Application, token: str | None) -> User | None:
    if not token:
        return None
    try:
        claims = decode_access_token(app[SETTINGS].secret_key, token)
    except InvalidToken:
        return None
    row = await app[POOL].fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE id = $1", int(claims["sub"]))
    return User.from_row(row) if row else None


@web.middleware
async def auth_middleware(request: web.Request, handler):
    user = None
    if not request.path.startswith(("/static/", "/api/")):
        user = await user_from_access_token(request.app, request.cookies.get(ACCESS_COOKIE))
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
