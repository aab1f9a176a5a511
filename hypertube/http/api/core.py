"""One route table for the API: each operation carries its schemas, and both the aiohttp routes and the
OpenAPI document are generated from it, so the spec cannot drift from the code.

The wrapper around every handler does, in order: content negotiation (406), Bearer authentication (401),
the per-client rate limit (429), query parsing (400), body media type (415), size (413), JSON (400) and
schema (422). Handlers get a `Call` and return a `Reply`."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from hypertube.accounts.api_clients import token_owner
from hypertube.accounts.tokens import InvalidToken
from hypertube.http.api.schema import Invalid, parse_query_value, validate
from hypertube.http.errors import ApiError
from hypertube.http.ratelimit import enforce
from hypertube.http.routing import path_id
from hypertube.keys import API_LIMITS, CACHE, POOL, SETTINGS

API_PREFIX = "/api/v1"
MAX_BODY = 64 * 1024
JSON = "application/json"
ERROR_REF = "#/components/schemas/Error"


@dataclass
class Call:
    request: web.Request
    user_id: int
    client_id: str
    path: dict[str, int]
    query: dict[str, Any]
    body: dict[str, Any]

    @property
    def app(self) -> web.Application:
        return self.request.app


@dataclass
class Reply:
    payload: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass
class Param:
    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass
class Operation:
    method: str
    path: str
    handler: Handler
    operation_id: str
    summary: str
    tag: str
    responses: dict[int, tuple[str, str | None]]
    query: list[Param] = field(default_factory=list)
    body: dict[str, Any] | None = None
    description: str = ""
    links: dict[int, dict[str, Any]] = field(default_factory=dict)
    response_headers: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.path)


def error_statuses(op: Operation) -> dict[int, str]:
    """The error responses an operation can give, derived from what it takes."""
    errors = {
        401: "Missing, expired, forged or revoked token.",
        406: "The Accept header excludes application/json.",
        429: "Too many requests for this client; see Retry-After.",
    }
    if op.query:
        errors[400] = "A query parameter is malformed (`field` names it)."
        errors[414] = "The address (with its query string) is longer than 8 KiB."
    if op.path_params:
        errors[404] = "No such resource."
    if op.body is not None:
        errors[400] = "The body is not valid JSON or a parameter is malformed."
        errors[413] = "The body is larger than 64 KiB."
        errors[415] = "The body is not application/json."
        errors[422] = "The body breaks the schema or a rule (`field` names it)."
    return errors


def json_response(reply: Reply) -> web.Response:
    if reply.status == 204:
        return web.Response(status=204, headers=reply.headers)
    body = reply.raw if reply.raw is not None else orjson.dumps(reply.payload)
    return web.Response(status=reply.status, body=body, content_type=JSON, headers=reply.headers)


def accepts_json(accept: str | None) -> bool:
    if not accept:
        return True
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if q > 0 and media in ("*/*", "application/*", JSON, "application/problem+json"):
            return True
    return False


def bearer_challenge(error: str | None = None, description: str | None = None) -> dict[str, str]:
    value = 'Bearer realm="api"'
    if error:
        value += f', error="{error}"'
    if description:
        value += f', error_description="{description}"'
    return {"WWW-Authenticate": value}


async def authenticate(request: web.Request) -> tuple[int, str]:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header or scheme.lower() != "bearer":
        raise ApiError(
            401,
            "Send an access token: Authorization: Bearer <token> (get one at /api/v1/oauth/token).",
            code="unauthorized",
            headers=bearer_challenge(),
        )
    token = token.strip()
    app = request.app
    try:
        if not token or len(token) > 4096 or not token.isascii():
            raise InvalidToken("malformed")
        return await token_owner(app[POOL], app[CACHE], app[SETTINGS].secret_key, token)
    except InvalidToken:
        raise ApiError(
            401,
            "The access token is invalid, expired or revoked. Get a new one.",
            code="invalid_token",
            headers=bearer_challenge("invalid_token", "The access token is invalid, expired or revoked"),
        ) from None


async def read_json_body(request: web.Request, schema: dict[str, Any]) -> dict[str, Any]:
    if request.content_type != JSON:
        raise ApiError(415, "Send the body as application/json.", code="unsupported_media_type")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, f"The body can be at most {MAX_BODY} bytes.", code="payload_too_large")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(16384):
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, f"The body can be at most {MAX_BODY} bytes.", code="payload_too_large")
        chunks.append(chunk)
    try:
        body = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        raise ApiError(400, "The body is not valid JSON.", code="invalid_json") from None
    try:
        return validate(body, schema)
    except Invalid as exc:
        raise ApiError(422, exc.message, code="validation_error", field=exc.field) from None


def parse_path(op: Operation, request: web.Request) -> dict[str, int]:
    return {name: path_id(request, name) for name in op.path_params}


def parse_query(op: Operation, request: web.Request) -> dict[str, Any]:
    known = {p.name: p for p in op.query}
    values: dict[str, Any] = {}
    for name in request.query:
        if name not in known:
            continue  # unknown parameters are ignored, as is usual for query strings
        raw = request.query.getall(name)
        if len(raw) > 1:
            raise ApiError(400, f"Give `{name}` once.", code="bad_request", field=name)
        try:
            values[name] = parse_query_value(raw[0], known[name].schema, name)
        except Invalid as exc:
            raise ApiError(400, exc.message, code="bad_request", field=exc.field) from None
    for p in op.query:
        if name_default := p.schema.get("default"):
            values.setdefault(p.name, name_default)
    return values


def endpoint(op: Operation):
    async def handle(request: web.Request) -> web.StreamResponse:
        if not accepts_json(request.headers.get("Accept")):
            raise ApiError(406, "This API only answers application/json.", code="not_acceptable")
        user_id, client_id = await authenticate(request)
        limits = request.app[API_LIMITS]
        await enforce(
            request,
            f"api:{client_id}",
            limit=limits.requests,
            window=limits.window,
            message="This client made too many requests. Wait and try again.",
        )
        path = parse_path(op, request)
        query = parse_query(op, request)
        body = await read_json_body(request, op.body) if op.body is not None else {}
        reply = await op.handler(Call(request, user_id, client_id, path, query, body))
        return json_response(reply)

    handle.__name__ = op.operation_id
    return handle


def cursor_param(description: str) -> Param:
    return Param(
        "cursor",
        {"type": "string", "pattern": "^[0-9]{1,18}$", "maxLength": 18},
        description,
    )


def limit_param() -> Param:
    return Param(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        "Items per page (1–100, default 20).",
    )


def parse_cursor(query: dict[str, Any]) -> int | None:
    raw = query.get("cursor")
    if raw is None:
        return None
    # The schema's pattern bounds the length; its `$` would still let a trailing newline through.
    if not (raw.isascii() and raw.isdigit()):
        raise ApiError(400, "This cursor is not one we gave out.", code="bad_request", field="cursor")
    return int(raw)
