"""Sign-in with 42, GitHub and Google, on the accounts side: who signed in (`Identity`), which account
that is (linked, linked now by a verified email, or new), linking and unlinking, and the provider's picture.

Talking to the providers themselves is hypertube.accounts.oauth_providers."""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from hypertube.accounts import avatars, users
from hypertube.accounts.models import User
from hypertube.accounts.picture_decode import MAX_BYTES, PictureError, convert_picture
from hypertube.accounts.validation import USERNAME_RE
from hypertube.netfetch import FetchPolicy, FetchRefused, fetch
from hypertube.settings import Settings

log = logging.getLogger(__name__)

PROVIDERS = ("ft", "github", "google")
PICTURE_TIMEOUT_S = 10.0
LABELS = {"ft": "42", "github": "GitHub", "google": "Google"}


class OAuthError(Exception):
    """The provider refused or failed; `code` picks the message shown on the login page."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


@dataclass(frozen=True)
class Identity:
    provider: str
    subject: str
    email: str | None
    email_verified: bool
    login: str
    first_name: str
    last_name: str
    picture_url: str | None = None  # the provider's profile picture, imported when the account has none

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Identity:
        return cls(
            provider=str(data["provider"]),
            subject=str(data["subject"]),
            email=data.get("email") or None,
            email_verified=bool(data.get("email_verified")),
            login=str(data.get("login") or ""),
            first_name=str(data.get("first_name") or ""),
            last_name=str(data.get("last_name") or ""),
            picture_url=picture_address(data.get("picture_url")),
        )


def picture_address(value: Any) -> str | None:
    """An http(s) address of at most 2,000 characters, or None."""
    if not isinstance(value, str) or len(value) > 2000:
        return None
    return value if urlsplit(value).scheme in ("http", "https") and urlsplit(value).netloc else None


def picture_policy(settings: Settings) -> FetchPolicy:
    """How provider pictures are fetched: the provider names the URL, so public addresses only."""
    return FetchPolicy.for_settings(settings, MAX_BYTES, timeout=PICTURE_TIMEOUT_S)


async def import_picture(
    policy: FetchPolicy, pool: asyncpg.Pool, folder: Path, user_id: int, url: str
) -> str | None:
    """Fetches a provider's profile picture for an account that has none, re-encodes it like an upload
    and stores it; returns its name, or None when anything is wrong."""
    try:
        got = await fetch(url, policy)
        if got.status != 200:
            log.info("profile picture %s: HTTP %s", url[:200], got.status)
            return None
        picture = await convert_picture(got.body)
    except (FetchRefused, PictureError) as exc:
        log.info("profile picture %s not imported: %s", url[:200], exc)
        return None
    name = await avatars.store_picture(folder, picture)
    stored = await pool.fetchval(
        "UPDATE users SET picture = $2, updated_at = now() WHERE id = $1 AND picture IS NULL RETURNING id",
        user_id,
        name,
    )
    if stored is None:  # a picture was chosen meanwhile: it wins
        await avatars.delete_picture(folder, name)
        return None
    return name


def suggested_username(identity: Identity) -> str:
    candidate = re.sub(r"[^A-Za-z0-9_.-]", "", identity.login)[:30]
    return candidate


@dataclass(frozen=True)
class NeedsUsername:
    identity: Identity
    suggestion: str


async def linked_providers(db: asyncpg.Pool, user_id: int) -> list[str]:
    """The providers an account can sign in with, in the order of PROVIDERS."""
    rows = await db.fetch("SELECT provider FROM oauth_identities WHERE user_id = $1", user_id)
    linked = {r["provider"] for r in rows}
    return [p for p in PROVIDERS if p in linked]


ONLY_WAY_IN = "only_way_in"


async def unlink(pool: asyncpg.Pool, user_id: int, provider: str) -> str | None:
    """Removes the account's link to `provider`. Returns None when done, "not_linked", or
    ONLY_WAY_IN when it is the account's last way to sign in (no password, no other provider)."""
    async with pool.acquire() as conn, conn.transaction():
        has_password = await conn.fetchval(
            "SELECT password_hash IS NOT NULL FROM users WHERE id = $1 FOR UPDATE", user_id
        )
        linked = await conn.fetch("SELECT provider FROM oauth_identities WHERE user_id = $1", user_id)
        providers = {r["provider"] for r in linked}
        if provider not in providers:
            return "not_linked"
        if not has_password and len(providers) == 1:
            return ONLY_WAY_IN
        await conn.execute(
            "DELETE FROM oauth_identities WHERE user_id = $1 AND provider = $2", user_id, provider
        )
    return None


