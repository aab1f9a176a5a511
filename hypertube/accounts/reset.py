"""Password reset links: single use, valid one hour, stored only as SHA-256 hashes."""

from __future__ import annotations

from hypertube.accounts.sessions import hash_token, new_token
from hypertube.accounts.users import Executor

RESET_TTL_SECONDS = 3600
MAX_TOKEN_LENGTH = 200


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
