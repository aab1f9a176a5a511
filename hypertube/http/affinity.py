"""Film affinity: a stream request is answered by the node that holds the film.

A request for `/stream/{movie_id}` or anything under it (except the position, which any node saves)
that reaches another node is redirected (307) to the same URL with `?node=<holder>`, which the proxy
routes to that node. The holder answers, and names itself in the URLs it hands out (the play plan's,
the playlists' segments), so the player's next requests go straight to it. With one live node
nothing changes."""

from __future__ import annotations

import logging
import re

import jinja2
import orjson
from aiohttp import web
from yarl import URL

from hypertube.keys import PLACEMENT

log = logging.getLogger(__name__)

NODE_QUERY = "node"
STREAM_PATH = re.compile(r"^/stream/([0-9]{1,19})(/.*)?$")
ANY_NODE = {"/position"}  # stored in the database: no need to travel
PLAYLIST = "application/vnd.apple.mpegurl"
URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')


def pin(url: str, node_id: str) -> str:
    """`url` (absolute path or relative reference) with `node=<node_id>` in its query."""
    return str(URL(url).update_query({NODE_QUERY: node_id}))


def pin_playlist(text: str, node_id: str) -> str:
    """An M3U8 playlist whose URIs (lines and `URI="..."` attributes) all carry `node=<node_id>`."""
    lines = []
    for line in text.split("\n"):
        if line and not line.startswith("#"):
            line = pin(line.strip(), node_id)
        elif line.startswith("#") and 'URI="' in line:
            line = URI_ATTRIBUTE.sub(lambda m: f'URI="{pin(m.group(1), node_id)}"', line)
        lines.append(line)
    return "\n".join(lines)


def pin_plan(value, node_id: str):
    """Every stream URL in a play plan (any depth), pinned."""
    if isinstance(value, str):
        return pin(value, node_id) if STREAM_PATH.match(value.split("?", 1)[0]) else value
    if isinstance(value, list):
        return [pin_plan(item, node_id) for item in value]
    if isinstance(value, dict):
        return {key: pin_plan(item, node_id) for key, item in value.items()}
    return value


def _pin_response(response: web.StreamResponse, node_id: str, *, plan: bool) -> None:
    """Rewrites, in place, the URLs a play plan (`plan`) or a playlist hands out to name `node_id`."""
    if not isinstance(response, web.Response) or response.status != 200 or not response.body:
        return
    body = response.body
    if not isinstance(body, bytes):
        return
    if response.content_type == PLAYLIST:
        response.body = pin_playlist(body.decode(), node_id).encode()
    elif plan and response.content_type == "application/json":
        response.body = orjson.dumps(pin_plan(orjson.loads(body), node_id))


@web.middleware
async def film_affinity(request: web.Request, handler) -> web.StreamResponse:
    """The stream guard: serves a film's streams on its node, redirects them there from any other."""
    found = STREAM_PATH.match(request.path)
    if found is None or found.group(2) in ANY_NODE or request.method not in ("GET", "HEAD"):
        return await handler(request)
    placement = request.app[PLACEMENT]
    holder = await placement.holder(int(found.group(1)))
    me = placement.node
    if holder.id != me.id:
        if request.query.get(NODE_QUERY) != holder.id:
            location = request.rel_url.update_query({NODE_QUERY: holder.id})
            raise web.HTTPTemporaryRedirect(location, headers={"Cache-Control": "no-store"})
        # Sent here although pinned to the holder: the proxy could not reach it (or routes no pins).
        # Serving beats a redirect loop; the registry settles who holds the film within seconds.
        log.info("serving film %s pinned to %s, which the proxy did not reach", found.group(1), holder.id)
    response = await handler(request)
    if placement.shared:
        _pin_response(response, holder.id, plan=found.group(2) is None)
    return response


@jinja2.pass_context
def stream_url(context, movie_id: int) -> str:
    """The play plan's URL for a page: pinned to the film's node when there are several (saves the
    player a redirect; the guard still checks)."""
    url = f"/stream/{movie_id}"
    placement = context["app"].get(PLACEMENT)
    if placement is None or not placement.shared:
        return url
    return pin(url, placement.last_holder(movie_id).id)
