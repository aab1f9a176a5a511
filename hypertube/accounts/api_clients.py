"""API clients: OAuth2 client-credentials pairs a user creates for third-party programs.

The secret is 256 random bits shown once; only its SHA-256 is stored (a slow hash adds nothing for a
secret that cannot be guessed), and checks compare digests in constant time."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from hypertube.accounts.tokens import InvalidToken, decode_access_token, issue_access_token
from hypertube.cache import Cache

NAME_MAX = 80
MAX_ACTIVE_CLIENTS = 20
CLIENT_ID_PREFIX = "htc_"
SECRET_PREFIX = "hts_"
AUDIENCE = "api"
OWNER_CACHE_TTL = 30.0
_DUMMY_HASH = hashlib.sha256(b"no such client").digest()


class ApiClientError(ValueError):
    """Bad input for an API client; the message is meant for the user."""


@dataclass(frozen=True, slots=True)
class ApiClient:
    id: int
    client_id: str
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> ApiClient:
        return cls(
            id=row["id"],
            client_id=row["client_id"],
            user_id=row["user_id"],
            name=row["name"],
            created_at=row["created_at"],
            last_used_at=row["last_used_at"],
            revoked_at=row["revoked_at"],
        )


_COLUMNS = "id, client_id, user_id, name, created_at, last_used_at, revoked_at"


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def clean_name(name: object) -> str:
    if not isinstance(name, str):
        raise ApiClientError("The name must be text.")
    text = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if not text:
        raise ApiClientError("Give the client a name.")
    if len(text) > NAME_MAX:
        raise ApiClientError(f"The name can be at most {NAME_MAX} characters long.")
    return text


async def create_client(pool: asyncpg.Pool, user_id: int, name: object) -> tuple[ApiClient, str]:
    """Creates a client; returns it with its secret, which is never available again."""
    text = clean_name(name)
    client_id = CLIENT_ID_PREFIX + secrets.token_urlsafe(15)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    async with pool.acquire() as conn, conn.transaction():
        # Serialises concurrent creations by the same user so the cap holds.
        await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)
        active = await conn.fetchval(
            "SELECT count(*) FROM api_clients WHERE user_id = $1 AND revoked_at IS NULL", user_id
        )
        if active >= MAX_ACTIVE_CLIENTS:
            raise ApiClientError(f"You can have at most {MAX_ACTIVE_CLIENTS} active clients.")
        row = await conn.fetchrow(
            f"""INSERT INTO api_clients (client_id, secret_hash, user_id, name)
                VALUES ($1, $2, $3, $4) RETURNING {_COLUMNS}""",
            client_id,
            hash_secret(secret),
            user_id,
            text,
        )
    return ApiClient.from_row(row), secret


async def list_clients(pool: asyncpg.Pool, user_id: int) -> list[ApiClient]:
    rows = await pool.fetch(
        f"""SELECT {_COLUMNS} FROM api_clients WHERE user_id = $1
            ORDER BY revoked_at IS NOT NULL, created_at DESC, id DESC""",
        user_id,
    )
    return [ApiClient.from_row(r) for r in rows]


async def revoke_client(pool: asyncpg.Pool, cache: Cache | None, user_id: int, client_id: str) -> bool:
    """Revokes one of the user's clients; its tokens stop working at once. False if there was none."""
    revoked = await pool.fetchval(
        """UPDATE api_clients SET revoked_at = now()
           WHERE client_id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING id""",
        client_id,
        user_id,
    )
    if cache is not None:
        await cache.delete(_owner_key(client_id))
    return revoked is not None


async def revoke_all_clients(pool: asyncpg.Pool, cache: Cache | None, user_id: int) -> int:
    """Revokes every client of the user (a password reset, signing out everywhere), so a stolen session
    cannot leave behind a program that keeps the account; their tokens stop working at once."""
    rows = await pool.fetch(
        """UPDATE api_clients SET revoked_at = now()
           WHERE user_id = $1 AND revoked_at IS NULL RETURNING client_id""",
        user_id,
    )
    if cache is not None:
        for row in rows:
            await cache.delete(_owner_key(row["client_id"]))
    return len(rows)


async def authenticate_client(pool: asyncpg.Pool, client_id: str, secret: str) -> ApiClient | None:
    """The active client these credentials belong to, or None. Takes the same time either way."""
    row = None
    if 0 < len(client_id) <= 64:
        row = await pool.fetchrow(
            f"SELECT {_COLUMNS}, secret_hash FROM api_clients WHERE client_id = $1 AND revoked_at IS NULL",
            client_id,
        )
    expected = bytes(row["secret_hash"]) if row else _DUMMY_HASH
    ok = hmac.compare_digest(expected, hash_secret(secret[:512]))
    if row is None or not ok:
        return None
    await pool.execute("UPDATE api_clients SET last_used_at = now() WHERE id = $1", row["id"])
    return ApiClient.from_row(row)


def issue_token(secret_key: str, client: ApiClient, ttl: int) -> str:
    return issue_access_token(secret_key, client.user_id, ttl, audience=AUDIENCE, cid=client.client_id)


def _owner_key(client_id: str) -> str:
    return f"api:client:{client_id}"


@functools.lru_cache(maxsize=4096)
def _verified(secret_key: str, token: str) -> tuple[int, str, int]:
    """(user id, client id, expiry) of a token whose signature and claims check out.

    Verifying a JWT costs far more than the rest of a cached API request, and a verified token's claims
    never change, so they are remembered; expiry is compared on every use and revocation is checked
    by the caller. Refused tokens raise and are not remembered."""
    claims = decode_access_token(secret_key, token, audience=AUDIENCE)
    client_id = claims.get("cid")
    if not isinstance(client_id, str) or not client_id:
        raise InvalidToken("no client")
    return int(claims["sub"]), client_id, int(claims["exp"])


async def token_owner(
    pool: asyncpg.Pool, cache: Cache | None, secret_key: str, token: str
) -> tuple[int, str]:
    """(user id, client id) for a valid API token whose client is still active; raises InvalidToken."""
    user_id, client_id, expires = _verified(secret_key, token)
    if expires <= time.time():
        raise InvalidToken("expired")
    owner = await cache.get(_owner_key(client_id)) if cache is not None else None
    if owner is None:
        owner = await pool.fetchval(
            "SELECT user_id FROM api_clients WHERE client_id = $1 AND revoked_at IS NULL", client_id
        )
        owner = owner or 0
        if cache is not None:
            await cache.set(_owner_key(client_id), owner, OWNER_CACHE_TTL)
    if owner != user_id:
        raise InvalidToken("client revoked")
    return user_id, client_id
