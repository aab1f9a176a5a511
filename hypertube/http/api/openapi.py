"""Builds the OpenAPI 3.1 document from the operation table (and the token endpoint's description)."""

from __future__ import annotations

from typing import Any

from hypertube.http.api.core import API_PREFIX, ERROR_REF, JSON, Operation, error_statuses
from hypertube.http.api.endpoints import SCHEMAS
from hypertube.http.api.schema import ID, obj, page_of, string

TOKEN_PATH = f"{API_PREFIX}/oauth/token"
RATE_HEADERS = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}}
CHALLENGE = {
    "WWW-Authenticate": {
        "description": 'Bearer challenge; `error="invalid_token"` for bad or expired tokens.',
        "schema": {"type": "string"},
    }
}

ERROR_SCHEMA = obj(
    ["error"],
    error=obj(
        ["code", "message"],
        code=string(description="Machine-readable code, e.g. `not_found`, `validation_error`."),
        message=string(description="Human-readable explanation."),
        field=string(description="The body field or query parameter at fault, when there is one."),
    ),
)
OAUTH_ERROR_SCHEMA = obj(
    ["error"],
    error={
        "type": "string",
        "enum": [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "slow_down",
        ],
    },
    error_description=string(),
)
TOKEN_SCHEMA = obj(
    ["access_token", "token_type", "expires_in"],
    access_token=string(),
    token_type={"type": "string", "enum": ["Bearer"]},
    expires_in={"type": "integer", "minimum": 1},
    scope=string(),
)

DESCRIPTION = """JSON API of Hypertube.

Authenticate with the OAuth2 client-credentials grant: create a client at `/settings/api-clients`,
exchange its id and secret at `POST /api/v1/oauth/token`, and send `Authorization: Bearer <token>`.
The token acts as the user who owns the client; revoking the client invalidates its tokens.

Lists are paginated with `limit` (1–100, default 20) and an opaque `cursor`: each page has
`next_cursor`, null on the last page. Errors use one envelope:
`{"error": {"code": "...", "message": "...", "field": "..."}}` (`field` when one input is at fault);
the token endpoint answers errors as RFC 6749 §5.2 says."""


def _response(op: Operation, status: int, description: str, ref: str | None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if status == 204:
        return response
    schema = {"$ref": f"#/components/schemas/{ref}"} if ref else {"$ref": ERROR_REF}
    response["content"] = {JSON: {"schema": schema}}
    headers = dict(op.response_headers.get(status, {}))
    if status == 429:
        headers.update(RATE_HEADERS)
    if status == 401:
        headers.update(CHALLENGE)
    if headers:
        response["headers"] = headers
    if status in op.links:
        response["links"] = op.links[status]
    return response


def _operation(op: Operation) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": ID,
        }
        for name in op.path_params
    ]
    for p in op.query:
        param: dict[str, Any] = {"name": p.name, "in": "query", "required": False, "schema": p.schema}
        if p.description:
            param["description"] = p.description
        parameters.append(param)
    responses: dict[str, Any] = {}
    for status, (description, ref) in op.responses.items():
        responses[str(status)] = _response(op, status, description, ref)
    for status, description in error_statuses(op).items():
        responses.setdefault(str(status), _response(op, status, description, None))
    result: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "security": [{"oauth2": []}],
        "responses": dict(sorted(responses.items())),
    }
    if op.description:
        result["description"] = op.description
    if parameters:
        result["parameters"] = parameters
    if op.body is not None:
        result["requestBody"] = {"required": True, "content": {JSON: {"schema": op.body}}}
    return result


def token_operation() -> dict[str, Any]:
    def oauth_error(description: str, basic: bool = False) -> dict[str, Any]:
        response: dict[str, Any] = {
            "description": description,
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/OAuthError"}}},
        }
        if basic:
            response["headers"] = {
                "WWW-Authenticate": {"description": "Basic challenge.", "schema": {"type": "string"}}
            }
        return response

    return {
        "operationId": "issueToken",
        "summary": "Get an access token (OAuth2 client credentials)",
        "description": "RFC 6749 §4.4. Authenticate the client with HTTP Basic "
        "(`client_id:client_secret`, each form-urlencoded) or with `client_id` and `client_secret` "
        "in the body, not both. Responses carry `Cache-Control: no-store`.",
        "tags": ["oauth"],
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": obj(
                        ["grant_type"],
                        grant_type={"type": "string", "enum": ["client_credentials"]},
                        client_id=string(),
                        client_secret=string(),
                        scope={"type": "string", "enum": ["api", ""]},
                    )
                }
            },
        },
        "responses": {
            "200": {
                "description": "An access token.",
                "content": {JSON: {"schema": {"$ref": "#/components/schemas/Token"}}},
            },
            "400": oauth_error("invalid_request, unsupported_grant_type or invalid_scope."),
            "401": oauth_error("invalid_client: unknown client, wrong secret or none sent.", True),
            "413": oauth_error("The body is too large."),
            "429": {
                **oauth_error("Too many token requests from this address."),
                "headers": RATE_HEADERS,
            },
        },
    }


def build_spec(operations: list[Operation]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {TOKEN_PATH: {"post": token_operation()}}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    schemas: dict[str, Any] = {
        "Error": ERROR_SCHEMA,
        "OAuthError": OAUTH_ERROR_SCHEMA,
        "Token": TOKEN_SCHEMA,
        **SCHEMAS,
        "UserPage": page_of("#/components/schemas/UserSummary"),
        "MoviePage": page_of("#/components/schemas/MovieSummary"),
        "CommentPage": page_of("#/components/schemas/Comment"),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hypertube API", "version": "1.0.0", "description": DESCRIPTION},
        "tags": [
            {"name": "oauth", "description": "Access tokens."},
            {"name": "users"},
            {"name": "movies"},
            {"name": "comments"},
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "description": "Client credentials from /settings/api-clients.",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": TOKEN_PATH,
                            "scopes": {"api": "Act as the user who owns the client."},
                        }
                    },
                }
            },
        },
    }
