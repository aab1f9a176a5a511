"""The page shell: templates with translations, static files with cache headers, health, language switch."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from hypertube import i18n
from hypertube.http.auth import LANG_COOKIE
from hypertube.http.security import csrf_token
from hypertube.keys import POOL, SETTINGS, USER

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
HEALTH_CHECKS = web.AppKey("health_checks", dict)

_static_versions: dict[str, str] = {}


def static_url(path: str) -> str:
    """`/static/<path>?v=<content hash>` so that static files can be cached for a year."""
    version = _static_versions.get(path)
    if version is None:
        try:
            version = hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:10]
        except OSError:
            version = "0"
        _static_versions[path] = version
    return f"/static/{path}?v={version}"


async def shell_context(request: web.Request) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    return {
        "user": request.get(USER),
        "csrf_token": csrf_token(request),
        "lang": i18n.current_language(),
        "languages": i18n.LANGUAGE_NAMES,
        "oauth_providers": [p.name for p in settings.oauth_providers],
        "request_path": request.path,
        "theme": request.cookies.get("theme", ""),
    }


def setup_templates(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        extensions=["jinja2.ext.i18n"],
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        context_processors=[shell_context],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["static_url"] = static_url
    i18n.load_catalogs()


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
    target = str(form.get("next", "/"))
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    user = request.get(USER)
    if user is not None:
        await request.app[POOL].execute("UPDATE users SET language = $1 WHERE id = $2", lang, user.id)
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
        secure=request.app[SETTINGS].secure,
    )
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
