"""Password reset links: single use, valid one hour, stored only as SHA-256 hashes."""

from __future__ import annotations

import asyncpg

from hypertube.accounts import mail, sessions, users
from hypertube.accounts.mail import MailSender
from hypertube.accounts.mail_texts import reset_mail, site_link
from hypertube.accounts.passwords import hash_password
from hypertube.accounts.sessions import hash_token, new_token
from hypertube.accounts.users import Executor
from hypertube.accounts.validation import ValidationError, new_password_problem
from hypertube.settings import Settings

RESET_TTL_SECONDS = 3600
MAX_TOKEN_LENGTH = 200


class ResetInvalid(LookupError):
    """The link is unknown, already used or expired."""


async def create_reset(db: Executor, user_id: int, ttl: int = RESET_TTL_SECONDS) -> str:
    raw = new_token()
    await db.execute(
        """INSERT INTO password_resets (token_hash, user_id, expires_at)
           VALUES ($1, $2, now() + make_interval(secs => $3))""",
        hash_token(raw),
        user_id,
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


async def consume_reset(db: Executor, raw: str) -> int | None:
    """Uses the link up (exactly once, even under concurrent posts); returns its user or None."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    user_id = await db.fetchval(
        """UPDATE password_resets SET used_at = now()
           WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id""",
        hash_token(raw),
    )
    if user_id is not None:
        # Any other link sent earlier dies with this one.
        await db.execute(
            "UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL", user_id
        )
    return user_id


async def purge_old(db: Executor) -> None:
    await db.execute("DELETE FROM password_resets WHERE expires_at < now() - interval '1 day'")


async def send_reset(pool: asyncpg.Pool, outbox: MailSender | None, settings: Settings, email: str) -> None:
    """Mails a reset link when an account uses `email`; says nothing either way, so addresses stay private."""
    found = await users.by_email(pool, email)
    if found is None:
        return
    user = found[0]
    async with pool.acquire() as conn, conn.transaction():
        token = await create_reset(conn, user.id)
        subject, body = reset_mail(user, site_link(settings, f"/password/reset/{token}"))
        await mail.enqueue(conn, user.email, subject, body)
    if outbox is not None:
        outbox.wake()


async def reset_password(
    pool: asyncpg.Pool, settings: Settings, raw: str, password: str, confirm: str
) -> None:
    """Sets a new password through a reset link and signs every session out.

    Raises ResetInvalid, or ValidationError for the `password` field."""
    user_id = await reset_user(pool, raw)
    user = await users.by_id(pool, user_id) if user_id is not None else None
    if user is None:
        raise ResetInvalid()
    if problem := new_password_problem(password, confirm, username=user.username, email=user.email):
        raise ValidationError({"password": problem})
    hashed = await hash_password(password, settings.bcrypt_cost)
    async with pool.acquire() as conn, conn.transaction():
        if await consume_reset(conn, raw) != user.id:
            raise ResetInvalid()
        # The mail reached its owner, so the address is now known to be theirs.
        await users.set_password(conn, user.id, hashed, email_verified=True)
        await sessions.revoke_all(conn, user.id, "password_reset")
