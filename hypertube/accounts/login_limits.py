"""How many password attempts a sign-in may make: per address, per account and address, a gentler limit per
account, and a browser the owner signed in with before (a signed device cookie) that strangers cannot lock."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from typing import Protocol

from hypertube.accounts.tokens import InvalidToken, read_payload, sign_payload

DEVICE_COOKIE = "ht_device"
DEVICE_TTL = 400 * 24 * 3600  # the longest a browser keeps a cookie
DEVICE_AUDIENCE = "device"


class Counters(Protocol):
    async def hit(self, key: str, window: float) -> tuple[int, float]: ...


@dataclass(frozen=True)
class Limit:
    kind: str
    count: int
    window: float


# One address guessing many accounts.
PER_ADDRESS = Limit("login_ip", 30, 300)
# One address guessing one account: the usual attacker, stopped early.
PER_ACCOUNT_AND_ADDRESS = Limit("login_pair", 10, 900)
# Guesses spread over many addresses: slowed far later, and never for the owner's known browsers.
PER_ACCOUNT = Limit("login_account_all", 100, 3600)
# The owner's own browser: only its own mistakes count.
PER_DEVICE = Limit("login_device", 10, 900)


def device_token(secret: str, user_id: int) -> str:
    """The value of the device cookie set when `user_id` signs in on a browser."""
    data = {"u": user_id, "d": secrets.token_urlsafe(12)}
    return sign_payload(secret, DEVICE_AUDIENCE, DEVICE_TTL, data)


def known_device(secret: str, token: str | None, user_id: int | None) -> str | None:
    """The device id when `token` is a device cookie this server gave to `user_id`, else None."""
    if user_id is None or not token:
        return None
    try:
        data = read_payload(secret, DEVICE_AUDIENCE, token)
    except InvalidToken:
        return None
    device = data.get("d")
    if data.get("u") != user_id or not isinstance(device, str):
        return None
    return device


def limits_for(address: str, account: str, device: str | None) -> list[tuple[Limit, str]]:
    """The counters one password attempt adds to (a known device answers for itself alone)."""
    if device is not None:
        return [(PER_DEVICE, device)]
    return [(PER_ADDRESS, address), (PER_ACCOUNT_AND_ADDRESS, f"{account}:{address}"), (PER_ACCOUNT, account)]


async def attempt_wait(counters: Counters, address: str, account: str, device: str | None) -> int | None:
    """Counts one password attempt; returns the seconds to wait when a limit is exceeded, else None."""
    for limit, key in limits_for(address, account.lower()[:64], device):
        count, reset_in = await counters.hit(f"rl:{limit.kind}:{key}", limit.window)
        if count > limit.count:
            return max(1, math.ceil(reset_in))
    return None
