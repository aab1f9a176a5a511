"""Typed application keys for every shared resource; opened and closed in cleanup contexts."""

from __future__ import annotations

import aiohttp
import asyncpg
from aiohttp import web

from hypertube.accounts.models import User
from hypertube.cache import Cache
from hypertube.cluster.registry import NodeRegistry
from hypertube.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
HTTP = web.AppKey("http_client", aiohttp.ClientSession)
# The cache, torrent engine, Socket.IO server and so on register their own keys in their modules;
# these are the ones every part needs.
CACHE = web.AppKey("cache", Cache)
NODES = web.AppKey("nodes", NodeRegistry)

# Per-request values set by middlewares.
USER: web.RequestKey[User | None] = web.RequestKey("user")
CSRF_TOKEN = web.RequestKey("csrf_token", str)
CSRF_NEW = web.RequestKey("csrf_new", bool)
