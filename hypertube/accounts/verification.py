"""Email confirmation links: valid two days, for the address they were sent to, stored as SHA-256 hashes."""

from __future__ import annotations

from hypertube.accounts.sessions import hash_token, new_token
from hypertube.accounts.users import Executor

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


async def purge_old(db: Executor) -> None:
    await db.execute("DELETE FROM email_verifications WHERE expires_at < now() - interval '1 day'")
