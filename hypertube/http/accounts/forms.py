"""What the account pages share: reading form fields, notices from `?notice=`, and rendering a page
that is never cached."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from hypertube.accounts.messages import N_
from hypertube.accounts.validation import clean, raw
from hypertube.i18n import gettext as _

MAX_FIELD = 1000  # longer values are cut before validation so error pages stay small
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
RATE_LIMITED = N_("Too many attempts. Please wait %(seconds)s seconds and try again.")


def notice_of(request: web.Request) -> dict[str, str]:
    """The page's one-line notice from `?notice=` (known codes only) and its kind for the toast."""
    code = request.query.get("notice", "")
    if code not in NOTICES:
        return {"notice": "", "notice_kind": "info"}
    return {"notice": _(NOTICES[code]), "notice_kind": NOTICE_KINDS.get(code, "success")}


def form_value(form: Any, name: str, *, keep_spaces: bool = False) -> str:
    """A posted field as text, cut to a sane length; passwords keep their spaces."""
    value = form.get(name) if form is not None else None
    text = raw(value) if keep_spaces else clean(value)
    return text[: MAX_FIELD * 2] if keep_spaces else text[:MAX_FIELD]


def translated(problems: dict[str, str]) -> dict[str, str]:
    """Field messages in the reader's language."""
    return {field: _(message) for field, message in problems.items()}


def render(
    request: web.Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    retry_after: int | None = None,
) -> web.Response:
    """The page, never cached; with `retry_after` a 429 saying how long to wait."""
    if retry_after is not None:
        status = 429
        context.setdefault("errors", {})["form"] = _(RATE_LIMITED, seconds=retry_after)
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response
