"""Password pages: forgotten password, reset by mailed link, change from the profile, and the
common-password list the forms check against while typing."""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web

from hypertube.accounts import passwords, profile, reset, sessions, users
from hypertube.accounts.messages import N_
from hypertube.accounts.passwords import verify_password
from hypertube.accounts.profile import ProfileChanges
from hypertube.accounts.validation import ValidationError, email_problem
from hypertube.http import auth
from hypertube.http.accounts.forms import RATE_LIMITED, form_value, render, translated
from hypertube.http.accounts.limits import limited
from hypertube.http.accounts.profile import CURRENT_WRONG, profile_response
from hypertube.http.accounts.workers import outbox
from hypertube.http.auth import open_session, require_user
from hypertube.http.ratelimit import client_ip
from hypertube.i18n import gettext as _
from hypertube.keys import CACHE, POOL, SETTINGS

RESET_INVALID = N_("This reset link is invalid, already used or expired. Ask for a new one.")


async def forgot_page(request: web.Request) -> web.StreamResponse:
    return render(request, "accounts/forgot.html", {"values": {}, "errors": {}, "sent": False})


async def forgot(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email = form_value(form, "email")
    context: dict[str, Any] = {"values": {"email": email}, "errors": {}, "sent": False}
    wait = await limited(request, ("forgot_ip", client_ip(request)), ("forgot_account", email.lower()[:254]))
    if wait:
        return render(request, "accounts/forgot.html", context, retry_after=wait)
    problem = email_problem(email)
    if problem:
        context["errors"]["email"] = _(problem)
        return render(request, "accounts/forgot.html", context, status=400)
    await reset.send_reset(request.app[POOL], outbox(request.app), request.app[SETTINGS], email)
    context["sent"] = True
    return render(request, "accounts/forgot.html", context)


async def reset_page(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    valid = await reset.reset_user(request.app[POOL], token) is not None
    context = {"errors": {} if valid else {"form": _(RESET_INVALID)}, "valid": valid, "token": token}
    return render(request, "accounts/reset.html", context, status=200 if valid else 400)


async def reset_password(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    form = await request.post()
    password = form_value(form, "password", keep_spaces=True)
    confirm = form_value(form, "password_confirm", keep_spaces=True)
    context: dict[str, Any] = {"errors": {}, "valid": True, "token": token}
    wait = await limited(
        request, ("reset_ip", client_ip(request)), ("reset_account", sessions.hash_token(token).hex()[:32])
    )
    if wait:
        return render(request, "accounts/reset.html", context, retry_after=wait)
    try:
        await reset.reset_password(
            request.app[POOL], request.app[CACHE], request.app[SETTINGS], token, password, confirm
        )
    except reset.ResetInvalid:
        context.update(valid=False, errors={"form": _(RESET_INVALID)})
        return render(request, "accounts/reset.html", context, status=400)
    except ValidationError as exc:
        context["errors"] = translated(exc.problems)
        return render(request, "accounts/reset.html", context, status=400)
    auth.clear_session_cookies(request)
    raise web.HTTPSeeOther("/login?notice=password_reset")


async def change_password(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    settings = request.app[SETTINGS]
    form = await request.post()
    current = form_value(form, "current_password", keep_spaces=True)
    changes = ProfileChanges(
        password=form_value(form, "password", keep_spaces=True),
        password_confirm=form_value(form, "password_confirm", keep_spaces=True),
    )
    errors: dict[str, str] = {}
    wait = await limited(request, ("current_password", str(user.id)))
    existing = await users.password_hash_of(request.app[POOL], user.id)
    if wait:
        errors["current_password"] = _(RATE_LIMITED, seconds=wait)
    elif existing is not None and not await verify_password(current, existing, settings.bcrypt_cost):
        errors["current_password"] = _(CURRENT_WRONG)
    else:
        try:
            await profile.update_profile(request.app[POOL], outbox(request.app), settings, user, changes)
        except ValidationError as exc:
            errors = translated(exc.problems)
        else:
            # Every session was signed out; this browser gets a new one.
            await open_session(request, user)
            raise web.HTTPSeeOther("/profile?notice=password_changed")
    return await profile_response(request, user, {"password_errors": errors}, status=429 if wait else 400)


@functools.cache
def _long_common_passwords() -> str:
    return "\n".join(sorted(w for w in passwords.common_passwords() if len(w) >= passwords.MIN_LENGTH))


async def common_passwords(request: web.Request) -> web.StreamResponse:
    """The common-password list (only entries long enough to matter), for the live checks in the form."""
    return web.Response(
        text=_long_common_passwords(),
        content_type="text/plain",
        headers={"Cache-Control": "public, max-age=86400"},
    )
