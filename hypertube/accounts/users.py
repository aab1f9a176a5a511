"""Reading and writing user rows; duplicate emails and usernames come back as field messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import asyncpg

from hypertube.accounts.models import USER_COLUMNS, User
from hypertube.accounts.validation import EMAIL_TAKEN, USERNAME_TAKEN

Executor: TypeAlias = asyncpg.Connection | asyncpg.Pool


class DuplicateField(Exception):
    """Another account already has this email or username (compared without case)."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field
        self.message = EMAIL_TAKEN if field == "email" else USERNAME_TAKEN


@dataclass(frozen=True)
class Credentials:
    user: User
    password_hash: str | None


def _duplicate(exc: asyncpg.UniqueViolationError) -> DuplicateField:
    constraint = getattr(exc, "constraint_name", "") or ""
    return DuplicateField("email" if "email" in constraint else "username")


async def create_user(
    db: Executor,
    *,
    email: str,
    username: str,
    first_name: str,
    last_name: str,
    password_hash: str | None,
    language: str = "en",
    email_verified: bool = False,
) -> User:
    try:
        row = await db.fetchrow(
            f"""INSERT INTO users (email, username, first_name, last_name, password_hash, language, email_verified)
                VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {USER_COLUMNS}""",
            email,
            username,
            first_name,
            last_name,
            password_hash,
            language,
            email_verified,
        )
    except asyncpg.UniqueViolationError as exc:
        raise _duplicate(exc) from exc
    return User.from_row(row)


async def taken_fields(
    db: Executor, *, email: str | None = None, username: str | None = None, exclude: int = 0
) -> dict[str, str]:
    """Which of `email` / `username` another account already uses (a friendly check before writing)."""
    row = await db.fetchrow(
        """SELECT EXISTS (SELECT 1 FROM users WHERE email = $1::citext AND id <> $3) AS email,
                  EXISTS (SELECT 1 FROM users WHERE username = $2::citext AND id <> $3) AS username""",
        email,
        username,
        exclude,
    )
    found = {}
    if email and row["email"]:
        found["email"] = EMAIL_TAKEN
    if username and row["username"]:
        found["username"] = USERNAME_TAKEN
    return found


async def credentials(db: Executor, username: str) -> Credentials | None:
    row = await db.fetchrow(
        f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1::citext", username
    )
    return Credentials(User.from_row(row), row["password_hash"]) if row else None


async def password_hash_of(db: Executor, user_id: int) -> str | None:
    return await db.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)


async def by_id(db: Executor, user_id: int) -> User | None:
    row = await db.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE id = $1", user_id)
    return User.from_row(row) if row else None


async def by_username(db: Executor, username: str) -> User | None:
    row = await db.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE username = $1::citext", username)
    return User.from_row(row) if row else None


async def by_email(db: Executor, email: str) -> tuple[User, bool] | None:
    """The user with this email and whether that email is verified."""
    row = await db.fetchrow(
        f"SELECT {USER_COLUMNS}, email_verified FROM users WHERE email = $1::citext", email
    )
    return (User.from_row(row), row["email_verified"]) if row else None


async def update_profile(
    db: Executor,
    user_id: int,
    *,
    email: str,
    username: str,
    first_name: str,
    last_name: str,
    language: str,
) -> User:
    """Saves the editable fields; a changed email is no longer verified."""
    try:
        row = await db.fetchrow(
            f"""UPDATE users SET email = $2, username = $3, first_name = $4, last_name = $5, language = $6,
                       email_verified = email_verified AND email = $2::citext, updated_at = now()
                WHERE id = $1 RETURNING {USER_COLUMNS}""",
            user_id,
            email,
            username,
            first_name,
            last_name,
            language,
        )
    except asyncpg.UniqueViolationError as exc:
        raise _duplicate(exc) from exc
    return User.from_row(row)


async def set_picture(db: Executor, user_id: int, picture: str | None) -> str | None:
    """Stores the new picture name; returns the previous one (for the caller to delete)."""
    return await db.fetchval(
        """UPDATE users u SET picture = $2, updated_at = now()
           FROM (SELECT id, picture FROM users WHERE id = $1 FOR UPDATE) old
           WHERE u.id = old.id RETURNING old.picture""",
        user_id,
        picture,
    )


async def set_password(
    db: Executor, user_id: int, password_hash: str, *, proven_email: str | None = None
) -> None:
    """Stores a new password hash; `proven_email`, an address a mail just reached, becomes verified if
    the account still uses it."""
    await db.execute(
        """UPDATE users SET password_hash = $2, updated_at = now(),
                  email_verified = email_verified OR coalesce(email = $3::citext, false)
           WHERE id = $1""",
        user_id,
        password_hash,
        proven_email,
    )


async def email_verified(db: Executor, user_id: int) -> bool:
    return bool(await db.fetchval("SELECT email_verified FROM users WHERE id = $1", user_id))


async def usernames_after(db: Executor, after_id: int, limit: int) -> list[tuple[int, str]]:
    """(id, username) of up to `limit` users with ids above `after_id`, in id order."""
    rows = await db.fetch(
        "SELECT id, username::text FROM users WHERE id > $1 ORDER BY id LIMIT $2", after_id, limit
    )
    return [(r["id"], r["username"]) for r in rows]
