"""Sign-in sessions: a family of refresh tokens per sign-in, rotated on every use, stored as SHA-256 hashes.

Presenting a refresh token that was already rotated revokes its whole family (it was stolen or replayed),
except within a few seconds of the rotation, when it is a browser's parallel requests racing each other."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

import asyncpg

from hypertube.accounts.users import Executor

REUSE_GRACE_SECONDS = 10


class SessionInvalid(Exception):
    """The refresh token is unknown, expired or revoked."""


class RefreshTokenReused(SessionInvalid):
    """An already-rotated refresh token came back: the family has been revoked."""


@dataclass(frozen=True)
class Rotation:
    user_id: int
    family_id: uuid.UUID
    refresh_token: str | None  # None when a racing request already rotated it: keep the newer cookie


def hash_token(raw: str) -> bytes:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).digest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def start_session(
    db: Executor, user_id: int, ttl: int, user_agent: str | None = None
) -> tuple[uuid.UUID, str]:
    """Opens a new family for a fresh sign-in; returns (family id, refresh token)."""
    family = uuid.uuid4()
    raw = new_token()
    await db.execute(
        """WITH f AS (INSERT INTO session_families (id, user_id, user_agent, last_used_at)
                      VALUES ($1, $2, $5, now()))
           INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)
           VALUES ($3, $1, $2, now() + make_interval(secs => $4))""",
        family,
        user_id,
        hash_token(raw),
        float(ttl),
        (user_agent or "")[:512] or None,
    )
    return family, raw


async def rotate(pool: asyncpg.Pool, raw: str, ttl: int, *, grace: float = REUSE_GRACE_SECONDS) -> Rotation:
    """Exchanges a refresh token for a new one of the same family."""
    if not raw or len(raw) > 200:
        raise SessionInvalid("malformed")
    reused = False
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """SELECT t.family_id, t.user_id, t.expires_at <= now() AS expired,
                      f.revoked_at IS NOT NULL AS revoked, t.rotated_at IS NOT NULL AS rotated,
                      t.rotated_at > now() - make_interval(secs => $2) AS recent
               FROM refresh_tokens t JOIN session_families f ON f.id = t.family_id
               WHERE t.token_hash = $1 FOR UPDATE OF t""",
            hash_token(raw),
            float(grace),
        )
        if row is None or row["revoked"] or row["expired"]:
            raise SessionInvalid("unknown, revoked or expired")
        if row["rotated"]:
            if row["recent"]:
                return Rotation(row["user_id"], row["family_id"], None)
            # Committed before raising: the revocation must survive the error.
            await conn.execute(
                """UPDATE session_families SET revoked_at = now(), revoked_reason = 'reuse'
                   WHERE id = $1 AND revoked_at IS NULL""",
                row["family_id"],
            )
            reused = True
        else:
            fresh = new_token()
            await conn.execute(
                "UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1", hash_token(raw)
            )
            await conn.execute(
                "UPDATE session_families SET last_used_at = now() WHERE id = $1", row["family_id"]
            )
            await conn.execute(
                """INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)
                   VALUES ($1, $2, $3, now() + make_interval(secs => $4))""",
                hash_token(fresh),
                row["family_id"],
                row["user_id"],
                float(ttl),
            )
    if reused:
        raise RefreshTokenReused("rotated token presented again")
    return Rotation(row["user_id"], row["family_id"], fresh)


async def family_of(db: Executor, raw: str) -> uuid.UUID | None:
    if not raw or len(raw) > 200:
        return None
    return await db.fetchval("SELECT family_id FROM refresh_tokens WHERE token_hash = $1", hash_token(raw))


async def revoke_family(db: Executor, family_id: uuid.UUID, reason: str) -> None:
    await db.execute(
        "UPDATE session_families SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL",
        family_id,
        reason,
    )


async def revoke_all(db: Executor, user_id: int, reason: str) -> int:
    """Ends every session of a user (password reset or change); returns how many were open."""
    status = await db.execute(
        """UPDATE session_families SET revoked_at = now(), revoked_reason = $2
           WHERE user_id = $1 AND revoked_at IS NULL""",
        user_id,
        reason,
    )
    return int(status.split()[-1])


async def open_sessions(db: Executor, user_id: int) -> list[asyncpg.Record]:
    """The user's sessions still able to renew themselves, the most recently used first."""
    return await db.fetch(
        """SELECT f.id, f.created_at, coalesce(f.last_used_at, f.created_at) AS last_used_at, f.user_agent
           FROM session_families f
           WHERE f.user_id = $1 AND f.revoked_at IS NULL
             AND EXISTS (SELECT 1 FROM refresh_tokens t
                         WHERE t.family_id = f.id AND t.rotated_at IS NULL AND t.expires_at > now())
           ORDER BY last_used_at DESC, f.created_at DESC""",
        user_id,
    )


async def end_session(db: Executor, user_id: int, family_id: uuid.UUID) -> bool:
    """Ends one of the user's own sessions; False when there is no such open session."""
    ended = await db.fetchval(
        """UPDATE session_families SET revoked_at = now(), revoked_reason = 'ended'
           WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING id""",
        family_id,
        user_id,
    )
    return ended is not None


async def end_other_sessions(db: Executor, user_id: int, keep: uuid.UUID | None) -> int:
    """Ends every session of the user but `keep` (this browser's); returns how many."""
    status = await db.execute(
        """UPDATE session_families SET revoked_at = now(), revoked_reason = 'ended'
           WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)""",
        user_id,
        keep,
    )
    return int(status.split()[-1])


async def ended_families(db: Executor, families: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these sessions have ended (signed out, ended from elsewhere, revoked, or purged)."""
    if not families:
        return set()
    rows = await db.fetch(
        "SELECT id FROM session_families WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL", families
    )
    return set(families) - {r["id"] for r in rows}


BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chromium/", "Chromium"),
            ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"))  # fmt: skip
SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
           ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"), ("Linux", "Linux"))  # fmt: skip


def device_of(user_agent: str | None) -> tuple[str | None, str | None]:
    """(browser, system) named from a User-Agent header, each None when not recognised."""
    ua = user_agent or ""
    browser = next((name for token, name in BROWSERS if token in ua), None)
    system = next((name for token, name in SYSTEMS if token in ua), None)
    return browser, system


async def purge_expired(db: Executor) -> None:
    """Drops refresh tokens a day past expiry and families left without any token."""
    await db.execute("DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'")
    await db.execute(
        """DELETE FROM session_families f WHERE created_at < now() - interval '1 day'
           AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.id)"""
    )
