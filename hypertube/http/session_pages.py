"""`/settings/sessions`: where this account is signed in, ending those sessions (one or all others),
and the sign-in providers linked to it (unlinking one)."""

from __future__ import annotations

import uuid
from typing import NoReturn

import aiohttp_jinja2
from aiohttp import web

from hypertube.accounts import api_clients, oauth, sessions, users
from hypertube.http import auth
from hypertube.http.auth import login_required, require_user
from hypertube.http.errors import ApiError
from hypertube.http.flash import flash
from hypertube.i18n import N_
from hypertube.i18n import gettext as _
from hypertube.keys import CACHE, POOL


def _device(user_agent: str | None) -> str:
    browser, system = sessions.device_of(user_agent)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or _("Unknown device")


def _back_with(message: str, kind: str = "success") -> NoReturn:
    redirect = web.HTTPSeeOther("/settings/sessions")
    flash(redirect, message, kind)
    raise redirect


@login_required
async def sessions_page(request: web.Request) -> web.Response:
    user = require_user(request)
    current = await auth.current_family(request)
    rows = await sessions.open_sessions(request.app[POOL], user.id)
    listed = [
        {
            "id": str(row["id"]),
            "device": _device(row["user_agent"]),
            "created_at": row["created_at"],
            "last_used_at": row["last_used_at"],
            "current": row["id"] == current,
        }
        for row in rows
    ]
    listed.sort(key=lambda s: not s["current"])  # this browser first
    linked = await oauth.linked_providers(request.app[POOL], user.id)
    response = aiohttp_jinja2.render_template(
        "accounts/sessions.html",
        request,
        {
            "sessions": listed,
            "others": sum(1 for s in listed if not s["current"]),
            "linked": [(p, oauth.LABELS[p]) for p in linked],
            "has_password": await users.password_hash_of(request.app[POOL], user.id) is not None,
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@login_required
async def end_session(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    try:
        family = uuid.UUID(request.match_info["session_id"])
    except ValueError:
        raise ApiError(404, N_("This session does not exist or has already ended.")) from None
    if family == await auth.current_family(request):
        await auth.close_session(request, "ended")
        raise web.HTTPSeeOther("/login?notice=logged_out")
    if not await sessions.end_session(request.app[POOL], user.id, family):
        raise ApiError(404, N_("This session does not exist or has already ended."))
    _back_with(_("That session has been ended."))


@login_required
async def end_other_sessions(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    count = await sessions.end_other_sessions(request.app[POOL], user.id, await auth.current_family(request))
    # Whoever was signed in elsewhere may have made an API client: it goes too.
    await api_clients.revoke_all_clients(request.app[POOL], request.app[CACHE], user.id)
    _back_with(
        _("Other sessions ended: %(count)s.", count=count) if count else _("No other session was open.")
    )


@login_required
async def unlink_provider(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    provider = request.match_info["provider"]
    if provider not in oauth.PROVIDERS:
        raise ApiError(404, N_("This account is not linked to that provider."))
    problem = await oauth.unlink(request.app[POOL], user.id, provider)
    if problem == "not_linked":
        raise ApiError(404, N_("This account is not linked to that provider."))
    if problem == oauth.ONLY_WAY_IN:
        _back_with(
            _("This is the only way to sign in to your account: set a password on your profile first."),
            "error",
        )
    _back_with(_("%(provider)s is no longer linked to your account.", provider=oauth.LABELS[provider]))


def setup(app: web.Application) -> None:
    app.router.add_get("/settings/sessions", sessions_page, name="sessions")
    app.router.add_post("/settings/sessions/end-others", end_other_sessions)
    app.router.add_post("/settings/sessions/{session_id}/end", end_session)
    app.router.add_post("/settings/providers/{provider}/unlink", unlink_provider)
