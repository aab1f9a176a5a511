"""Changing an account (names, email, language, password, picture): one set of rules for the profile
page and the API, and a confirmation mail whenever the email address changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from hypertube import i18n
from hypertube.accounts import avatars, reset, sessions, users, verification
from hypertube.accounts.mail import MailSender
from hypertube.accounts.models import User
from hypertube.accounts.passwords import hash_password
from hypertube.accounts.picture_decode import PictureError, convert_picture
from hypertube.accounts.validation import (
    LANGUAGE_INVALID,
    Taken,
    ValidationError,
    email_problem,
    name_problem,
    new_password_problem,
    username_problem,
)
from hypertube.settings import Settings

PROFILE_FIELDS = ("username", "email", "first_name", "last_name", "language")
# Reads the raw bytes of a new picture; raises PictureError with a message for the user.
PictureLoader = Callable[[], Awaitable[bytes]]


@dataclass(frozen=True)
class ProfileChanges:
    """What to change; None leaves a field as it is."""

    email: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    language: str | None = None
    password: str | None = None
    password_confirm: str = ""
    picture: PictureLoader | None = None
    remove_picture: bool = False

    def fields(self) -> dict[str, str]:
        """The profile fields being changed, in the order they are checked."""
        return {f: getattr(self, f) for f in PROFILE_FIELDS if getattr(self, f) is not None}


def _field_problems(user: User, changes: ProfileChanges) -> dict[str, str]:
    """Messages per refused field, username first (the API reports the first one)."""
    checks = {
        "username": username_problem,
        "email": email_problem,
        "first_name": name_problem,
        "last_name": name_problem,
        "language": lambda lang: None if lang in i18n.SUPPORTED else LANGUAGE_INVALID,
    }
    problems = {f: p for f, value in changes.fields().items() if (p := checks[f](value))}
    if changes.password is not None:
        problem = new_password_problem(
            changes.password,
            changes.password_confirm,
            username=changes.username or user.username,
            email=changes.email or user.email,
        )
        if problem:
            problems["password"] = problem
    return problems


async def _new_picture(changes: ProfileChanges, problems: dict[str, str]) -> bytes | None:
    """The converted new picture, or None; a refused one is added to `problems`."""
    if changes.picture is None:
        return None
    try:
        return await convert_picture(await changes.picture())
    except PictureError as exc:
        problems["picture"] = exc.message
        return None


async def update_profile(
    pool: asyncpg.Pool, outbox: MailSender | None, settings: Settings, user: User, changes: ProfileChanges
) -> User:
    """Applies `changes` to `user` and returns the saved account.

    A new email address is unconfirmed and gets a confirmation mail; a new password signs every
    session out. Raises ValidationError, or its subclass Taken for an email or username in use."""
    problems = _field_problems(user, changes)
    picture = await _new_picture(changes, problems)
    if problems:
        raise ValidationError(problems)
    if changes.email is not None or changes.username is not None:
        if taken := await users.taken_fields(
            pool, email=changes.email, username=changes.username, exclude=user.id
        ):
            raise Taken(taken)
    password_hash = None
    if changes.password is not None:
        password_hash = await hash_password(changes.password, settings.bcrypt_cost)
    folder = avatars.avatar_folder(settings)
    new_name = await avatars.store_picture(folder, picture) if picture else None
    try:
        updated, old_name = await _save(pool, settings, user, changes, new_name, password_hash)
    except users.DuplicateField as exc:
        await avatars.delete_picture(folder, new_name)
        raise Taken({exc.field: exc.message}) from None
    await avatars.delete_picture(folder, old_name)
    if updated.email.lower() != user.email.lower() and outbox is not None:
        outbox.wake()
    return updated


async def _save(
    pool: asyncpg.Pool,
    settings: Settings,
    user: User,
    changes: ProfileChanges,
    picture: str | None,
    password_hash: str | None,
) -> tuple[User, str | None]:
    """Writes the changes in one transaction; returns the account and the picture it replaced."""
    old_picture = None
    async with pool.acquire() as conn, conn.transaction():
        updated = user
        if fields := changes.fields():
            current = {f: getattr(user, f) for f in PROFILE_FIELDS}
            updated = await users.update_profile(conn, user.id, **(current | fields))
        if picture or changes.remove_picture:
            old_picture = await users.set_picture(conn, user.id, picture)
            updated = dataclasses.replace(updated, picture=picture)
        if password_hash is not None:
            await users.set_password(conn, user.id, password_hash)
            await sessions.revoke_all(conn, user.id, "password_change")
        if updated.email.lower() != user.email.lower():
            # Links mailed to the old address must not act on the account that now uses another one.
            await reset.end_resets(conn, user.id)
            await verification.end_verifications(conn, user.id)
            await verification.send_verification(conn, settings, updated)
    return updated, old_picture
