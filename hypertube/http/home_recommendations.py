"""The recommendation rows shown on the library home (browsing everything, no search or filters)."""

from __future__ import annotations

from aiohttp import web

from hypertube.catalog.recommendations import Row, recommendation_rows
from hypertube.catalog.search import LibraryQuery
from hypertube.http.auth import require_user
from hypertube.keys import POOL


async def home_recommendations(request: web.Request, query: LibraryQuery) -> list[Row]:
    if not query.is_home:
        return []
    return await recommendation_rows(request.app[POOL], require_user(request).id)
