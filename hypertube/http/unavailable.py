"""While the database cannot be reached, requests get a 503 with Retry-After instead of a 500."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable

import asyncpg
from aiohttp import web

from hypertube.http.errors import ApiError
from hypertube.i18n import N_

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
LOG_EVERY_S = 10.0  # one warning per outage stretch, not one per request
# What asyncpg raises when the server is down, restarting, or cut the connection (an operation caught
# on a connection that just broke can also end in asyncpg's InternalClientError).
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    asyncpg.InternalClientError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
)
MESSAGE = N_("The service is briefly unavailable. Please try again in a few seconds.")


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database is out of reach (an OSError counts only when asyncpg raised it:
    a refused or reset connection, a socket that is gone)."""
    if isinstance(exc, DATABASE_DOWN):
        return True
    if isinstance(exc, OSError):
        frames = traceback.walk_tb(exc.__traceback__)
        return any(str(frame.f_globals.get("__name__", "")).startswith("asyncpg") for frame, _ in frames)
    return False


def unavailable_middleware() -> Callable:
    """The middleware (it sits inside the error middleware, which renders the 503 as a page or JSON)."""
    last_logged = -LOG_EVERY_S

    @web.middleware
    async def middleware(request: web.Request, handler):
        nonlocal last_logged
        try:
            return await handler(request)
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            now = time.monotonic()
            if now - last_logged >= LOG_EVERY_S:
                last_logged = now
                log.warning("the database is unreachable (%s): answering 503", type(exc).__name__)
            raise ApiError(
                503, MESSAGE, code="unavailable", headers={"Retry-After": str(RETRY_AFTER_S)}
            ) from None

    return middleware
