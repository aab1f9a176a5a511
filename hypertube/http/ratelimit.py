"""Fixed-window rate limits on any key (IP, account, API client), in the app's counter store (memory or Redis)."""

from __future__ import annotations

import math

from aiohttp import web

from hypertube.http.errors import ApiError
from hypertube.i18n import N_
from hypertube.keys import API_LIMITS, RATE_LIMITS


def client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


async def enforce(
    request: web.Request,
    key: str,
    *,
    limit: int,
    window: float,
    message: str = "Too many attempts. Please wait a moment and try again.",
) -> None:
    """Counts one hit on `key`; past `limit` hits in `window` seconds raises 429 with Retry-After."""
    count, reset_in = await request.app[RATE_LIMITS].hit("rl:" + key, window)
    if count > limit:
        raise ApiError(
            429, message, code="rate_limited", headers={"Retry-After": str(max(1, math.ceil(reset_in)))}
        )


# Each comment is stored and sent live to everyone on the film's page: a script must not flood them.
COMMENTS_TOO_FAST = N_("You are commenting too fast. Wait a minute and try again.")


async def enforce_comment_pace(request: web.Request, user_id: int) -> None:
    """Counts one new or edited comment of `user_id` (page form and API together); past the app's
    `API_LIMITS.comments` per `comments_window` seconds raises a 429 ApiError (message `COMMENTS_TOO_FAST`,
    untranslated; Retry-After in seconds)."""
    limits = request.app[API_LIMITS]
    await enforce(
        request,
        f"comment:{user_id}",
        limit=limits.comments,
        window=limits.comments_window,
        message=COMMENTS_TOO_FAST,
    )
