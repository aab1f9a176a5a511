"""This node in the cluster: its heartbeat in the node registry, the X-Hypertube-Node header and the
stream guard that keeps each film on its node (`hypertube.http.affinity`)."""

from __future__ import annotations

import asyncio

import aiohttp_jinja2
from aiohttp import web

from hypertube.cluster import Node, make_registry
from hypertube.cluster.placement import FilmPlacement
from hypertube.cluster.registry import keep_alive
from hypertube.http.affinity import film_affinity, stream_url
from hypertube.keys import NODES, PLACEMENT, SETTINGS

NODE_HEADER = "X-Hypertube-Node"


async def node_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers[NODE_HEADER] = request.app[SETTINGS].node_id


async def node_registry(app: web.Application):
    """Cleanup context: announces this node before it serves and withdraws it on a clean shutdown."""
    settings = app[SETTINGS]
    node = Node(settings.node_id, settings.node_url)
    registry = make_registry(settings.redis_url, f"{settings.redis_prefix}cluster:", node)
    await registry.beat()
    placement = FilmPlacement(registry)
    await placement.refresh()
    app[NODES] = registry
    app[PLACEMENT] = placement
    # Each beat also refreshes the list behind page links, so they follow nodes coming and going.
    task = asyncio.create_task(keep_alive(registry, after_beat=placement.refresh), name="node-heartbeat")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await registry.leave()
    await registry.close()


async def _template_helpers(app: web.Application) -> None:
    aiohttp_jinja2.get_env(app).globals["stream_url"] = stream_url


def setup(app: web.Application) -> None:
    """The response header, the stream guard (the innermost middleware, so it runs once the user is
    known and its answers get the usual error handling) and the `stream_url` template helper; the
    registry's cleanup context is listed in `hypertube.lifecycle`."""
    app.on_response_prepare.append(node_header)
    app.middlewares.append(film_affinity)
    app.on_startup.append(_template_helpers)
