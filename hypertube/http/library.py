"""Library pages: search and browse films (infinite scroll), the film page and its comments."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from hypertube.catalog import comments, watch
from hypertube.catalog.genres import genre_choices, genre_label
from hypertube.catalog.search import (
    NATURAL_ORDER,
    BadCursor,
    LibraryQuery,
    decode_cursor,
    initial,
    parse_query,
)
from hypertube.catalog.service import LibraryResult
from hypertube.catalog.store import alias_of
from hypertube.http import artwork
from hypertube.http.auth import login_required, require_user
from hypertube.http.errors import ApiError
from hypertube.http.home_recommendations import home_recommendations
from hypertube.http.library_home import home_sections, marked
from hypertube.http.ratelimit import COMMENTS_TOO_FAST, enforce_comment_pace
from hypertube.http.routing import id_route, path_id
from hypertube.i18n import N_, current_language
from hypertube.i18n import gettext as _
from hypertube.keys import CACHE, CATALOG, EVENTS, POOL

SORT_LABELS = {
    "relevance": N_("Best match"),
    "popularity": N_("Popularity"),
    "name": N_("Name"),
    "year": N_("Year"),
    "rating": N_("Rating"),
}
# Each sort's two directions, (ascending, descending), as people say them.
ORDER_LABELS = {
    "name": (N_("A to Z"), N_("Z to A")),
    "year": (N_("Oldest first"), N_("Newest first")),
    "rating": (N_("Lowest rated first"), N_("Highest rated first")),
    "popularity": (N_("Least popular first"), N_("Most popular first")),
    "relevance": (N_("Weakest match first"), N_("Best match first")),
}


CARDS_TTL = 20


async def _cards(request: web.Request, query: LibraryQuery, result: LibraryResult, after: str) -> str:
    """The result cards as HTML, rendered once per page of results and language (cached briefly), then
    marked for what this user watched."""
    movies = result.page.movies
    catalog = request.app[CATALOG]
    key = f"cards:{current_language()}:{catalog.generation}:{query.cache_key()}:{after}"
    cache = request.app[CACHE]
    html = await cache.get(key)
    if not isinstance(html, str):
        context = {"movies": movies, "artwork": catalog.artwork}
        html = aiohttp_jinja2.render_string("library/_cards.html", request, context)
        await cache.set(key, html, CARDS_TTL)
    return await marked(request, html)


def _sort_options(query: LibraryQuery) -> dict[str, Any]:
    """The sort and order menus. The default sort and each sort's natural order are the empty value, so
    a form sent without scripts never carries the order meant for another sort."""
    f = query.filters
    sorts = [("", _(SORT_LABELS[query.default_sort]))] + [
        (key, _(label)) for key, label in SORT_LABELS.items() if key not in ("relevance", query.default_sort)
    ]
    natural = NATURAL_ORDER[f.sort]
    other = "asc" if natural == "desc" else "desc"
    labels = dict(zip(("asc", "desc"), (_(label) for label in ORDER_LABELS[f.sort]), strict=True))
    return {
        "sort_options": sorts,
        "sort_value": "" if f.sort == query.default_sort else f.sort,
        "order_options": [("", labels[natural]), (other, labels[other])],
        "order_value": "" if f.order == natural else f.order,
        # For the script: each sort's labels and natural direction, and what the empty sort means.
        "order_labels": {
            key: {"natural": NATURAL_ORDER[key], "asc": _(a), "desc": _(d)}
            for key, (a, d) in ORDER_LABELS.items()
        },
        "default_sort_labels": {
            "search": _(SORT_LABELS["relevance"]),
            "browse": _(SORT_LABELS["popularity"]),
        },
    }


def _next_url(query: LibraryQuery, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    from urllib.parse import urlencode

    return "/library/page?" + urlencode({**query.params(), "after": cursor})


async def _results(request: web.Request, query: LibraryQuery) -> tuple[LibraryResult, str]:
    after = None
    raw_after = request.query.get("after", "")
    if raw_after:
        try:
            after = decode_cursor(raw_after, query.filters.sort)
        except BadCursor as exc:
            raise ApiError(400, str(exc), code="bad_cursor", field="after") from None
    result = await request.app[CATALOG].library(query, after)
    return result, await _cards(request, query, result, raw_after)


@login_required
async def library(request: web.Request) -> web.StreamResponse:
    query = parse_query(request.query)
    # Read before the query: demo films stored while it runs must not leave a page with neither.
    demo_pending = request.app[CATALOG].demo_pending
    result, cards = await _results(request, query)
    context = {
        "query": query,
        "filters": query.filters,
        "movies": result.page.movies,
        "cards": Markup(cards),  # rendered by library/_cards.html, escaped there
        "next_url": _next_url(query, result.page.next_cursor),
        "unavailable": result.unavailable,
        "searching": result.searching,
        "problems": query.problems,
        "genres": genre_choices(),
        **_sort_options(query),
        "page_title": _("Search: %(q)s", q=query.q) if query.q else _("Library"),
        "demo_pending": demo_pending and not result.page.movies and not query.q,
        # The home's rows come before the first page of films only.
        "sections": []
        if request.query.get("after")
        else await home_sections(request, query, browsing=result.page.next_cursor is not None),
        "recommendations": [] if request.query.get("after") else await home_recommendations(request, query),
        "artwork": request.app[CATALOG].artwork,  # the recommendation rows' cards
        "genre_names": lambda names: ", ".join(genre_label(name) for name in names),
    }
    return aiohttp_jinja2.render_template("library.html", request, context)


@login_required
async def library_page(request: web.Request) -> web.StreamResponse:
    """The next page of results as an HTML fragment in JSON (the infinite scroll asks for it)."""
    query = parse_query(request.query)
    result, html = await _results(request, query)
    return web.json_response(
        {
            "html": html,
            "count": len(result.page.movies),
            "next": _next_url(query, result.page.next_cursor),
            "unavailable": result.unavailable,
        }
    )


async def _movie_page(
    request: web.Request, movie_id: int, *, status: int = 200, **extra: Any
) -> web.StreamResponse:
    user = require_user(request)
    catalog = request.app[CATALOG]
    movie = await catalog.movie(movie_id)
    if movie is None:
        merged = await alias_of(request.app[POOL], movie_id)
        if merged is not None and request.method == "GET":
            raise web.HTTPMovedPermanently(f"/movies/{merged}")  # stored twice once, one film now
        raise ApiError(404, N_("This film does not exist."))
    unavailable: list[str] = []
    if request.method == "GET":
        unavailable = await catalog.ensure_details(movie)
        movie = await catalog.movie(movie_id) or movie
    movie = {**movie, "genres": [genre_label(name) for name in movie.get("genres") or []]}
    pool = request.app[POOL]
    torrents = await catalog.torrents(movie_id)
    if torrents and request.method == "GET":
        # The torrent area may fetch the film's metadata and meet its peers while the page is read.
        await request.app[EVENTS].publish("movie:opened", {"movie_id": movie_id})
    context = {
        "movie": movie,
        "initial": initial(movie["title"]),
        "torrents": [{**t, "source_label": catalog.label(t["source"])} for t in torrents],
        "comments": await comments.list_comments(pool, movie_id=movie_id, limit=200),
        "comment_count": await comments.count_comments(pool, movie_id),
        "watched": bool(await watch.watched_ids(pool, user.id, [movie_id])),
        "position": await watch.last_position(pool, user.id, movie_id),
        "unavailable": unavailable,
        "artwork": catalog.artwork,
        "max_comment": comments.MAX_LENGTH,
        "comment_error": None,
        "comment_draft": "",
        "edit_errors": {},
        **extra,
    }
    return aiohttp_jinja2.render_template("movie.html", request, context, status=status)


@login_required
async def movie_page(request: web.Request) -> web.StreamResponse:
    return await _movie_page(request, path_id(request, "movie_id"))


async def _form_comment(request: web.Request) -> object:
    form = await request.post()
    return form.get("comment", "")


async def _too_fast(
    request: web.Request, movie_id: int, user_id: int, **extra: Any
) -> web.StreamResponse | None:
    """The film page again with the form's error and its draft when `user_id` comments too fast."""
    try:
        await enforce_comment_pace(request, user_id)
    except ApiError as exc:
        response = await _movie_page(request, movie_id, status=429, **extra)
        response.headers.update(exc.headers)
        return response
    return None


