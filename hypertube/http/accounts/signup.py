"""Signing up, in and out with a password, and confirming the email address."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hypertube import i18n
from hypertube.accounts import login_limits, registration, users, verification
from hypertube.accounts.login_limits import DEVICE_COOKIE
from hypertube.accounts.messages import N_
from hypertube.accounts.passwords import verify_password
from hypertube.accounts.validation import REGISTER_FIELDS, ValidationError, username_problem
from hypertube.http import auth
from hypertube.http.accounts.forms import form_value, notice_of, render, translated
from hypertube.http.accounts.limits import TOO_MANY, limited
from hypertube.http.accounts.provider_signin import OAUTH_MESSAGES
from hypertube.http.accounts.workers import outbox
from hypertube.http.auth import open_session, require_user
from hypertube.http.errors import ApiError
from hypertube.http.flash import flash
from hypertube.http.ratelimit import client_ip
from hypertube.http.redirects import safe_next
from hypertube.i18n import gettext as _
from hypertube.keys import POOL, RATE_LIMITS, SETTINGS, USER

LOGIN_FAILED = N_("Wrong username or password.")
MAIL_SENT = N_("Welcome! We sent a link to %(email)s: open it to confirm your address.")


async def register_page(request: web.Request) -> web.StreamResponse:
    if request.get(USER):
        raise web.HTTPSeeOther("/")
    return render(request, "accounts/register.html", {"values": {}, "errors": {}})


async def register(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    values = {f: form_value(form, f) for f in REGISTER_FIELDS if f != "password"}
    password = form_value(form, "password", keep_spaces=True)
    context: dict[str, Any] = {"values": values, "errors": {}}
    wait = await limited(
        request, ("register_ip", client_ip(request)), ("register_account", values["email"].lower()[:254])
    )
    if wait:
        return render(request, "accounts/register.html", context, retry_after=wait)
    settings = request.app[SETTINGS]
    pool = request.app[POOL]
    try:
        account = await registration.check_registration(
            pool, settings, {**values, "password": password}, i18n.current_language()
        )
        await _create_and_sign_in(request, account)
    except registration.AddressInUse as exc:
        # Answered like a new account, so the page tells no one which addresses have one.
        await registration.tell_owner(pool, outbox(request.app), settings, exc.email)
    except ValidationError as exc:
        context["errors"] = translated(exc.problems)
        return render(request, "accounts/register.html", context, status=400)
    if sender := outbox(request.app):
        sender.wake()
    # Said the same way when the address already had an account (that owner got a mail instead).
    done = web.HTTPSeeOther(safe_next(request.query.get("next")) or "/")
    flash(done, _(MAIL_SENT, email=values["email"]), "success")
    raise done


async def _create_and_sign_in(request: web.Request, account: registration.NewAccount) -> None:
    try:
        async with request.app[POOL].acquire() as conn, conn.transaction():
            user = await registration.create_account(conn, request.app[SETTINGS], account)
            await open_session(request, user, conn)
    except (ValidationError, registration.AddressInUse):
        # The session cookies of the account that was rolled back must not be sent.
        request.pop(auth.PENDING_COOKIES, None)
        raise


async def login_page(request: web.Request) -> web.StreamResponse:
    next_url = safe_next(request.query.get("next"))
    if request.get(USER):
        raise web.HTTPSeeOther(next_url or "/")
    errors = {}
    code = request.query.get("oauth_error", "")
    if code in OAUTH_MESSAGES:
        errors["form"] = _(OAUTH_MESSAGES[code])
    context = {"values": {}, "errors": errors, "next": next_url or "", **notice_of(request)}
    return render(request, "accounts/login.html", context, status=400 if errors else 200)


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = form_value(form, "username")
    password = form_value(form, "password", keep_spaces=True)
    next_url = safe_next(form_value(form, "next")) or safe_next(request.query.get("next"))
    context: dict[str, Any] = {
        "values": {"username": username},
        "errors": {},
        "next": next_url or "",
        "notice": "",
    }
    settings = request.app[SETTINGS]
    found = (
        await users.credentials(request.app[POOL], username) if username_problem(username) is None else None
    )
    device = login_limits.known_device(
        settings.secret_key, request.cookies.get(DEVICE_COOKIE), found.user.id if found else None
    )
    wait = await login_limits.attempt_wait(request.app[RATE_LIMITS], client_ip(request), username, device)
    if wait:
        return render(request, "accounts/login.html", context, retry_after=wait)
    ok = await verify_password(password, found.password_hash if found else None, settings.bcrypt_cost)
    if not ok or found is None or not password:
        context["errors"]["form"] = _(LOGIN_FAILED)
        return render(request, "accounts/login.html", context, status=400)
    await open_session(request, found.user)
    raise web.HTTPSeeOther(next_url or "/")


async def logout(request: web.Request) -> web.StreamResponse:
    await auth.close_session(request)
    raise web.HTTPSeeOther("/login?notice=logged_out")


async def verify_email(request: web.Request) -> web.StreamResponse:
    user_id = await verification.confirm_email(request.app[POOL], request.match_info["token"])
    notice = "email_verified" if user_id is not None else "verify_invalid"
    # Either way the reader lands on a page they know, with the outcome in a notice.
    raise web.HTTPSeeOther(f"/profile?notice={notice}" if request.get(USER) else f"/login?notice={notice}")


async def resend_verification(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    wait = await limited(request, ("verify_account", str(user.id)))
    if wait:
        raise ApiError(429, TOO_MANY, headers={"Retry-After": str(wait)})
    await verification.resend_verification(
        request.app[POOL], outbox(request.app), request.app[SETTINGS], user
    )
    raise web.HTTPSeeOther("/profile?notice=verification_sent")
