"""Attempt limits of the account forms (per client address and per account)."""

from __future__ import annotations

from aiohttp import web

from hypertube.accounts.messages import N_
from hypertube.http.errors import ApiError
from hypertube.http.ratelimit import enforce

TOO_MANY = N_("Too many attempts. Please wait a moment and try again.")

# (limit, window seconds) per key kind
LIMITS = {
    # Sign-in attempts have their own limits: hypertube.accounts.login_limits.
    "current_password": (10, 900),
    "register_ip": (20, 3600),
    "register_account": (5, 3600),
    "forgot_ip": (10, 900),
    "forgot_account": (3, 900),
    "reset_ip": (20, 900),
    "reset_account": (10, 900),
    "verify_account": (3, 3600),
    # Each new picture costs a decode: a few per minute is plenty for a person.
    "picture_user": (10, 600),
}


async def limited(request: web.Request, *checks: tuple[str, str]) -> int | None:
    """Counts one hit on each (kind, key); returns the seconds to wait when a limit is exceeded."""
    for kind, key in checks:
        limit, window = LIMITS[kind]
        try:
            await enforce(request, f"{kind}:{key}", limit=limit, window=window)
        except ApiError as exc:
            return int(exc.headers.get("Retry-After", "60"))
    return None
