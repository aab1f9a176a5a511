"""The page shell: Jinja2 templates with translations, the context every page gets, versioned static URLs."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from hypertube import i18n
from hypertube.http.flash import take_flashes
from hypertube.http.security import csrf_token
from hypertube.keys import SETTINGS, USER

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
THEME_COOKIE = "theme"
THEMES = ("dark", "light")

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
