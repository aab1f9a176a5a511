"""`create_app(settings)`: the aiohttp application with every resource opened in a cleanup context."""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web

from hypertube import ws
from hypertube.cache import make_cache
from hypertube.cluster import ensure_node_identity
from hypertube.db import apply_migrations, connect_pool, database_url
from hypertube.events import EVENTS, EventBus
from hypertube.http import accounts, api, hls, library, node, pages, session_pages, stream
from hypertube.http.auth import auth_middleware
from hypertube.http.errors import MAX_REQUEST_LINE, error_middleware
from hypertube.http.security import csrf_middleware, security_headers
from hypertube.keys import CACHE, HTTP, POOL, SETTINGS
from hypertube.settings import Settings, ensure_secret_key

log = logging.getLogger(__name__)
MAX_BODY = 6 * 1024 * 1024  # a 5 MB profile picture plus the form around it


async def database(app: web.Application):
    settings = app[SETTINGS]
    async with database_url(settings.database_url, settings.data_dir) as url:
        pool = await connect_pool(url)
        async with pool.acquire() as conn:
            await apply_migrations(conn)
        app[POOL] = pool
        yield
        await pool.close()


async def http_client(app: web.Application):
    timeout = aiohttp.ClientTimeout(total=15, connect=5)
    async with aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": "Hypertube/0.1"}) as session:
        app[HTTP] = session
        yield


async def cache(app: web.Application):
    app[CACHE] = make_cache(app[SETTINGS].redis_url, app[SETTINGS].redis_prefix)
    yield
    await app[CACHE].close()


def create_app(settings: Settings) -> web.Application:
    settings = ensure_node_identity(ensure_secret_key(settings))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = web.Application(
        middlewares=[error_middleware, auth_middleware, csrf_middleware],
        client_max_size=MAX_BODY,
        # Long addresses reach the app, which answers them with a message in the right format.
        handler_args={"max_line_size": MAX_REQUEST_LINE, "max_field_size": 16 * 1024},
    )
    app[SETTINGS] = settings
    app[EVENTS] = EventBus()
    app.cleanup_ctx.extend([database, http_client, cache])
    app.on_response_prepare.append(security_headers)
    node.setup(app)
    pages.setup(app)
    accounts.setup(app)
    session_pages.setup(app)
    library.setup(app)
    stream.setup(app)
    hls.setup(app)
    api.setup(app)
    ws.setup(app)
    return app
