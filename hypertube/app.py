"""`create_app(settings)`: the aiohttp application, its middlewares, routes and resources."""

from __future__ import annotations

from aiohttp import web

from hypertube import lifecycle, ws
from hypertube.http import accounts, api, hls, library, pages, session_pages, stream
from hypertube.http.auth import auth_middleware
from hypertube.http.error_handler import MAX_REQUEST_LINE, error_middleware
from hypertube.http.security import csrf_middleware, security_headers
from hypertube.keys import SETTINGS
from hypertube.settings import Settings, ensure_secret_key

MAX_BODY = 6 * 1024 * 1024  # a 5 MB profile picture plus the form around it


def create_app(settings: Settings) -> web.Application:
    settings = ensure_secret_key(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = web.Application(
        middlewares=[error_middleware, auth_middleware, csrf_middleware],
        client_max_size=MAX_BODY,
        # Long addresses reach the app, which answers them with a message in the right format.
        handler_args={"max_line_size": MAX_REQUEST_LINE, "max_field_size": 16 * 1024},
    )
    app[SETTINGS] = settings
    lifecycle.setup(app)
    app.on_response_prepare.append(security_headers)
    pages.setup(app)
    accounts.setup(app)
    session_pages.setup(app)
    library.setup(app)
    stream.setup(app)
    hls.setup(app)
    api.setup(app)
    ws.setup(app)
    return app
