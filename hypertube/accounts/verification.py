"""Email confirmation links: valid two days, for the address they were sent to, stored as SHA-256 hashes."""

from __future__ import annotations

import asyncpg

from hypertube.accounts import mail, users
from hypertube.accounts.mail import MailSender
from hypertube.accounts.mail_texts import site_link, verification_mail
from hypertube.accounts.models import User
from hypertube.accounts.sessions import hash_token, new_token
from hypertube.accounts.users import Executor
from hypertube.settings import Settings

VERIFY_TTL_SECONDS = 2 * 24 * 3600


async def create_verification(db: Executor, user_id: int, email: str, ttl: int = VERIFY_TTL_SECONDS) -> str:
    raw = new_token()
    await db.execute(
        """INSERT INTO email_verifications (token_hash, user_id, email, expires_at)
           VALUES ($1, $2, $3, now() + make_interval(secs => $4))""",
        hash_token(raw),
        user_id,
        email,
        float(ttl),
    )
    return raw


async def send_verification(conn: Executor, settings: Settings, user: User) -> None:
    """Queues a confirmation mail for the user's current address (inside the caller's transaction)."""
    token = await create_verification(conn, user.id, user.email)
    subject, body = verification_mail(user, site_link(settings, f"/email/verify/{token}"))
    await mail.enqueue(conn, user.email, subject, body)


async def confirm_email(db: Executor, raw: str) -> int | None:
    """Marks the address verified when the link is valid and the account still uses that address;
    returns the user id, or None."""
    if not raw or len(raw) > 200:
        return None
    return await db.fetchval(
        """WITH link AS (
               UPDATE email_verifications SET used_at = coalesce(used_at, now())
               WHERE token_hash = $1 AND expires_at > now() RETURNING user_id, email)
           UPDATE users u SET email_verified = true, updated_at = now()
           FROM link WHERE u.id = link.user_id AND u.email = link.email RETURNING u.id""",
        hash_token(raw),
    )


async def end_verifications(db: Executor, user_id: int) -> None:
    """Ends the user's open confirmation links (their address changed: a new link goes to the new one)."""
    await db.execute(
        "UPDATE email_verifications SET expires_at = now() WHERE user_id = $1 AND expires_at > now()",
        user_id,
    )


async def purge_old(db: Executor) -> None:
    await db.execute("DELETE FROM email_verifications WHERE expires_at < now() - interval '1 day'")


async def resend_verification(
    pool: asyncpg.Pool, outbox: MailSender | None, settings: Settings, user: User
) -> None:
    """Mails a new confirmation link unless the address is already confirmed."""
    if await users.email_verified(pool, user.id):
        return
    async with pool.acquire() as conn, conn.transaction():
        await send_verification(conn, settings, user)
    if outbox is not None:
        outbox.wake()
