"""Password rules and bcrypt hashing (always in a worker thread, never on the event loop)."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
from pathlib import Path

import bcrypt

from hypertube.accounts.messages import N_

MIN_LENGTH = 10
MAX_LENGTH = 128
DEFAULT_COST = 12
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

TOO_SHORT = N_("Use at least 10 characters.")
TOO_LONG = N_("Use at most 128 characters.")
TOO_COMMON = N_("This password is too common. Choose one that is harder to guess.")
CONTAINS_NAME = N_("The password must not contain your username or email.")
REQUIRED = N_("Enter a password.")


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def password_problem(password: str, *, username: str = "", email: str = "") -> str | None:
    """The first rule `password` breaks, as a message, or None when it is acceptable."""
    if not password:
        return REQUIRED
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    lowered = password.lower()
    if lowered in common_passwords():
        return TOO_COMMON
    for part in (username, email, email.partition("@")[0]):
        part = part.strip().lower()
        if len(part) >= 3 and part in lowered:
            return CONTAINS_NAME
    return None


def _prehash(password: str) -> bytes:
    # bcrypt reads at most 72 bytes (bcrypt 5 refuses more): a fixed-size digest keeps every character.
    return base64.b64encode(hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest())


def _hash(password: str, cost: int) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(cost)).decode("ascii")


def _check(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(_prehash(password), hashed.encode("ascii"))
    except ValueError:
        return False


async def hash_password(password: str, cost: int = DEFAULT_COST) -> str:
    return await asyncio.to_thread(_hash, password, cost)


@functools.cache
def _dummy_hash(cost: int) -> str:
    return _hash("not a real password at all", cost)


async def verify_password(password: str, hashed: str | None, cost: int = DEFAULT_COST) -> bool:
    """Checks a password; with no hash (unknown user, OAuth-only account) it costs the same time, then fails."""
    if not hashed:
        dummy = await asyncio.to_thread(_dummy_hash, cost)
        await asyncio.to_thread(_check, password, dummy)
        return False
    return await asyncio.to_thread(_check, password, hashed)
