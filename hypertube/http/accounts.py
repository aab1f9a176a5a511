"""Account pages: register, login, logout, OAuth sign-in, password reset, profiles and avatars."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from hypertube import i18n
from hypertube.accounts import avatars, mail, oauth, passwords, reset, sessions, users, verification
from hypertube.accounts.mail import MailSender
from hypertube.accounts.messages import N_
from hypertube.accounts.passwords import hash_password, password_problem, verify_password
from hypertube.accounts.tokens import InvalidToken, read_payload, sign_payload
from hypertube.accounts.validation import (
    REGISTER_FIELDS,
    clean,
    email_problem,
    name_problem,
    raw,
    registration_problems,
    username_problem,
)
from hypertube.http import auth
from hypertube.http.auth import open_session, require_user
from hypertube.http.errors import ApiError
from hypertube.http.ratelimit import client_ip, enforce
from hypertube.i18n import gettext as _
from hypertube.keys import HTTP, MAIL_SENDER, PICTURE_IMPORTS, POOL, SETTINGS, USER

log = logging.getLogger(__name__)

OAUTH_STATE_COOKIE = "ht_oauth"
OAUTH_PENDING_COOKIE = "ht_oauth_pending"
OAUTH_STATE_TTL = 600
OAUTH_PENDING_TTL = 900
MAX_FIELD = 1000  # longer values are cut before validation so error pages stay small

LOGIN_FAILED = N_("Wrong username or password.")
RATE_LIMITED = N_("Too many attempts. Please wait %(seconds)s seconds and try again.")
CONFIRM_MISMATCH = N_("The two passwords are different.")
CURRENT_WRONG = N_("Your current password is not correct.")
RESET_INVALID = N_("This reset link is invalid, already used or expired. Ask for a new one.")
OAUTH_MESSAGES = {
    "denied": N_("Sign-in was cancelled at the provider. You can try again or use your password."),
    "state": N_("The sign-in took too long or came from another window. Please try again."),
    "provider": N_("The provider could not complete the sign-in. Please try again later."),
    "no_email": N_("The provider did not share a verified email address with us, so no account can be made."),
    "email_in_use": N_(
        "An account already uses this email address. Log in with your password and confirm the address "
        "from your profile; then this sign-in method can be linked to it."
    ),
    "expired": N_("The sign-up took too long. Please start again."),
    "not_configured": N_("This sign-in method is not available."),
}
NOTICES = {
    "password_reset": N_("Your password has been changed. You can log in with it now."),
    "logged_out": N_("You are logged out."),
    "saved": N_("Your profile has been saved."),
    "password_changed": N_("Your password has been changed."),
    "email_verified": N_("Your email address is confirmed."),
    "verification_sent": N_("We sent a confirmation link to your email address."),
    "verify_invalid": N_(
        "This confirmation link is invalid or expired. Ask for a new one from your profile."
    ),
}
NOTICE_KINDS = {"verify_invalid": "error"}


def notice_of(request: web.Request) -> dict[str, str]:
    """The page's one-line notice from `?notice=` (known codes only) and its kind for the toast."""
    code = request.query.get("notice", "")
    if code not in NOTICES:
        return {"notice": "", "notice_kind": "info"}
    return {"notice": _(NOTICES[code]), "notice_kind": NOTICE_KINDS.get(code, "success")}


TOO_MANY = N_("Too many attempts. Please wait a moment and try again.")

# (limit, window seconds) per key kind
LIMITS = {
    "login_ip": (30, 300),
    "login_account": (10, 900),
    "register_ip": (20, 3600),
    "register_account": (5, 3600),
    "forgot_ip": (10, 900),
    "forgot_account": (3, 900),
    "reset_ip": (20, 900),
    "reset_account": (10, 900),
    "verify_account": (3, 3600),
}


def _form_value(form: Any, name: str, *, keep_spaces: bool = False) -> str:
    value = form.get(name) if form is not None else None
    text = raw(value) if keep_spaces else clean(value)
    return text[: MAX_FIELD * 2] if keep_spaces else text[:MAX_FIELD]


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no open redirects)."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


async def limited(request: web.Request, *checks: tuple[str, str]) -> int | None:
    """Counts one hit on each (kind, key); returns the seconds to wait when a limit is exceeded."""
    for kind, key in checks:
        limit, window = LIMITS[kind]
        try:
            await enforce(request, f"{kind}:{key}", limit=limit, window=window)
        except ApiError as exc:
            return int(exc.headers.get("Retry-After", "60"))
    return None


