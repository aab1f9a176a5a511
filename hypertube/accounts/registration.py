"""Creating an account with a password: the checks, then the row and its confirmation mail."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from hypertube.accounts import mail, users, verification
from hypertube.accounts.mail import MailSender
from hypertube.accounts.mail_texts import address_in_use_mail, site_link
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


class AddressInUse(Exception):
    """The email already has an account. The page answers as for a new account (so it tells no one which
    addresses have accounts); the owner is mailed instead (`tell_owner`)."""

    def __init__(self, email: str):
        super().__init__(email)
        self.email = email


async def check_registration(
    pool: asyncpg.Pool, settings: Settings, fields: dict[str, str], language: str
) -> NewAccount:
    """Validates the form fields (email, username, first_name, last_name, password) and hashes the
    password; raises ValidationError, Taken when the username is in use, or AddressInUse."""
    if problems := registration_problems(fields):
        raise ValidationError(problems)
    taken = await users.taken_fields(pool, email=fields["email"], username=fields["username"])
    if "username" in taken:  # usernames are public anyway (profile pages)
        raise Taken({"username": taken["username"]})
    # Hashed either way: a used address must not answer faster than a new one.
    password_hash = await hash_password(fields["password"], settings.bcrypt_cost)
    if taken:
        raise AddressInUse(fields["email"])
    return NewAccount(
        email=fields["email"],
        username=fields["username"],
        first_name=fields["first_name"],
        last_name=fields["last_name"],
        password_hash=password_hash,
        language=language,
    )


async def tell_owner(pool: asyncpg.Pool, outbox: MailSender | None, settings: Settings, email: str) -> None:
    """Mails the owner of `email` that someone tried to sign up with it."""
    found = await users.by_email(pool, email)
    if found is None:
        return
    owner = found[0]
    subject, body = address_in_use_mail(owner, site_link(settings, "/password/forgot"))
    await mail.enqueue(pool, owner.email, subject, body)
    if outbox is not None:
        outbox.wake()


async def create_account(conn: asyncpg.Connection, settings: Settings, account: NewAccount) -> User:
    """Writes the account and queues its confirmation mail (inside the caller's transaction, which
    may also open the first session); raises Taken or AddressInUse when another account got the username
    or the email first."""
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
        if exc.field == "email":
            raise AddressInUse(account.email) from None
        raise Taken({exc.field: exc.message}) from None
    await verification.send_verification(conn, settings, user)
    return user
