"""Shell routes: health report, favicon, language switch and static files with their cache headers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hypertube import i18n
from hypertube.http.auth import LANG_COOKIE
from hypertube.http.cookies import set_cookie
from hypertube.http.flash import flash_cookie
from hypertube.http.redirects import safe_next
from hypertube.http.shell import STATIC, setup_templates, static_url
from hypertube.keys import HEALTH_CHECKS, POOL, SETTINGS, USER


async def healthz(request: web.Request) -> web.Response:
    report: dict[str, Any] = {}
    healthy = True
    try:
        await request.app[POOL].fetchval("SELECT 1")
        report["database"] = "ok"
    except Exception as exc:  # the report is the point: say what failed instead of raising
        report["database"] = f"error: {type(exc).__name__}"
        healthy = False
    for name, check in request.app[HEALTH_CHECKS].items():
        try:
            report[name] = await check()
        except Exception as exc:
            report[name] = f"error: {type(exc).__name__}"
            healthy = False
    return web.json_response(
        {"status": "ok" if healthy else "degraded", **report}, status=200 if healthy else 503
    )


async def favicon(request: web.Request) -> web.StreamResponse:
    raise web.HTTPMovedPermanently(static_url("img/favicon.svg"))


async def set_language(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    lang = str(form.get("language", ""))
    if lang not in i18n.SUPPORTED:
        lang = i18n.DEFAULT_LANGUAGE
    target = safe_next(str(form.get("next", "/"))) or "/"
    user = request.get(USER)
    if user is not None:
        await request.app[POOL].execute("UPDATE users SET language = $1 WHERE id = $2", lang, user.id)
    response = web.HTTPSeeOther(target)
    set_cookie(response, request.app[SETTINGS], LANG_COOKIE, lang, max_age=365 * 24 * 3600)
    raise response


async def static_cache_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/static/"):
        if request.query.get("v"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "public, max-age=3600"


def setup(app: web.Application) -> None:
    app[HEALTH_CHECKS] = {}
    setup_templates(app)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_post("/language", set_language)
    app.router.add_static("/static", STATIC, name="static")
    app.on_response_prepare.append(static_cache_headers)
    app.on_response_prepare.append(flash_cookie)
