"""This node in the cluster: its heartbeat in the node registry and the X-Hypertube-Node header."""

from __future__ import annotations

import asyncio

from aiohttp import web

from hypertube.cluster import Node, make_registry
from hypertube.cluster.registry import keep_alive
from hypertube.keys import NODES, SETTINGS

NODE_HEADER = "X-Hypertube-Node"


async def node_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers[NODE_HEADER] = request.app[SETTINGS].node_id


async def node_registry(app: web.Application):
    """Cleanup context: announces this node before it serves and withdraws it on a clean shutdown."""
    settings = app[SETTINGS]
    node = Node(settings.node_id, settings.node_url)
    registry = make_registry(settings.redis_url, f"{settings.redis_prefix}cluster:", node)
    await registry.beat()
    app[NODES] = registry
    task = asyncio.create_task(keep_alive(registry), name="node-heartbeat")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await registry.leave()
    await registry.close()


def setup(app: web.Application) -> None:
    """The response header; the registry's cleanup context is listed in `hypertube.lifecycle`."""
    app.on_response_prepare.append(node_header)
