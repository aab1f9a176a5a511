"""Creating an account with a password: the checks, then the row and its confirmation mail."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from hypertube.accounts import users, verification
from hypertube.accounts.models import User
from hypertube.accounts.passwords import hash_password
from hypertube.accounts.validation import Taken, ValidationError, registration_problems
from hypertube.settings import Settings


@dataclass(frozen=True)
class NewAccount:
    """A checked registration with its password already hashed."""

    email: str
    username: str
    first_name: str
    last_name: str
    password_hash: str
    language: str


async def check_registration(
    pool: asyncpg.Pool, settings: Settings, fields: dict[str, str], language: str
) -> NewAccount:
    """Validates the form fields (email, username, first_name, last_name, password) and hashes the
    password; raises ValidationError, or Taken when the email or username is in use."""
    if problems := registration_problems(fields):
        raise ValidationError(problems)
    if taken := await users.taken_fields(pool, email=fields["email"], username=fields["username"]):
        raise Taken(taken)
    return NewAccount(
        email=fields["email"],
        username=fields["username"],
        first_name=fields["first_name"],
        last_name=fields["last_name"],
        password_hash=await hash_password(fields["password"], settings.bcrypt_cost),
        language=language,
    )


async def create_account(conn: asyncpg.Connection, settings: Settings, account: NewAccount) -> User:
    """Writes the account and queues its confirmation mail (inside the caller's transaction, which
    may also open the first session); raises Taken when another account got the email or username first."""
    try:
        user = await users.create_user(
            conn,
            email=account.email,
            username=account.username,
            first_name=account.first_name,
            last_name=account.last_name,
            password_hash=account.password_hash,
            language=account.language,
        )
    except users.DuplicateField as exc:
        raise Taken({exc.field: exc.message}) from None
    await verification.send_verification(conn, settings, user)
    return user
