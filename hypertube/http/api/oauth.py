"""`POST /api/v1/oauth/token`: the OAuth2 client-credentials grant (RFC 6749 §4.4).

Client authentication by HTTP Basic or by `client_id`/`client_secret` in the form body (§2.3.1), never
both; errors in the RFC's own shape (§5.2), not the API's envelope."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

import orjson
from aiohttp import web

from hypertube.accounts.api_clients import authenticate_client, issue_token
from hypertube.http.errors import ApiError
from hypertube.http.ratelimit import client_ip, enforce
from hypertube.keys import POOL, SETTINGS

MAX_FORM = 8 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
TOKEN_LIMIT = (30, 60.0)  # token requests per IP per minute


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}


def _reply(status: int, payload: dict, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps(payload),
        content_type="application/json",
        headers={**NO_STORE, **(headers or {})},
    )


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError(
            401, "invalid_client", "Use HTTP Basic or form fields for client authentication.", _basic()
        )
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError(401, "invalid_client", "Malformed Basic credentials.", _basic()) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError(401, "invalid_client", "Malformed Basic credentials.", _basic())
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


def _basic() -> dict[str, str]:
    return {"WWW-Authenticate": 'Basic realm="api", charset="UTF-8"'}


async def _read_form(request: web.Request) -> dict[str, str]:
    if request.content_type != "application/x-www-form-urlencoded":
        raise OAuthError(400, "invalid_request", "Send the parameters as application/x-www-form-urlencoded.")
    if request.content_length is not None and request.content_length > MAX_FORM:
        raise OAuthError(413, "invalid_request", "The request body is too large.")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(4096):
        size += len(chunk)
        if size > MAX_FORM:
            raise OAuthError(413, "invalid_request", "The request body is too large.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError(400, "invalid_request", "The form body is malformed.") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise OAuthError(400, "invalid_request", f"The parameter {key} is repeated.")
        if "\x00" in value:
            raise OAuthError(400, "invalid_request", f"The parameter {key} is malformed.")
        form[key] = value
    return form


async def token(request: web.Request) -> web.Response:
    try:
        try:
            await enforce(
                request, "api-token:" + client_ip(request), limit=TOKEN_LIMIT[0], window=TOKEN_LIMIT[1]
            )
        except ApiError as exc:
            raise OAuthError(
                429,
                "slow_down",
                "Too many token requests. Wait and try again.",
                {"Retry-After": exc.headers.get("Retry-After", "60")},
            ) from None
        return await _grant(request)
    except OAuthError as exc:
        return _reply(exc.status, {"error": exc.error, "error_description": exc.description}, exc.headers)


async def _grant(request: web.Request) -> web.Response:
    form = await _read_form(request)
    header = request.headers.get("Authorization")
    if header:
        client_id, secret = _basic_credentials(header)
        if "client_secret" in form or form.get("client_id", client_id) != client_id:
            raise OAuthError(400, "invalid_request", "Use only one way of client authentication.")
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not client_id or not secret:
            raise OAuthError(401, "invalid_client", "Client authentication is required.", _basic())
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError(400, "invalid_request", "grant_type is required.")
    if grant_type != "client_credentials":
        raise OAuthError(400, "unsupported_grant_type", "Only the client_credentials grant is supported.")
    scope = form.get("scope", "").split()
    if any(s != "api" for s in scope):
        raise OAuthError(400, "invalid_scope", "The only scope is `api`.")
    client = await authenticate_client(request.app[POOL], client_id, secret)
    if client is None:
        raise OAuthError(401, "invalid_client", "Unknown client or wrong secret.", _basic())
    ttl = request.app[SETTINGS].access_token_ttl
    access = issue_token(request.app[SETTINGS].secret_key, client, ttl)
    return _reply(200, {"access_token": access, "token_type": "Bearer", "expires_in": ttl, "scope": "api"})
