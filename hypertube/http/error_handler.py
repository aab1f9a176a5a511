"""The error middleware: every failure answered in the client's format, JSON under /api and /stream, an HTML
page elsewhere, and never a traceback."""

from __future__ import annotations

import logging

import aiohttp_jinja2
from aiohttp import web

from hypertube.http.errors import REASONS, ApiError, json_error, wants_json
from hypertube.http.shell import shell_context
from hypertube.i18n import N_

log = logging.getLogger(__name__)


async def html_error(request: web.Request, status: int, message: str, headers=None) -> web.Response:
    """The error page; its shell context is built here, as the context processor may not have run yet."""
    try:
        context = {**await shell_context(request), "status": status, "message": message}
        response = aiohttp_jinja2.render_template("error.html", request, context, status=status)
    except Exception:  # a broken template must not turn an error page into a crash
        log.exception("error page failed to render")
        response = web.Response(status=status, text=message)
    if headers:
        response.headers.update(headers)
    return response


def _message_for(exc: web.HTTPException) -> str:
    if exc.status == 404:
        return N_("This page does not exist.")
    if exc.status == 405:
        return N_("This method is not allowed here.")
    if exc.status == 413:
        return N_("The request is too large.")
    text = exc.text or exc.reason or N_("Request failed.")
    return text.removeprefix(f"{exc.status}: ")


MAX_URL = 8 * 1024  # longer addresses get a 414 with a message (the HTTP parser itself allows 256 KiB)
MAX_REQUEST_LINE = 256 * 1024  # past this aiohttp answers a bare text/plain 400 before any middleware


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        if len(request.raw_path) > MAX_URL:
            raise ApiError(414, N_("This address is too long."), code="uri_too_long")
        return await handler(request)
    except ApiError as exc:
        # HTTPException carries its own text/plain Content-Type, which the rendered error replaces.
        headers = {k: v for k, v in exc.headers.items() if k.lower() != "content-type"}
        if wants_json(request):
            return json_error(exc.status, exc.code, exc.message, field=exc.field, headers=headers)
        return await html_error(request, exc.status, exc.message, headers=headers)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.empty_body:
            raise
        headers = {
            k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after", "www-authenticate")
        }
        if wants_json(request):
            return json_error(
                exc.status, REASONS.get(exc.status, "error"), _message_for(exc), headers=headers
            )
        return await html_error(request, exc.status, _message_for(exc), headers=headers)
    except (ConnectionResetError, web.HTTPClientError):
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = N_("Something went wrong on our side. Please try again.")
        if wants_json(request):
            return json_error(500, "internal_error", message)
        return await html_error(request, 500, message)
