"""The page shell: templates with translations, static files with cache headers, health, language switch,
theme cookie and flash messages (one-shot toasts carried to the next page in a short-lived signed cookie)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
import orjson
from aiohttp import web
from markupsafe import Markup, escape

from hypertube import i18n
from hypertube.http.auth import LANG_COOKIE
from hypertube.http.security import csrf_token
from hypertube.keys import HEALTH_CHECKS, POOL, SETTINGS, USER

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"

THEME_COOKIE = "theme"
THEMES = ("dark", "light")
FLASH_COOKIE = "ht_flash"
FLASH_KINDS = ("info", "success", "warning", "error")
FLASH_MAX_AGE = 120  # seconds: long enough for a redirect, short enough never to surprise anyone later
FLASH_MAX_MESSAGES = 5
FLASH_MAX_LENGTH = 300

# Messages waiting on a response (set by `flash`), messages for the page being rendered (`flash_now`),
# and whether this request showed the flash cookie's messages (so the response clears it).
PENDING_FLASHES: web.ResponseKey[list] = web.ResponseKey("pending_flashes", list)
PAGE_FLASHES: web.RequestKey[list] = web.RequestKey("page_flashes", list)
FLASH_SHOWN: web.RequestKey[bool] = web.RequestKey("flash_shown", bool)

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


# --- flash messages -------------------------------------------------------------------------------------


def _clean(message: str, kind: str) -> tuple[str, str]:
    return (kind if kind in FLASH_KINDS else "info"), str(message)[:FLASH_MAX_LENGTH]


def flash(response: web.StreamResponse, message: str, kind: str = "info") -> web.StreamResponse:
    """Shows `message` as a toast on the next page this browser renders (usually after a redirect).

    Works on returned and raised responses alike (`raise flash(web.HTTPSeeOther("/"), _("Saved."))`).
    `kind` is one of info, success, warning, error. Pass text through `_()`; the page translates it again
    in its own language, so a message flashed just before a language switch still reads right."""
    pending = response.get(PENDING_FLASHES)
    if pending is None:
        pending = response[PENDING_FLASHES] = []
    if len(pending) < FLASH_MAX_MESSAGES:
        pending.append(_clean(message, kind))
    return response


def flash_now(request: web.Request, message: str, kind: str = "info") -> None:
    """Shows `message` as a toast on the page rendered for this very request (call before rendering)."""
    page = request.get(PAGE_FLASHES)
    if page is None:
        page = request[PAGE_FLASHES] = []
    if len(page) < FLASH_MAX_MESSAGES:
        page.append(_clean(message, kind))


def _sign(secret: str, payload: bytes) -> str:
    mac = hmac.new(f"flash:{secret}".encode(), payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def encode_flashes(secret: str, messages: list[tuple[str, str]]) -> str:
    payload = base64.urlsafe_b64encode(orjson.dumps(messages)).decode().rstrip("=")
    return f"{payload}.{_sign(secret, payload.encode())}"


def decode_flashes(secret: str, value: str | None) -> list[tuple[str, str]]:
    """The messages of a flash cookie, or [] when it is missing, tampered with or malformed."""
    if not value or len(value) > 4096 or "." not in value:
        return []
    payload, _, mac = value.rpartition(".")
    if not hmac.compare_digest(mac, _sign(secret, payload.encode())):
        return []
    try:
        data = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return []
    if not isinstance(data, list):
        return []
    messages = []
    for item in data[:FLASH_MAX_MESSAGES]:
        if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
            messages.append(_clean(item[1], item[0]))
    return messages


def take_flashes(request: web.Request) -> list[tuple[str, str]]:
    """Messages to show on the page being rendered: the flash cookie's (then cleared) and `flash_now`'s."""
    cookie = request.cookies.get(FLASH_COOKIE)
    messages = decode_flashes(request.app[SETTINGS].secret_key, cookie)
    if cookie is not None:
        request[FLASH_SHOWN] = True
    return messages + list(request.get(PAGE_FLASHES) or [])


def _cookie_header(request: web.Request, name: str, value: str, max_age: int) -> str:
    jar: SimpleCookie = SimpleCookie()
    jar[name] = value
    morsel = jar[name]
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    morsel["path"] = "/"
    morsel["max-age"] = str(max_age)
    if request.app[SETTINGS].secure:
        morsel["secure"] = True
    return morsel.OutputString()


async def flash_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """Writes pending messages into the flash cookie, or clears the cookie once a page has shown it.

    Done as a prepare hook because aiohttp serialises `response.cookies` before these hooks run, and
    because only here do both the response (its pending messages) and the secret key meet."""
    pending = response.get(PENDING_FLASHES)
    if pending:
        value = encode_flashes(request.app[SETTINGS].secret_key, pending)
        response.headers.add("Set-Cookie", _cookie_header(request, FLASH_COOKIE, value, FLASH_MAX_AGE))
    elif request.get(FLASH_SHOWN):
        response.headers.add("Set-Cookie", _cookie_header(request, FLASH_COOKIE, "", 0))


# --- templates ------------------------------------------------------------------------------------------


def client_messages() -> dict[str, str]:
    """Texts the browser scripts need (form validation, toasts), in the request's language."""
    _ = i18n.gettext
    return {
        "valueMissing": _("Please fill in this field."),
        "valueMissingChoice": _("Please choose an option."),
        "valueMissingFile": _("Please choose a file."),
        "typeMismatchEmail": _("Please enter a valid email address."),
        "typeMismatchUrl": _("Please enter a valid web address."),
        "typeMismatch": _("Please enter a valid value."),
        "tooShort": _("Please use at least %(min)s characters."),
        "tooLong": _("Please use at most %(max)s characters."),
        "rangeUnderflow": _("Please enter a value of at least %(min)s."),
        "rangeOverflow": _("Please enter a value of at most %(max)s."),
        "patternMismatch": _("Please match the requested format."),
        "stepMismatch": _("Please enter a valid value."),
        "badInput": _("Please enter a valid value."),
        "match": _("The two values do not match."),
        "differs": _("This must be different from your %(other)s."),
        "maxBytes": _("This file is too large (at most %(max)s)."),
        "accept": _("This type of file is not accepted."),
        "formInvalid": _("Please correct the highlighted fields."),
        "dismiss": _("Dismiss"),
        "networkError": _("The server could not be reached. Check your connection and try again."),
        "themeDark": _("Dark theme"),
    }


