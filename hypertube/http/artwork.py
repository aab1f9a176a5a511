"""`GET /images/{kind}/{signature}/{width}.webp`: covers and backdrops served from our own origin."""

from __future__ import annotations

from aiohttp import web

from hypertube.catalog.artwork import ArtworkRefused
from hypertube.http.errors import ApiError
from hypertube.i18n import N_
from hypertube.keys import CATALOG

# The address names the picture (signed) and its width: what it serves never changes.
IMMUTABLE = "public, max-age=31536000, immutable"


async def artwork(request: web.Request) -> web.StreamResponse:
    width = int(request.match_info["width"])
    try:
        path = await request.app[CATALOG].artwork.path(
            request.match_info["kind"], request.match_info["signature"], width, request.query.get("src", "")
        )
    except ArtworkRefused:
        raise ApiError(404, N_("This page does not exist."), headers={"Cache-Control": "no-store"}) from None
    return web.FileResponse(path, headers={"Cache-Control": IMMUTABLE, "Content-Type": "image/webp"})


def setup(app: web.Application) -> None:
    app.router.add_get(
        r"/images/{kind:cover|backdrop}/{signature:[0-9a-f]{32}}/{width:[0-9]{1,4}}.webp",
        artwork,
        name="artwork",
    )
