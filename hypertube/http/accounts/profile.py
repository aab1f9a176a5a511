"""Profile pages: your own (editable, with its picture upload), other users' pages, and the stored pictures."""

from __future__ import annotations

import asyncio
import re
from typing import IO, Any

from aiohttp import web

from hypertube.accounts import avatars, profile, users
from hypertube.accounts.messages import N_
from hypertube.accounts.models import User
from hypertube.accounts.picture_decode import MAX_BYTES, TOO_BIG, PictureError
from hypertube.accounts.profile import PROFILE_FIELDS, PictureLoader, ProfileChanges
from hypertube.accounts.validation import ValidationError, username_problem
from hypertube.http.accounts.forms import RATE_LIMITED, form_value, notice_of, render, translated
from hypertube.http.accounts.limits import limited
from hypertube.http.accounts.workers import outbox
from hypertube.http.auth import require_user
from hypertube.http.errors import ApiError
from hypertube.i18n import gettext as _
from hypertube.keys import POOL, SETTINGS

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


async def update_profile(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    form = await request.post()
    values: dict[str, Any] = {f: form_value(form, f) for f in PROFILE_FIELDS}
    values["language"] = values["language"] or user.language
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
