"""Every typed application key: the shared resources opened in `lifecycle` and per-request values."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import aiohttp
import asyncpg
from aiohttp import web

from hypertube.accounts.models import User
from hypertube.cache import Cache
from hypertube.cluster.placement import FilmPlacement
from hypertube.cluster.registry import NodeRegistry
from hypertube.events import EventBus
from hypertube.netfetch import FetchPolicy
from hypertube.settings import Settings

if TYPE_CHECKING:
    import socketio

    from hypertube.accounts.mail import MailSender
    from hypertube.catalog.service import Catalog
    from hypertube.http.api.policy import Limits
    from hypertube.media.premake import RenditionMaker
    from hypertube.media.renditions import RenditionSegments
    from hypertube.media.service import MediaService
    from hypertube.torrent.demo import DemoSwarm
    from hypertube.torrent.engine import Engine
    from hypertube.ws.protocol import LiveHub

# The value types of the keys below whose modules import this one are named only for the type checker,
# so that every module can import its keys from here.

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
HTTP = web.AppKey("http_client", aiohttp.ClientSession)
CACHE = web.AppKey("cache", Cache)
NODES = web.AppKey("nodes", NodeRegistry)
PLACEMENT = web.AppKey("film_placement", FilmPlacement)
# Rate-limit counters, apart from the response cache so that no amount of cached answers evicts them.
RATE_LIMITS = web.AppKey("rate_limits", Cache)
EVENTS = web.AppKey("events", EventBus)

MAIL_SENDER: web.AppKey[MailSender] = web.AppKey("mail_sender")
PICTURE_IMPORTS: web.AppKey[set[asyncio.Task]] = web.AppKey("picture_imports")
CATALOG: web.AppKey[Catalog] = web.AppKey("catalog")
TORRENTS: web.AppKey[Engine] = web.AppKey("torrents")
DEMO: web.AppKey[DemoSwarm] = web.AppKey("torrent_demo")
MEDIA: web.AppKey[MediaService] = web.AppKey("media")
RENDITIONS: web.AppKey[RenditionSegments] = web.AppKey("renditions")
RENDITION_MAKER: web.AppKey[RenditionMaker] = web.AppKey("rendition_maker")
OPENSUBTITLES_FILES: web.AppKey[dict[Any, Any]] = web.AppKey("opensubtitles_files")
LIVE: web.AppKey[LiveHub] = web.AppKey("live")
SIO: web.AppKey[socketio.AsyncServer] = web.AppKey("socketio")
HEALTH_CHECKS: web.AppKey[dict[Any, Any]] = web.AppKey("health_checks")
API_LIMITS: web.AppKey[Limits] = web.AppKey("api_limits")
API_SPEC = web.AppKey("api_spec", bytes)
PICTURE_FETCH = web.AppKey("api_picture_fetch", FetchPolicy)

# Per-request values set by middlewares.
USER: web.RequestKey[User | None] = web.RequestKey("user")
CSRF_TOKEN = web.RequestKey("csrf_token", str)
CSRF_NEW = web.RequestKey("csrf_new", bool)