def template_gettext(message: str) -> Markup:
    """`_()` in templates. Jinja treats what this returns as HTML, so the text is escaped here: `_(variable)`
    and msgids with `<` or `&` are then as safe as any other value (placeholders are escaped by Jinja)."""
    return escape(i18n.gettext(message))


def template_ngettext(singular: str, plural: str, n: int) -> Markup:
    return escape(i18n.plural_text(singular, plural, n))


def translate(message: str) -> str:
    """Translates a message held in a variable (flash or error text) for a template.

    Same as `_(message)` in a template; kept as the explicit name for translating a variable."""
    return i18n.gettext(message) if isinstance(message, str) else message


def current_theme(request: web.Request) -> str:
    theme = request.cookies.get(THEME_COOKIE, "")
    return theme if theme in THEMES else ""


async def shell_context(request: web.Request) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    return {
        "user": request.get(USER),
        "csrf_token": csrf_token(request),
        "lang": i18n.current_language(),
        "languages": i18n.LANGUAGE_NAMES,
        "oauth_providers": [p.name for p in settings.oauth_providers],
        "request_path": request.path,
        "request_path_qs": request.path_qs,
        "theme": current_theme(request),
        # Called by base.html while it renders (context processors run before the handler): only pages
        # that are really shown consume the flash cookie, and `flash_now` calls in handlers count.
        "flashes": functools.partial(take_flashes, request),
        "client_messages": client_messages,
    }


async def page_context(request: web.Request) -> dict[str, Any]:
    """The context processor: aiohttp_jinja2 runs it before every handler, so files skip it (no CSRF
    cookie on cacheable static responses). Error pages call `shell_context` themselves."""
    if request.path.startswith(("/static/", "/media/")):
        return {}
    return await shell_context(request)


def setup_templates(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        extensions=["jinja2.ext.i18n"],
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        context_processors=[page_context],
        # No trim_blocks: it eats the newline after `{% endif %}`, gluing attributes written on separate
        # lines (`required{% endif %}` + newline + `maxlength=...` became `requiredmaxlength=...`).
        lstrip_blocks=True,
    )
    env.install_gettext_callables(template_gettext, template_ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["static_url"] = static_url
    env.globals["translate"] = translate
    i18n.load_catalogs()


# --- routes ---------------------------------------------------------------------------------------------


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


def safe_next(target: str) -> str:
    """A local path to go back to; anything else (other sites, `//host`, `/\\host`) becomes `/`."""
    if not target.startswith("/") or target.startswith(("//", "/\\")) or any(c in target for c in "\r\n\\"):
        return "/"
    return target[:2000]


async def set_language(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    lang = str(form.get("language", ""))
    if lang not in i18n.SUPPORTED:
        lang = i18n.DEFAULT_LANGUAGE
    target = safe_next(str(form.get("next", "/")))
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
        path="/",
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
    app.on_response_prepare.append(flash_cookie)
