"""Library pages: search and browse films, the film page and its comments."""

import aiohttp_jinja2
from aiohttp import web

from hypertube.http.auth import login_required


@login_required
@aiohttp_jinja2.template("library.html")
async def library(request: web.Request) -> dict:
    return {}


def setup(app: web.Application) -> None:
    app.router.add_get("/", library, name="library")
