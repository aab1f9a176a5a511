"""The library home's rows ("Continue watching", popular films, a row per common genre) and each
user's marks on film cards (watched, progress bars)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup, escape

from hypertube.catalog import watch
from hypertube.catalog.genres import genre_label
from hypertube.catalog.home import HomeRow, home_rows
from hypertube.catalog.search import CARD_COLUMNS, LibraryQuery
from hypertube.http.auth import require_user
from hypertube.i18n import gettext as _
from hypertube.keys import CACHE, CATALOG, POOL

# The shared rows change only when films are stored; each process keeps them this long (seconds).
ROWS_TTL = 60
_CARD_ID = re.compile(r'data-movie-id="(\d+)"')


def card_ids(html: str) -> list[int]:
    """The ids of the film cards in rendered cards HTML, each once, in order."""
    return list(dict.fromkeys(int(i) for i in _CARD_ID.findall(html)))


def _progress_bar(progress: watch.Progress) -> str:
    label = _("%(percent)s%% watched", percent=progress.percent)
    return (
        f'<progress class="watch-progress" max="100" value="{progress.percent}"'
        f' aria-label="{escape(label)}" data-watch-progress></progress>'
    )


def mark_cards(html: str, progress: dict[int, watch.Progress]) -> str:
    """Cards rendered for everyone (library/_cards.html), marked for one user: finished films "Watched",
    films in progress with a bar of how much was seen."""
    for movie_id, seen in progress.items():
        head = f'<li class="movie-card" data-movie-id="{movie_id}"'
        if seen.finished:
            html = html.replace(head, f'<li class="movie-card is-watched" data-movie-id="{movie_id}"')
        elif seen.position_s > 0:
            html = html.replace(head, f'<li class="movie-card is-started" data-movie-id="{movie_id}"')
            html = html.replace(f"<!--progress:{movie_id}-->", _progress_bar(seen))
    return html


async def marked(request: web.Request, html: str) -> str:
    """`html` (cards) marked for the signed-in user."""
    ids = card_ids(html)
    if not ids:
        return html
    user = require_user(request)
    return mark_cards(html, await watch.progress_of(request.app[POOL], user.id, ids))


def _render_cards(request: web.Request, movies: list[dict[str, Any]]) -> str:
    context = {"movies": movies, "artwork": request.app[CATALOG].artwork}
    return aiohttp_jinja2.render_string("library/_cards.html", request, context)


async def _shared_rows(request: web.Request) -> list[HomeRow]:
    cache = request.app[CACHE]
    key = f"home-rows:{request.app[CATALOG].generation}"
    found = await cache.get(key)
    if isinstance(found, list):
        return [HomeRow(r["kind"], r["movies"], r["genre"]) for r in found]
    rows = await home_rows(request.app[POOL])
    await cache.set(key, [{"kind": r.kind, "movies": r.movies, "genre": r.genre} for r in rows], ROWS_TTL)
    return rows


async def home_sections(request: web.Request, query: LibraryQuery, *, browsing: bool) -> list[dict[str, Any]]:
    """The rows shown above the films on the library home (none when searching or filtering): each a
    dict with `kind` ("continue", "popular", "genre"), `title`, `link` (or None) and the cards `html`.
    The popular and genre rows only when `browsing` (more films than the first page shows: a library
    that fits on one page needs no other way through it)."""
    if not query.is_home:
        return []
    user = require_user(request)
    pool = request.app[POOL]
    sections = []
    started = await watch.continue_watching(pool, user.id, CARD_COLUMNS)
    if started:
        html = _render_cards(request, [card for card, _seen in started])
        sections.append(
            {
                "kind": "continue",
                "title": _("Continue watching"),
                "link": None,
                "html": Markup(mark_cards(html, {card["id"]: seen for card, seen in started})),
            }
        )
    for row in await _shared_rows(request) if browsing else []:
        if row.kind == "popular":
            title, link = _("Popular now"), None
        else:
            genre = row.genre or ""
            title, link = genre_label(genre), "/?" + urlencode({"genre": genre})
        html = await marked(request, _render_cards(request, row.movies))
        sections.append({"kind": row.kind, "title": title, "link": link, "html": Markup(html)})
    for n, section in enumerate(sections):
        section["anchor"] = f"home-row-{n}"
    return sections