async def linked_user(pool: asyncpg.Pool, identity: Identity) -> User | None:
    user_id = await pool.fetchval(
        "SELECT user_id FROM oauth_identities WHERE provider = $1 AND subject = $2",
        identity.provider,
        identity.subject,
    )
    return await users.by_id(pool, user_id) if user_id is not None else None


async def resolve(pool: asyncpg.Pool, identity: Identity) -> User | NeedsUsername:
    """The account this provider user signs into: already linked, linked now by verified email, or new."""
    user = await linked_user(pool, identity)
    if user is not None:
        return user
    if not identity.email:
        raise OAuthError("no_email", identity.provider)
    found = await users.by_email(pool, identity.email)
    if found is not None:
        existing, existing_verified = found
        if identity.email_verified and existing_verified:
            await pool.execute(
                """INSERT INTO oauth_identities (provider, subject, user_id) VALUES ($1, $2, $3)
                   ON CONFLICT DO NOTHING""",
                identity.provider,
                identity.subject,
                existing.id,
            )
            return existing
        raise OAuthError("email_in_use", identity.email)
    suggestion = suggested_username(identity)
    if not USERNAME_RE.fullmatch(suggestion) or await users.by_username(pool, suggestion) is not None:
        return NeedsUsername(identity, suggestion)
    try:
        return await create_account(pool, identity, suggestion)
    except users.DuplicateField as exc:
        if exc.field == "email":
            raise OAuthError("email_in_use", identity.email) from exc
        return NeedsUsername(identity, suggestion)


async def create_account(pool: asyncpg.Pool, identity: Identity, username: str, language: str = "en") -> User:
    """A new account for a provider user, linked to it, in one transaction (no half-made account)."""
    if not identity.email:
        raise OAuthError("no_email", identity.provider)
    first = identity.first_name or username
    last = identity.last_name or username
    try:
        return await _insert_account(pool, identity, username, first, last, language)
    except (IdentityTaken, users.DuplicateField) as exc:
        # A parallel callback for the same provider user may have just made the account: use it.
        winner = await linked_user(pool, identity)
        if winner is not None:
            return winner
        if isinstance(exc, users.DuplicateField):
            raise
        raise OAuthError("provider", "identity vanished") from None


async def _insert_account(
    pool: asyncpg.Pool, identity: Identity, username: str, first: str, last: str, language: str
) -> User:
    assert identity.email
    async with pool.acquire() as conn, conn.transaction():
        user = await users.create_user(
            conn,
            email=identity.email,
            username=username,
            first_name=first[:60],
            last_name=last[:60],
            password_hash=None,
            language=language,
            email_verified=identity.email_verified,
        )
        try:
            await conn.execute(
                "INSERT INTO oauth_identities (provider, subject, user_id) VALUES ($1, $2, $3)",
                identity.provider,
                identity.subject,
                user.id,
            )
        except asyncpg.UniqueViolationError:
            # A parallel callback for the same provider user won; this transaction's account is rolled back.
            raise IdentityTaken() from None
    return user


class IdentityTaken(Exception):
    """The provider user was linked by a concurrent sign-in while this one was creating an account."""
