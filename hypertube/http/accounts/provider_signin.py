"""Sign-in with 42, GitHub or Google: the redirect to the provider, its callback, choosing a username
for a new account, and importing the provider's picture in the background."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from typing import Any

from aiohttp import web

from hypertube import i18n
from hypertube.accounts import avatars, oauth, oauth_providers, users
from hypertube.accounts.messages import N_
from hypertube.accounts.tokens import InvalidToken, read_payload, sign_payload
from hypertube.accounts.validation import username_problem
from hypertube.http import auth
from hypertube.http.accounts.forms import form_value, render
from hypertube.http.accounts.workers import PICTURE_IMPORTS
from hypertube.http.auth import open_session
from hypertube.http.errors import ApiError
from hypertube.http.redirects import safe_next
from hypertube.i18n import gettext as _
from hypertube.keys import HTTP, POOL, SETTINGS

log = logging.getLogger(__name__)

OAUTH_STATE_COOKIE = "ht_oauth"
OAUTH_PENDING_COOKIE = "ht_oauth_pending"
OAUTH_STATE_TTL = 600
OAUTH_PENDING_TTL = 900
# Shown on the login page after a failed sign-in, by the code in `?oauth_error=`.
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


def _provider(request: web.Request) -> str:
    provider = request.match_info["provider"]
    if provider not in oauth.PROVIDERS or request.app[SETTINGS].oauth_provider(provider) is None:
        raise ApiError(404, N_("This sign-in method is not available."))
    return provider


async def oauth_login(request: web.Request) -> web.StreamResponse:
    provider = _provider(request)
    settings = request.app[SETTINGS]
    state = secrets.token_urlsafe(32)
    verifier = oauth_providers.new_verifier() if oauth_providers.endpoints(settings, provider).pkce else None
    data = {"p": provider, "s": state, "v": verifier, "n": safe_next(request.query.get("next")) or ""}
    blob = sign_payload(settings.secret_key, "oauth-state", OAUTH_STATE_TTL, data)
    auth.add_cookie(request, OAUTH_STATE_COOKIE, blob, max_age=OAUTH_STATE_TTL, path="/auth/")
    raise web.HTTPFound(oauth_providers.authorization_url(settings, provider, state, verifier))


def _oauth_failed(code: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/login?oauth_error={code}")


def _checked_state(request: web.Request, provider: str) -> dict[str, Any]:
    """The state this browser was sent off with, once the provider's answer is known to belong to it."""
    error = request.query.get("error")
    if error:
        log.info("%s sign-in refused: %s", provider, error[:100])
        raise _oauth_failed("denied" if error == "access_denied" else "provider")
    secret_key = request.app[SETTINGS].secret_key
    try:
        data = read_payload(secret_key, "oauth-state", request.cookies.get(OAUTH_STATE_COOKIE))
    except InvalidToken:
        raise _oauth_failed("state") from None
    sent_state = request.query.get("state", "")
    if data.get("p") != provider or not hmac.compare_digest(
        str(data.get("s", "")).encode(), sent_state.encode()
    ):
        raise _oauth_failed("state")
    code = request.query.get("code", "")
    if not code or len(code) > 2000:
        raise _oauth_failed("provider")
    return data


async def oauth_callback(request: web.Request) -> web.StreamResponse:
    provider = _provider(request)
    settings = request.app[SETTINGS]
    auth.add_cookie(request, OAUTH_STATE_COOKIE, "", max_age=0, path="/auth/")
    data = _checked_state(request, provider)
    try:
        token = await oauth_providers.exchange_code(
            request.app[HTTP], settings, provider, request.query["code"], data.get("v")
        )
        identity = await oauth_providers.fetch_identity(request.app[HTTP], settings, provider, token)
        outcome = await oauth.resolve(request.app[POOL], identity)
    except oauth.OAuthError as exc:
        log.warning("%s sign-in failed: %s", provider, exc)
        raise _oauth_failed(exc.code if exc.code in OAUTH_MESSAGES else "provider") from None
    next_url = safe_next(data.get("n")) or "/"
    if isinstance(outcome, oauth.NeedsUsername):
        pending = {"identity": outcome.identity.as_dict(), "suggestion": outcome.suggestion, "n": next_url}
        blob = sign_payload(settings.secret_key, "oauth-pending", OAUTH_PENDING_TTL, pending)
        auth.add_cookie(request, OAUTH_PENDING_COOKIE, blob, max_age=OAUTH_PENDING_TTL, path="/auth/")
        raise web.HTTPSeeOther("/auth/choose-username")
    await open_session(request, outcome)
    _import_picture(request.app, outcome, identity)
    raise web.HTTPSeeOther(next_url)


def _import_picture(app: web.Application, user: users.User, identity: oauth.Identity) -> None:
    """The provider's profile picture for an account without one, fetched in the background (the
    sign-in does not wait for the provider's picture server); the task is cancelled at shutdown."""
    if user.picture or not identity.picture_url:
        return
    folder = avatars.avatar_folder(app[SETTINGS])
    task = asyncio.create_task(
        oauth.import_picture(
            oauth.picture_policy(app[SETTINGS]), app[POOL], folder, user.id, identity.picture_url
        ),
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
        raise _oauth_failed("expired") from None


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
    username = form_value(form, "username")
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
                raise _oauth_failed("email_in_use") from None
            problem = exc.message
        else:
            auth.add_cookie(request, OAUTH_PENDING_COOKIE, "", max_age=0, path="/auth/")
            await open_session(request, user)
            _import_picture(request.app, user, identity)
            raise web.HTTPSeeOther(safe_next(data.get("n")) or "/")
    context["errors"]["username"] = _(problem)
    return render(request, "accounts/choose_username.html", context, status=400)