async def post_comment(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    movie_id = path_id(request, "movie_id")
    body = await _form_comment(request)
    draft = body if isinstance(body, str) else ""
    refused = await _too_fast(
        request, movie_id, user.id, comment_error=_(COMMENTS_TOO_FAST), comment_draft=draft
    )
    if refused is not None:
        return refused
    try:
        await comments.create_comment(
            request.app[POOL], request.app[EVENTS], user_id=user.id, movie_id=movie_id, body=body
        )
    except comments.NotFound:
        raise ApiError(404, N_("This film does not exist.")) from None
    except comments.CommentError as exc:
        draft = body if isinstance(body, str) else ""
        return await _movie_page(
            request, movie_id, status=422, comment_error=exc.localized(), comment_draft=draft
        )
    raise web.HTTPSeeOther(f"/movies/{movie_id}#comments")


async def _own_comment(request: web.Request, movie_id: int, comment_id: int, user_id: int) -> dict:
    try:
        comment = await comments.get_comment(request.app[POOL], comment_id)
    except comments.NotFound:
        raise ApiError(404, N_("This comment does not exist.")) from None
    if comment["movie_id"] != movie_id:
        raise ApiError(404, N_("This comment does not exist."))
    if comment["author_id"] != user_id:
        raise ApiError(403, N_("You can only change your own comments."))
    return comment


async def edit_comment(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    movie_id, comment_id = path_id(request, "movie_id"), path_id(request, "comment_id")
    await _own_comment(request, movie_id, comment_id, user.id)
    body = await _form_comment(request)
    refused = await _too_fast(request, movie_id, user.id, edit_errors={comment_id: _(COMMENTS_TOO_FAST)})
    if refused is not None:
        return refused
    try:
        await comments.update_comment(
            request.app[POOL], request.app[EVENTS], user_id=user.id, comment_id=comment_id, body=body
        )
    except comments.NotFound:
        raise ApiError(404, N_("This comment does not exist.")) from None
    except comments.Forbidden:
        raise ApiError(403, N_("You can only change your own comments.")) from None
    except comments.CommentError as exc:
        return await _movie_page(request, movie_id, status=422, edit_errors={comment_id: exc.localized()})
    raise web.HTTPSeeOther(f"/movies/{movie_id}#comment-{comment_id}")


async def delete_comment(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    movie_id, comment_id = path_id(request, "movie_id"), path_id(request, "comment_id")
    await _own_comment(request, movie_id, comment_id, user.id)
    try:
        await comments.delete_comment(
            request.app[POOL], request.app[EVENTS], user_id=user.id, comment_id=comment_id
        )
    except comments.NotFound:
        raise ApiError(404, N_("This comment does not exist.")) from None
    except comments.Forbidden:
        raise ApiError(403, N_("You can only change your own comments.")) from None
    raise web.HTTPSeeOther(f"/movies/{movie_id}#comments")


def setup(app: web.Application) -> None:
    artwork.setup(app)
    app.router.add_get("/", library, name="library")
    app.router.add_get("/library/page", library_page, name="library_page")
    app.router.add_get(id_route("/movies/{movie_id}", "movie_id"), movie_page, name="movie")
    app.router.add_post(id_route("/movies/{movie_id}/comments", "movie_id"), post_comment)
    app.router.add_post(
        id_route("/movies/{movie_id}/comments/{comment_id}", "movie_id", "comment_id"), edit_comment
    )
    app.router.add_post(
        id_route("/movies/{movie_id}/comments/{comment_id}/delete", "movie_id", "comment_id"), delete_comment
    )
