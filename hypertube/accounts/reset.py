"""Password reset links: single use, valid one hour, stored only as SHA-256 hashes."""

from __future__ import annotations

import asyncpg

from hypertube.accounts import api_clients, mail, sessions, users
from hypertube.accounts.mail import MailSender
from hypertube.accounts.mail_texts import reset_mail, site_link
from hypertube.accounts.passwords import hash_password
from hypertube.accounts.sessions import hash_token, new_token
from hypertube.accounts.users import Executor
from hypertube.accounts.validation import ValidationError, new_password_problem
from hypertube.cache import Cache
from hypertube.settings import Settings

RESET_TTL_SECONDS = 3600
MAX_TOKEN_LENGTH = 200


class ResetInvalid(LookupError):
    """The link is unknown, already used or expired."""


async def create_reset(db: Executor, user_id: int, email: str, ttl: int = RESET_TTL_SECONDS) -> str:
    """A new link for the user, to be mailed to `email` (the only address it can prove)."""
    raw = new_token()
    await db.execute(
        """INSERT INTO password_resets (token_hash, user_id, email, expires_at)
           VALUES ($1, $2, $3, now() + make_interval(secs => $4))""",
        hash_token(raw),
        user_id,
        email,
        float(ttl),
    )
    return raw


async def reset_user(db: Executor, raw: str) -> int | None:
    """The user a still-valid link belongs to, without using it up."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    return await db.fetchval(
        """SELECT user_id FROM password_resets
           WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()""",
        hash_token(raw),
    )


async def consume_reset(db: Executor, raw: str) -> tuple[int, str | None] | None:
    """Uses the link up (exactly once, even under concurrent posts); returns its user and the address it
    was mailed to, or None."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    row = await db.fetchrow(
        """UPDATE password_resets SET used_at = now()
           WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id, email""",
        hash_token(raw),
    )
    if row is None:
        return None
    # Any other link sent earlier dies with this one.
    await end_resets(db, row["user_id"])
    return row["user_id"], row["email"]


async def end_resets(db: Executor, user_id: int) -> None:
    """Ends every open link of the user (one was used, or the address they were mailed to changed)."""
    await db.execute(
        "UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL", user_id
    )


async def purge_old(db: Executor) -> None:
    await db.execute("DELETE FROM password_resets WHERE expires_at < now() - interval '1 day'")


async def send_reset(pool: asyncpg.Pool, outbox: MailSender | None, settings: Settings, email: str) -> None:
    """Mails a reset link when an account uses `email`; says nothing either way, so addresses stay private."""
    found = await users.by_email(pool, email)
    if found is None:
        return
    user = found[0]
    async with pool.acquire() as conn, conn.transaction():
        token = await create_reset(conn, user.id, user.email)
        subject, body = reset_mail(user, site_link(settings, f"/password/reset/{token}"))
        await mail.enqueue(conn, user.email, subject, body)
    if outbox is not None:
        outbox.wake()


async def reset_password(
    pool: asyncpg.Pool, cache: Cache | None, settings: Settings, raw: str, password: str, confirm: str
) -> int:
    """Sets a new password through a reset link, signs every session out and revokes the API clients
    (whoever had the account meanwhile keeps nothing); returns the user id.

    Raises ResetInvalid, or ValidationError for the `password` field."""
    user_id = await reset_user(pool, raw)
    user = await users.by_id(pool, user_id) if user_id is not None else None
    if user is None:
        raise ResetInvalid()
    if problem := new_password_problem(password, confirm, username=user.username, email=user.email):
        raise ValidationError({"password": problem})
    hashed = await hash_password(password, settings.bcrypt_cost)
    async with pool.acquire() as conn, conn.transaction():
        link = await consume_reset(conn, raw)
        if link is None or link[0] != user.id:
            raise ResetInvalid()
        # The mail reached whoever reads the address it was sent to: that address, and no other, is proven.
        await users.set_password(conn, user.id, hashed, proven_email=link[1])
        await sessions.revoke_all(conn, user.id, "password_reset")
    await api_clients.revoke_all_clients(pool, cache, user.id)
    return user.id
