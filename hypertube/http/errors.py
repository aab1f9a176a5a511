"""One error shape: `ApiError` and the JSON envelope `{"error": {"code", "message"}}` used under /api and /stream."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

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
