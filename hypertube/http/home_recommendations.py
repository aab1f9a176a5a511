"""The recommendation rows shown above the library when browsing without a search or filters."""

from __future__ import annotations

from aiohttp import web

from hypertube.catalog.recommendations import Row, recommendation_rows
from hypertube.catalog.search import LibraryQuery
from hypertube.http.auth import require_user
from hypertube.keys import POOL


async def home_recommendations(request: web.Request, query: LibraryQuery) -> list[Row]:
    f = query.filters
    if query.q or f.genre or f.year_min is not None or f.year_max is not None or f.rating_min is not None:
        return []
    return await recommendation_rows(request.app[POOL], require_user(request).id)
