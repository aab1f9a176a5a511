"""Route parameters that are database ids: the pattern the router matches and their one conversion to int."""

from __future__ import annotations

from aiohttp import web

# ASCII digits only: `\d` also matches other scripts' digits, and `str.isdigit` accepts `²`, which `int` refuses.
ID = r"[0-9]{1,19}"
MAX_ID = 2**63 - 1  # ids are PostgreSQL bigints


def id_route(path: str, *names: str) -> str:
    """`path` with each `{name}` placeholder restricted to the id pattern, e.g. `/movies/{movie_id:[0-9]{1,19}}`."""
    for name in names:
        path = path.replace(f"{{{name}}}", f"{{{name}:{ID}}}")
    return path


def path_id(request: web.Request, name: str) -> int:
    """The id matched in the path. One past the bigint range (or 0) gets the 404 an unmatched route gets."""
    value = int(request.match_info[name])
    if not 0 < value <= MAX_ID:
        raise web.HTTPNotFound()
    return value
