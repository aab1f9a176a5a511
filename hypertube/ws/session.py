"""POST /live/session: a page whose cookie was refreshed keeps its open socket alive."""

from __future__ import annotations

import time

from aiohttp import web

from hypertube.http.errors import json_error
from hypertube.i18n import gettext as _
from hypertube.keys import LIVE, SETTINGS, USER


async def session_endpoint(request: web.Request) -> web.Response:
    """POST /live/session {sid}: the page's fresh cookie keeps its open socket alive."""
    user = request.get(USER)
    if user is None:
        message = _("Your session has expired. Reload the page to sign in again.")
        return json_error(401, "session_expired", message)
    try:
        body = await request.json()
    except ValueError:
        body = None
    sid = body.get("sid") if isinstance(body, dict) else None
    if not isinstance(sid, str) or not 0 < len(sid) <= 64:
        return json_error(400, "bad_request", _("sid must be the socket id."), field="sid")
    live = request.app[LIVE]
    expires_at = time.time() + request.app[SETTINGS].access_token_ttl
    if not await live.extend_session(sid, user.id, expires_at):
        return json_error(404, "not_found", _("This live connection is closed."))
    return web.json_response({"expires_in": int(expires_at - time.time())})
