"""One error shape: JSON `{"error": {"code", "message"}}` under /api and /stream, an HTML page elsewhere."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp_jinja2
import orjson
from aiohttp import web

from hypertube.i18n import N_

log = logging.getLogger(__name__)

REASONS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}


class ApiError(web.HTTPException):
    """An HTTP error with a machine code and a human message, rendered in the client's format."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.status_code = status
        super().__init__(headers=headers, reason=None)
        # aiohttp gives every HTTPException a text/plain Content-Type; the renderers choose their own.
        self.headers.popall("Content-Type", None)
        self.code = code or REASONS.get(status, "error")
        self.message = message
        self.field = field


def wants_json(request: web.Request) -> bool:
    path = request.path
    if path.startswith(("/api/", "/stream/", "/healthz")):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def json_error(
    status: int, code: str, message: str, *, field: str | None = None, headers=None
) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if headers:  # an HTTPException's headers carry its own text/plain Content-Type
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    if field:
        body["field"] = field
    return web.Response(
        status=status,
        body=orjson.dumps({"error": body}),
        content_type="application/json",
        headers=headers,
    )


async def html_error(request: web.Request, status: int, message: str, headers=None) -> web.Response:
    from hypertube.http.pages import shell_context  # the shell context middleware may not have run yet

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
