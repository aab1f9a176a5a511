"""Fixed-window rate limits on any key (IP, account, API client), in the app's counter store (memory or Redis)."""

from __future__ import annotations

import math

from aiohttp import web

from hypertube.http.errors import ApiError
from hypertube.keys import RATE_LIMITS


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
