"""The public JSON API under /api/v1 with its OAuth2 token endpoint, OpenAPI document and Swagger UI."""

from __future__ import annotations

import orjson
from aiohttp import web

from hypertube.http.api import pages
from hypertube.http.api.core import API_PREFIX, endpoint
from hypertube.http.api.endpoints import OPERATIONS
from hypertube.http.api.oauth import token
from hypertube.http.api.openapi import TOKEN_PATH, build_spec
from hypertube.http.api.pictures import picture_policy
from hypertube.http.api.policy import Limits
from hypertube.http.errors import ApiError
from hypertube.http.routing import id_route
from hypertube.keys import API_LIMITS, API_SPEC, CSRF_NEW, PICTURE_FETCH, SETTINGS

SPEC_PATH = f"{API_PREFIX}/openapi.json"
CORS_EXPOSE = "Location, Retry-After, WWW-Authenticate"
CORS_MAX_AGE = "600"


def openapi_document() -> dict:
    spec = build_spec(OPERATIONS)
    spec["paths"][SPEC_PATH] = {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This document",
            "tags": ["oauth"],
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI 3.1 document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    return spec


async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=request.app[API_SPEC], content_type="application/json")


def _allowed_origin(request: web.Request) -> str | None:
    origin = request.headers.get("Origin")
    allowed = request.app[SETTINGS].cors_origins
    if not origin or not allowed:
        return None
    if origin in allowed:
        return origin
    return "*" if "*" in allowed else None


@web.middleware
async def api_middleware(request: web.Request, handler):
    """Answers CORS preflight requests for /api/v1 (the router has no OPTIONS routes) and keeps API
    responses free of cookies: the page shell's context may have minted a CSRF cookie for this request."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    request[CSRF_NEW] = False
    try:
        return await _api(request, handler)
    finally:
        request[CSRF_NEW] = False


async def _api(request: web.Request, handler):
    if (
        request.method == "OPTIONS"
        and request.path.startswith(API_PREFIX + "/")
        and "Access-Control-Request-Method" in request.headers
    ):
        exc = request.match_info.http_exception
        if isinstance(exc, web.HTTPMethodNotAllowed):
            methods = sorted(exc.allowed_methods)
        else:
            raise ApiError(404, "No such resource.", code="not_found")
        origin = _allowed_origin(request)
        if origin is None:
            raise ApiError(403, "This origin may not call the API from a browser.", code="cors_refused")
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": ", ".join(methods),
                "Access-Control-Allow-Headers": "Authorization, Content-Type, Accept",
                "Access-Control-Max-Age": CORS_MAX_AGE,
                "Vary": "Origin",
            },
        )
    return await handler(request)


async def cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    if not request.path.startswith(API_PREFIX + "/") or request.method == "OPTIONS":
        return
    origin = _allowed_origin(request)
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE
        response.headers.add("Vary", "Origin")


def setup(app: web.Application) -> None:
    """Adds /api/v1 routes from the operation table, the OpenAPI document and Swagger UI."""
    app[API_LIMITS] = Limits()
    app[PICTURE_FETCH] = picture_policy(app[SETTINGS])
    app[API_SPEC] = orjson.dumps(openapi_document())
    app.router.add_route("POST", TOKEN_PATH, token)
    app.router.add_route("GET", SPEC_PATH, openapi_json)
    for op in OPERATIONS:
        app.router.add_route(op.method, id_route(op.path, *op.path_params), endpoint(op))
    app.middlewares.append(api_middleware)
    app.on_response_prepare.append(cors_headers)
    pages.setup(app)