def render(
    request: web.Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    retry_after: int | None = None,
) -> web.Response:
    if retry_after is not None:
        status = 429
        context.setdefault("errors", {})["form"] = _(RATE_LIMITED, seconds=retry_after)
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def wake_mail(app: web.Application) -> None:
    sender = app.get(MAIL_SENDER)
    if sender is not None:
        sender.wake()


# --- register / login / logout -------------------------------------------------------------------


async def register_page(request: web.Request) -> web.StreamResponse:
    if request.get(USER):
        raise web.HTTPSeeOther("/")
    return render(request, "accounts/register.html", {"values": {}, "errors": {}})


async def register(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    values = {f: _form_value(form, f) for f in REGISTER_FIELDS if f != "password"}
    password = _form_value(form, "password", keep_spaces=True)
    context: dict[str, Any] = {"values": values, "errors": {}}
    wait = await limited(
        request, ("register_ip", client_ip(request)), ("register_account", values["email"].lower()[:254])
    )
    if wait:
        return render(request, "accounts/register.html", context, retry_after=wait)
    errors = registration_problems({**values, "password": password})
    if not errors:
        errors = await users.taken_fields(
            request.app[POOL], email=values["email"], username=values["username"]
        )
    if not errors:
        settings = request.app[SETTINGS]
        hashed = await hash_password(password, settings.bcrypt_cost)
        try:
            async with request.app[POOL].acquire() as conn, conn.transaction():
                user = await users.create_user(
                    conn,
                    email=values["email"],
                    username=values["username"],
                    first_name=values["first_name"],
                    last_name=values["last_name"],
                    password_hash=hashed,
                    language=i18n.current_language(),
                )
                await send_verification(request, user, conn)
                await open_session(request, user, conn)
        except users.DuplicateField as exc:
            request.pop(auth.PENDING_COOKIES, None)
            errors = {exc.field: exc.message}
        else:
            wake_mail(request.app)
            raise web.HTTPSeeOther(safe_next(request.query.get("next")) or "/")
    context["errors"] = {k: _(v) for k, v in errors.items()}
    return render(request, "accounts/register.html", context, status=400)


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
    username = _form_value(form, "username")
    password = _form_value(form, "password", keep_spaces=True)
    next_url = safe_next(_form_value(form, "next")) or safe_next(request.query.get("next"))
    context: dict[str, Any] = {
        "values": {"username": username},
        "errors": {},
        "next": next_url or "",
        "notice": "",
    }
    wait = await limited(request, ("login_ip", client_ip(request)), ("login_account", username.lower()[:64]))
    if wait:
        return render(request, "accounts/login.html", context, retry_after=wait)
    settings = request.app[SETTINGS]
    found = (
        await users.credentials(request.app[POOL], username) if username_problem(username) is None else None
    )
    ok = await verify_password(password, found.password_hash if found else None, settings.bcrypt_cost)
    if not ok or found is None or not password:
        context["errors"]["form"] = _(LOGIN_FAILED)
        return render(request, "accounts/login.html", context, status=400)
    await open_session(request, found.user)
    raise web.HTTPSeeOther(next_url or "/")


async def logout(request: web.Request) -> web.StreamResponse:
    await auth.close_session(request)
    raise web.HTTPSeeOther("/login?notice=logged_out")


# --- email confirmation --------------------------------------------------------------------------


def _link(request: web.Request, path: str) -> str:
    return f"{request.app[SETTINGS].base_url.rstrip('/')}{path}"


async def send_verification(request: web.Request, user: users.User, conn) -> None:
    """Queues a confirmation mail for the user's current address (inside the caller's transaction)."""
    token = await verification.create_verification(conn, user.id, user.email)
    subject, body = _mail_text(
        user,
        N_("Confirm your Hypertube email address"),
        [
            (N_("Hello %(name)s,"), {"name": user.first_name}),
            (
                N_("Please confirm that %(email)s is the address of the Hypertube account %(username)s:"),
                {"email": user.email, "username": user.username},
            ),
        ],
        _link(request, f"/email/verify/{token}"),
        N_("If you did not create this account, ignore this mail."),
    )
    await mail.enqueue(conn, user.email, subject, body)


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
    if not await users.email_verified(request.app[POOL], user.id):
        async with request.app[POOL].acquire() as conn, conn.transaction():
            await send_verification(request, user, conn)
        wake_mail(request.app)
    raise web.HTTPSeeOther("/profile?notice=verification_sent")


def _mail_text(
    user: users.User, subject: str, lines: list[tuple[str, dict]], link: str, footer: str
) -> tuple[str, str]:
    """A plain-text mail in the user's language."""
    previous = i18n.set_language(user.language)
    try:
        body = [_(text, **values) for text, values in lines] + ["", link, "", _(footer)]
        return _(subject), "\n".join([body[0], "", *body[1:]])
    finally:
        i18n.reset_language(previous)


# --- password reset ------------------------------------------------------------------------------


async def forgot_page(request: web.Request) -> web.StreamResponse:
    return render(request, "accounts/forgot.html", {"values": {}, "errors": {}, "sent": False})


async def forgot(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email = _form_value(form, "email")
    context: dict[str, Any] = {"values": {"email": email}, "errors": {}, "sent": False}
    wait = await limited(request, ("forgot_ip", client_ip(request)), ("forgot_account", email.lower()[:254]))
    if wait:
        return render(request, "accounts/forgot.html", context, retry_after=wait)
    problem = email_problem(email)
    if problem:
        context["errors"]["email"] = _(problem)
        return render(request, "accounts/forgot.html", context, status=400)
    pool = request.app[POOL]
    found = await users.by_email(pool, email)
    if found is not None:
        user = found[0]
        settings = request.app[SETTINGS]
        async with pool.acquire() as conn, conn.transaction():
            token = await reset.create_reset(conn, user.id)
            link = f"{settings.base_url.rstrip('/')}/password/reset/{token}"
            subject, body = _reset_mail(user, link)
            await mail.enqueue(conn, user.email, subject, body)
        wake_mail(request.app)
    context["sent"] = True
    return render(request, "accounts/forgot.html", context)


def _reset_mail(user: users.User, link: str) -> tuple[str, str]:
    previous = i18n.set_language(user.language)
    try:
        subject = _("Reset your Hypertube password")
        body = "\n".join(
            [
                _("Hello %(name)s,", name=user.first_name),
                "",
                _(
                    "Someone (hopefully you) asked to reset the password of the Hypertube account %(username)s.",
                    username=user.username,
                ),
                _("Open this link within one hour to choose a new password:"),
                "",
                link,
                "",
                _("If you did not ask for this, ignore this mail: your password stays the same."),
            ]
        )
    finally:
        i18n.reset_language(previous)
    return subject, body


async def reset_page(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    valid = await reset.reset_user(request.app[POOL], token) is not None
    context = {"errors": {} if valid else {"form": _(RESET_INVALID)}, "valid": valid, "token": token}
    return render(request, "accounts/reset.html", context, status=200 if valid else 400)


async def reset_password(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    form = await request.post()
    password = _form_value(form, "password", keep_spaces=True)
    confirm = _form_value(form, "password_confirm", keep_spaces=True)
    context: dict[str, Any] = {"errors": {}, "valid": True, "token": token}
    wait = await limited(
        request, ("reset_ip", client_ip(request)), ("reset_account", sessions.hash_token(token).hex()[:32])
    )
    if wait:
        return render(request, "accounts/reset.html", context, retry_after=wait)
    pool = request.app[POOL]
    user_id = await reset.reset_user(pool, token)
    user = await users.by_id(pool, user_id) if user_id is not None else None
    if user is None:
        context.update(valid=False, errors={"form": _(RESET_INVALID)})
        return render(request, "accounts/reset.html", context, status=400)
    problem = password_problem(password, username=user.username, email=user.email)
    if not problem and confirm and confirm != password:
        problem = CONFIRM_MISMATCH
    if problem:
        context["errors"]["password"] = _(problem)
        return render(request, "accounts/reset.html", context, status=400)
    hashed = await hash_password(password, request.app[SETTINGS].bcrypt_cost)
    async with pool.acquire() as conn, conn.transaction():
        if await reset.consume_reset(conn, token) != user.id:
            context.update(valid=False, errors={"form": _(RESET_INVALID)})
            return render(request, "accounts/reset.html", context, status=400)
        # The mail reached its owner, so the address is now known to be theirs.
        await users.set_password(conn, user.id, hashed, email_verified=True)
        await sessions.revoke_all(conn, user.id, "password_reset")
    auth.clear_session_cookies(request)
    raise web.HTTPSeeOther("/login?notice=password_reset")


# --- profiles ------------------------------------------------------------------------------------


def _profile_context(user: users.User, **extra) -> dict[str, Any]:
    values = {
        "email": user.email,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "language": user.language,
    }
    return {"values": values, "errors": {}, "password_errors": {}, "profile": user, "notice": "", **extra}


async def profile_page(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    fresh = await users.by_id(request.app[POOL], user.id) or user
    context = _profile_context(fresh, **notice_of(request))
    context["has_password"] = await users.password_hash_of(request.app[POOL], user.id) is not None
    context["email_verified"] = await users.email_verified(request.app[POOL], user.id)
    return render(request, "accounts/profile.html", context)


async def _read_upload(field: Any) -> bytes | None:
    """The uploaded file's bytes, None when no file was chosen; too big raises PictureError."""
    if not isinstance(field, web.FileField):
        return None
    if not field.filename:
        return None

    def read() -> bytes:
        field.file.seek(0, 2)
        size = field.file.tell()
        if size > avatars.MAX_BYTES:
            raise avatars.PictureError(avatars.TOO_BIG)
        field.file.seek(0)
        return field.file.read()

    return await asyncio.to_thread(read)


async def update_profile(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    pool = request.app[POOL]
    form = await request.post()
    values = {f: _form_value(form, f) for f in ("email", "username", "first_name", "last_name", "language")}
    if not values["language"]:
        values["language"] = user.language
    errors: dict[str, str] = {}
    checks = {
        "email": email_problem(values["email"]),
        "username": username_problem(values["username"]),
        "first_name": name_problem(values["first_name"]),
        "last_name": name_problem(values["last_name"]),
        "language": None
        if values["language"] in i18n.SUPPORTED
        else N_("Choose one of the offered languages."),
    }
    errors = {k: v for k, v in checks.items() if v}
    picture: bytes | None = None
    try:
        upload = await _read_upload(form.get("picture"))
        if upload is not None:
            picture = await avatars.convert_picture(upload)
    except avatars.PictureError as exc:
        errors["picture"] = exc.message
    if not errors:
        errors = await users.taken_fields(
            pool, email=values["email"], username=values["username"], exclude=user.id
        )
    if not errors:
        folder = avatar_dir(request.app)
        new_name = await avatars.store_picture(folder, picture) if picture else None
        old_name = None
        try:
            async with pool.acquire() as conn, conn.transaction():
                updated = await users.update_profile(conn, user.id, **values)
                if new_name:
                    old_name = await users.set_picture(conn, user.id, new_name)
                if updated.email.lower() != user.email.lower():
                    await send_verification(request, updated, conn)
        except users.DuplicateField as exc:
            await avatars.delete_picture(folder, new_name)
            errors = {exc.field: exc.message}
        else:
            await avatars.delete_picture(folder, old_name)
            wake_mail(request.app)
            raise web.HTTPSeeOther("/profile?notice=saved")
    context = _profile_context(user)
    context["values"] = values
    context["errors"] = {k: _(v) for k, v in errors.items()}
    context["has_password"] = await users.password_hash_of(pool, user.id) is not None
    context["email_verified"] = await users.email_verified(pool, user.id)
    return render(request, "accounts/profile.html", context, status=400)


async def change_password(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    pool = request.app[POOL]
    settings = request.app[SETTINGS]
    form = await request.post()
    current = _form_value(form, "current_password", keep_spaces=True)
    password = _form_value(form, "password", keep_spaces=True)
    confirm = _form_value(form, "password_confirm", keep_spaces=True)
    errors: dict[str, str] = {}
    wait = await limited(request, ("login_account", user.username.lower()))
    existing = await users.password_hash_of(pool, user.id)
    if wait:
        errors["current_password"] = _(RATE_LIMITED, seconds=wait)
    elif existing is not None and not await verify_password(current, existing, settings.bcrypt_cost):
        errors["current_password"] = _(CURRENT_WRONG)
    else:
        problem = password_problem(password, username=user.username, email=user.email)
        if not problem and confirm and confirm != password:
            problem = CONFIRM_MISMATCH
        if problem:
            errors["password"] = _(problem)
    if not errors:
        hashed = await hash_password(password, settings.bcrypt_cost)
        async with pool.acquire() as conn, conn.transaction():
            await users.set_password(conn, user.id, hashed)
            await sessions.revoke_all(conn, user.id, "password_change")
            await open_session(request, user, conn)
        raise web.HTTPSeeOther("/profile?notice=password_changed")
    context = _profile_context(
        user,
        password_errors=errors,
        has_password=existing is not None,
        email_verified=await users.email_verified(pool, user.id),
    )
    return render(request, "accounts/profile.html", context, status=429 if wait else 400, retry_after=None)


async def user_page(request: web.Request) -> web.StreamResponse:
    require_user(request)
    name = request.match_info["username"]
    other = await users.by_username(request.app[POOL], name) if username_problem(name) is None else None
    if other is None:
        raise ApiError(404, N_("There is no user with this name."))
    return render(request, "accounts/user.html", {"profile": other})


def avatar_dir(app: web.Application):
    return app[SETTINGS].data_dir / "avatars"


async def avatar(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = avatar_dir(request.app) / name
    if not re.fullmatch(avatars.NAME_RE, name) or not await asyncio.to_thread(path.is_file):
        raise web.HTTPNotFound()
    return web.FileResponse(
        path, headers={"Cache-Control": "public, max-age=31536000, immutable", "Content-Type": "image/webp"}
    )


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


# --- OAuth ---------------------------------------------------------------------------------------


def _provider(request: web.Request) -> str:
    provider = request.match_info["provider"]
    if provider not in oauth.PROVIDERS or request.app[SETTINGS].oauth_provider(provider) is None:
        raise ApiError(404, N_("This sign-in method is not available."))
    return provider


async def oauth_login(request: web.Request) -> web.StreamResponse:
    provider = _provider(request)
    settings = request.app[SETTINGS]
    state = secrets.token_urlsafe(32)
    verifier = oauth.new_verifier() if oauth.endpoints(settings, provider).pkce else None
    data = {"p": provider, "s": state, "v": verifier, "n": safe_next(request.query.get("next")) or ""}
    blob = sign_payload(settings.secret_key, "oauth-state", OAUTH_STATE_TTL, data)
    auth.add_cookie(request, OAUTH_STATE_COOKIE, blob, max_age=OAUTH_STATE_TTL, path="/auth/")
    raise web.HTTPFound(oauth.authorization_url(settings, provider, state, verifier))


def _oauth_failed(request: web.Request, code: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/login?oauth_error={code}")


async def oauth_callback(request: web.Request) -> web.StreamResponse:
    provider = _provider(request)
    settings = request.app[SETTINGS]
    auth.add_cookie(request, OAUTH_STATE_COOKIE, "", max_age=0, path="/auth/")
    error = request.query.get("error")
    if error:
        log.info("%s sign-in refused: %s", provider, error[:100])
        raise _oauth_failed(request, "denied" if error == "access_denied" else "provider")
    try:
        data = read_payload(settings.secret_key, "oauth-state", request.cookies.get(OAUTH_STATE_COOKIE))
    except InvalidToken:
        raise _oauth_failed(request, "state") from None
    sent_state = request.query.get("state", "")
    if data.get("p") != provider or not hmac.compare_digest(
        str(data.get("s", "")).encode(), sent_state.encode()
    ):
        raise _oauth_failed(request, "state")
    code = request.query.get("code", "")
    if not code or len(code) > 2000:
        raise _oauth_failed(request, "provider")
    try:
        token = await oauth.exchange_code(request.app[HTTP], settings, provider, code, data.get("v"))
        identity = await oauth.fetch_identity(request.app[HTTP], settings, provider, token)
        outcome = await oauth.resolve(request.app[POOL], identity)
    except oauth.OAuthError as exc:
        log.warning("%s sign-in failed: %s", provider, exc)
        raise _oauth_failed(request, exc.code if exc.code in OAUTH_MESSAGES else "provider") from None
    next_url = safe_next(data.get("n")) or "/"
    if isinstance(outcome, oauth.NeedsUsername):
        pending = {"identity": outcome.identity.as_dict(), "suggestion": outcome.suggestion, "n": next_url}
        blob = sign_payload(settings.secret_key, "oauth-pending", OAUTH_PENDING_TTL, pending)
        auth.add_cookie(request, OAUTH_PENDING_COOKIE, blob, max_age=OAUTH_PENDING_TTL, path="/auth/")
        raise web.HTTPSeeOther("/auth/choose-username")
    await open_session(request, outcome)
    _import_picture(request, outcome, identity)
    raise web.HTTPSeeOther(next_url)


def _import_picture(request: web.Request, user: users.User, identity: oauth.Identity) -> None:
    """The provider's profile picture for an account without one, fetched in the background (the
    sign-in does not wait for the provider's picture server)."""
    if user.picture or not identity.picture_url:
        return
    app = request.app
    task = asyncio.create_task(
        oauth.import_picture(app[HTTP], app[POOL], avatar_dir(app), user.id, identity.picture_url),
        name=f"import-picture-{user.id}",
    )
    app[PICTURE_IMPORTS].add(task)
    task.add_done_callback(app[PICTURE_IMPORTS].discard)


def _pending(request: web.Request) -> tuple[oauth.Identity, dict]:
    try:
        data = read_payload(
            request.app[SETTINGS].secret_key, "oauth-pending", request.cookies.get(OAUTH_PENDING_COOKIE)
        )
        return oauth.Identity.from_dict(data["identity"]), data
    except (InvalidToken, KeyError, TypeError):
        raise _oauth_failed(request, "expired") from None


async def choose_username_page(request: web.Request) -> web.StreamResponse:
    identity, data = _pending(request)
    context = {
        "values": {"username": str(data.get("suggestion", ""))},
        "errors": {},
        "provider_label": oauth.LABELS.get(identity.provider, identity.provider),
    }
    return render(request, "accounts/choose_username.html", context)


async def choose_username(request: web.Request) -> web.StreamResponse:
    identity, data = _pending(request)
    form = await request.post()
    username = _form_value(form, "username")
    context: dict[str, Any] = {
        "values": {"username": username},
        "errors": {},
        "provider_label": oauth.LABELS.get(identity.provider, identity.provider),
    }
    problem = username_problem(username)
    if not problem:
        problem = (await users.taken_fields(request.app[POOL], username=username)).get("username")
    if not problem:
        try:
            user = await oauth.create_account(request.app[POOL], identity, username, i18n.current_language())
        except users.DuplicateField as exc:
            if exc.field == "email":
                raise _oauth_failed(request, "email_in_use") from None
            problem = exc.message
        else:
            auth.add_cookie(request, OAUTH_PENDING_COOKIE, "", max_age=0, path="/auth/")
            await open_session(request, user)
            _import_picture(request, user, identity)
            raise web.HTTPSeeOther(safe_next(data.get("n")) or "/")
    context["errors"]["username"] = _(problem)
    return render(request, "accounts/choose_username.html", context, status=400)


# --- background work -----------------------------------------------------------------------------


async def picture_imports(app: web.Application):
    """Provider pictures being fetched; cancelled at shutdown."""
    running: set[asyncio.Task] = set()
    app[PICTURE_IMPORTS] = running
    yield
    tasks = list(running)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def mail_sender(app: web.Application):
    sender = MailSender(app[POOL], app[SETTINGS])
    app[MAIL_SENDER] = sender
    task = asyncio.create_task(sender.run(), name="mail-outbox")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def janitor(app: web.Application):
    async def loop() -> None:
        while True:
            try:
                pool = app[POOL]
                await sessions.purge_expired(pool)
                await reset.purge_old(pool)
                await verification.purge_old(pool)
                await mail.purge_sent(pool)
            except Exception:
                log.exception("accounts janitor failed")
            await asyncio.sleep(3600)

    task = asyncio.create_task(loop(), name="accounts-janitor")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def setup(app: web.Application) -> None:
    """Adds the account routes; their background workers are opened in `hypertube.lifecycle`."""
    auth.setup(app)
    r = app.router
    r.add_get("/register", register_page, name="register")
    r.add_post("/register", register)
    r.add_get("/login", login_page, name="login")
    r.add_post("/login", login)
    r.add_post("/logout", logout, name="logout")
    r.add_get("/password/forgot", forgot_page, name="forgot")
    r.add_post("/password/forgot", forgot)
    r.add_get("/password/reset/{token}", reset_page, name="reset")
    r.add_post("/password/reset/{token}", reset_password)
    r.add_get("/password/common.txt", common_passwords)
    r.add_get("/email/verify/{token}", verify_email, name="verify_email")
    r.add_post("/email/verify", resend_verification)
    r.add_get("/profile", profile_page, name="profile")
    r.add_post("/profile", update_profile)
    r.add_post("/profile/password", change_password)
    r.add_get("/users/{username}", user_page, name="user")
    r.add_get("/media/avatars/{name}", avatar)
    r.add_get("/auth/choose-username", choose_username_page)
    r.add_post("/auth/choose-username", choose_username)
    r.add_get("/auth/{provider}/login", oauth_login)
    r.add_get("/auth/{provider}/callback", oauth_callback)
