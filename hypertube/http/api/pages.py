"""Pages of the API: `/settings/api-clients` (create, list, revoke clients) and `/api/docs` (Swagger UI)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from hypertube.accounts import api_clients
from hypertube.http.auth import current_family, login_required, require_user
from hypertube.i18n import gettext as _
from hypertube.keys import CACHE, POOL

# A new client's secret waits here, for this browser's session only, until the page after the POST
# shows it once (never in a URL or a cookie); unread, it is gone after this many seconds.
REVEAL_TTL = 120

DOCS_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # Swagger UI sets style attributes from its bundle; only this page allows them.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


async def _render(
    request: web.Request, *, status: int = 200, reveal: dict | None = None, **context
) -> web.Response:
    """The page; `reveal` ({client_id, secret}) shows that new client's credentials."""
    user = require_user(request)
    clients = await api_clients.list_clients(request.app[POOL], user.id)
    new_client = next((c for c in clients if reveal and c.client_id == reveal.get("client_id")), None)
    new_secret = reveal.get("secret") if reveal and new_client else None
    response = aiohttp_jinja2.render_template(
        "api_clients.html",
        request,
        {
            "clients": clients,
            "new_client": new_client,
            "new_secret": new_secret,
            "error": None,
            "name": "",
            **context,
        },
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def _reveal_key(request: web.Request) -> str:
    family = await current_family(request)
    return f"api_client_reveal:{require_user(request).id}:{family or 'no-session'}"


async def _take_reveal(request: web.Request) -> dict | None:
    """The client created by this session's last POST with its secret, once; then it is forgotten."""
    key = await _reveal_key(request)
    cache = request.app[CACHE]
    shown = await cache.get(key)
    if shown is None:
        return None
    await cache.delete(key)
    return shown if isinstance(shown, dict) else None


@login_required
async def clients_page(request: web.Request) -> web.Response:
    return await _render(request, reveal=await _take_reveal(request))


@login_required
async def create_client(request: web.Request) -> web.Response:
    user = require_user(request)
    form = await request.post()
    name = form.get("name", "")
    try:
        client, secret = await api_clients.create_client(request.app[POOL], user.id, name)
    except api_clients.ApiClientError as exc:
        return await _render(
            request, status=422, error=_(str(exc)), name=name if isinstance(name, str) else ""
        )
    reveal = {"client_id": client.client_id, "secret": secret}
    await request.app[CACHE].set(await _reveal_key(request), reveal, REVEAL_TTL)
    # Post/Redirect/Get: reloading the page that shows the secret creates no second client.
    raise web.HTTPSeeOther("/settings/api-clients")


@login_required
async def revoke_client(request: web.Request) -> web.Response:
    user = require_user(request)
    client_id = request.match_info["client_id"]
    await api_clients.revoke_client(request.app[POOL], request.app[CACHE], user.id, client_id)
    raise web.HTTPSeeOther("/settings/api-clients")


@aiohttp_jinja2.template("api_docs.html")
async def docs_page(request: web.Request) -> dict:
    return {}


async def docs_csp(request: web.Request, response: web.StreamResponse) -> None:
    if request.path == "/api/docs":
        response.headers["Content-Security-Policy"] = DOCS_CSP


def setup(app: web.Application) -> None:
    app.router.add_get("/settings/api-clients", clients_page, name="api_clients")
    app.router.add_post("/settings/api-clients", create_client)
    # Client ids are `htc_` and URL-safe base64; anything else (a NUL byte, say) never reaches the database.
    app.router.add_post(r"/settings/api-clients/{client_id:[A-Za-z0-9_-]{1,64}}/revoke", revoke_client)
    app.router.add_get("/api/docs", docs_page, name="api_docs")
    # Runs before the security hook, which only fills in headers that are not set yet.
    app.on_response_prepare.insert(0, docs_csp)
