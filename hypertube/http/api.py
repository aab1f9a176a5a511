"""The public JSON API under /api/v1 with its OAuth2 token endpoint and OpenAPI spec."""

from aiohttp import web


def setup(app: web.Application) -> None:
    """Adds /api/v1 routes, the OpenAPI document and Swagger UI."""
