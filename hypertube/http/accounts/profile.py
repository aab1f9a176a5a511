"""Profile pages: your own (editable, with its picture upload), other users' pages, and the stored pictures."""

from __future__ import annotations

import asyncio
import re
from typing import IO, Any

from aiohttp import web

from hypertube.accounts import avatars, profile, users
from hypertube.accounts.messages import N_
from hypertube.accounts.models import User
from hypertube.accounts.passwords import verify_password
from hypertube.accounts.picture_decode import MAX_BYTES, TOO_BIG, PictureError
from hypertube.accounts.profile import PROFILE_FIELDS, PictureLoader, ProfileChanges
from hypertube.accounts.validation import ValidationError, email_problem, username_problem
from hypertube.http.accounts.forms import RATE_LIMITED, form_value, notice_of, render, translated
from hypertube.http.accounts.limits import limited
from hypertube.http.accounts.workers import outbox
from hypertube.http.auth import require_user
from hypertube.http.errors import ApiError
from hypertube.i18n import gettext as _
from hypertube.keys import POOL, SETTINGS

EMAIL_PASSWORD_NEEDED = N_("Give your current password to change your email address.")
CURRENT_WRONG = N_("Your current password is not correct.")
AVATAR_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable", "Content-Type": "image/webp"}


def _profile_context(user: User, **extra: Any) -> dict[str, Any]:
    values = {f: getattr(user, f) for f in PROFILE_FIELDS}
    return {"values": values, "errors": {}, "password_errors": {}, "profile": user, "notice": "", **extra}


async def profile_response(
    request: web.Request, user: User, extra: dict[str, Any], *, status: int = 200
) -> web.Response:
    """The profile page of `user`; `extra` fills the context (values, errors, password_errors, notice)."""
    pool = request.app[POOL]
    context = _profile_context(user, **extra)
    context["has_password"] = await users.password_hash_of(pool, user.id) is not None
    context["email_verified"] = await users.email_verified(pool, user.id)
    return render(request, "accounts/profile.html", context, status=status)


async def profile_page(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    fresh = await users.by_id(request.app[POOL], user.id) or user
    return await profile_response(request, fresh, notice_of(request))


def _read_capped(file: IO[bytes]) -> bytes:
    file.seek(0, 2)
    if file.tell() > MAX_BYTES:
        raise PictureError(TOO_BIG)
    file.seek(0)
    return file.read()


def _upload(field: Any) -> PictureLoader | None:
    """Reads the uploaded picture, or None when no file was chosen."""
    if not isinstance(field, web.FileField) or not field.filename:
        return None

    async def read() -> bytes:
        return await asyncio.to_thread(_read_capped, field.file)

    return read


async def _email_step_up(request: web.Request, user: User, form: Any, email: str) -> tuple[str, int] | None:
    """A new email address needs the account's password (when it has one), as on the API: a session alone
    (an unlocked browser, a stolen cookie) must not be enough to move the account to another address and
    reset its password there. Returns the field's error and the status, or None."""
    if email_problem(email) is not None or email.lower() == user.email.lower():
        return None  # unchanged, or refused by the form's own checks
    stored = await users.password_hash_of(request.app[POOL], user.id)
    if stored is None:
        return None  # provider-only accounts, as for a new password on this page
    if wait := await limited(request, ("current_password", str(user.id))):
        return _(RATE_LIMITED, seconds=wait), 429
    given = form_value(form, "email_password", keep_spaces=True)
    if not given:
        return _(EMAIL_PASSWORD_NEEDED), 400
    if not await verify_password(given, stored, request.app[SETTINGS].bcrypt_cost):
        return _(CURRENT_WRONG), 400
    return None


async def update_profile(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    form = await request.post()
    values: dict[str, Any] = {f: form_value(form, f) for f in PROFILE_FIELDS}
    values["language"] = values["language"] or user.language
    if refused := await _email_step_up(request, user, form, values["email"] or ""):
        message, status = refused
        return await profile_response(
            request, user, {"values": values, "errors": {"email_password": message}}, status=status
        )
    changes = ProfileChanges(**values, picture=_upload(form.get("picture")))
    if changes.picture is not None and (wait := await limited(request, ("picture_user", str(user.id)))):
        context = {"values": values, "errors": {"picture": _(RATE_LIMITED, seconds=wait)}}
        return await profile_response(request, user, context, status=429)
    try:
        await profile.update_profile(
            request.app[POOL], outbox(request.app), request.app[SETTINGS], user, changes
        )
    except ValidationError as exc:
        context = {"values": values, "errors": translated(exc.problems)}
        return await profile_response(request, user, context, status=400)
    raise web.HTTPSeeOther("/profile?notice=saved")


async def user_page(request: web.Request) -> web.StreamResponse:
    require_user(request)
    name = request.match_info["username"]
    other = await users.by_username(request.app[POOL], name) if username_problem(name) is None else None
    if other is None:
        raise ApiError(404, N_("There is no user with this name."))
    return render(request, "accounts/user.html", {"profile": other})


async def avatar(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = avatars.avatar_folder(request.app[SETTINGS]) / name
    if not re.fullmatch(avatars.NAME_RE, name) or not await asyncio.to_thread(path.is_file):
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers=AVATAR_HEADERS)
