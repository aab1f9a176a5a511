"""The API's operations: users, films and comments, each declared once with its schemas."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hypertube.accounts import avatars, sessions, users, validation
from hypertube.accounts.passwords import MAX_LENGTH as PASSWORD_MAX
from hypertube.accounts.passwords import MIN_LENGTH as PASSWORD_MIN
from hypertube.accounts.passwords import hash_password, password_problem
from hypertube.catalog import comments, search
from hypertube.catalog.records import SearchFilters
from hypertube.http.accounts import avatar_dir
from hypertube.http.api.core import (
    API_PREFIX,
    Call,
    Operation,
    Param,
    Reply,
    cursor_param,
    limit_param,
    parse_cursor,
)
from hypertube.http.api.pictures import PictureUnavailable, fetch_picture
from hypertube.http.api.schema import ID, nullable, obj, string
from hypertube.http.errors import ApiError
from hypertube.http.hls import available_subtitles, known_subtitles
from hypertube.i18n import gettext as _
from hypertube.keys import CACHE, EVENTS, MEDIA, POOL, SETTINGS

log = logging.getLogger(__name__)
USER_REF = "#/components/schemas/User"
MOVIE_REF = "#/components/schemas/Movie"
COMMENT_REF = "#/components/schemas/Comment"

SCHEMAS: dict[str, dict[str, Any]] = {
    "UserSummary": obj(["id", "username"], id=ID, username=string()),
    "User": obj(
        ["id", "username", "first_name", "last_name", "picture_url"],
        id=ID,
        username=string(),
        first_name=string(),
        last_name=string(),
        picture_url=string(description="Absolute https URL or a path on this server."),
        email={**string(format="email"), "description": "Only on your own account."},
    ),
    "MovieSummary": obj(
        ["id", "name", "year", "rating"],
        id=ID,
        name=string(),
        year={"type": ["integer", "null"]},
        rating={"type": ["number", "null"]},
    ),
    "Movie": obj(
        ["id", "name", "year", "rating", "length", "subtitles", "comments_count"],
        id=ID,
        name=string(),
        year={"type": ["integer", "null"]},
        rating={"type": ["number", "null"], "description": "0–10"},
        length={"type": ["integer", "null"], "description": "Running time in minutes."},
        genres={"type": "array", "items": string()},
        subtitles={
            "type": "array",
            "items": string(),
            "description": "Languages (ISO 639-1) with subtitles available.",
        },
        comments_count={"type": "integer", "minimum": 0},
    ),
    "Comment": obj(
        ["id", "movie_id", "author", "content", "created_at", "updated_at"],
        id=ID,
        movie_id=ID,
        author=obj(["id", "username"], id=ID, username=string()),
        content=string(1, comments.MAX_LENGTH),
        created_at={"type": "string", "format": "date-time"},
        updated_at={"type": "string", "format": "date-time"},
    ),
}
# At least one character that is not blank: a comment of only spaces is refused.
NOT_BLANK = "[^\\s\\x00\\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]"
COMMENT_TEXT = string(
    1, comments.MAX_LENGTH, pattern=NOT_BLANK, description="Text of the comment (1–2000 characters)."
)


def _page(items: list[Any], next_cursor: int | None) -> dict[str, Any]:
    return {"data": items, "next_cursor": None if next_cursor is None else str(next_cursor)}


# ---- users ----------------------------------------------------------------------------------------


async def list_users(call: Call) -> Reply:
    after = parse_cursor(call.query) or 0
    limit = call.query["limit"]
    rows = await call.app[POOL].fetch(
        "SELECT id, username::text FROM users WHERE id > $1 ORDER BY id LIMIT $2", after, limit + 1
    )
    items = [{"id": r["id"], "username": r["username"]} for r in rows[:limit]]
    return Reply(_page(items, items[-1]["id"] if len(rows) > limit else None))


async def _user(call: Call, user_id: int) -> dict[str, Any]:
    found = await users.by_id(call.app[POOL], user_id)
    if found is None:
        raise ApiError(404, "No such user.", code="not_found")
    user = {
        "id": found.id,
        "username": found.username,
        "first_name": found.first_name,
        "last_name": found.last_name,
        "picture_url": found.picture_url,
    }
    if found.id == call.user_id:
        user["email"] = found.email
    return user


async def get_user(call: Call) -> Reply:
    return Reply(await _user(call, call.path["id"]))


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, _(message), code="validation_error", field=field)


async def patch_user(call: Call) -> Reply:
    """The same rules as the profile page (hypertube.accounts.validation and passwords)."""
    user_id = call.path["id"]
    pool = call.app[POOL]
    current = await users.by_id(pool, user_id)
    if current is None:
        raise ApiError(404, "No such user.", code="not_found")
    if user_id != call.user_id:
        raise ApiError(403, "You can only change your own account.", code="forbidden")
    body = call.body
    username = body.get("username", current.username)
    email = body.get("email", current.email).strip()
    if problem := validation.username_problem(username):
        raise _invalid("username", problem)
    if problem := validation.email_problem(email):
        raise _invalid("email", problem)
    password_hash = None
    if "password" in body:
        if problem := password_problem(body["password"], username=username, email=email):
            raise _invalid("password", problem)
        password_hash = await hash_password(body["password"], call.app[SETTINGS].bcrypt_cost)
    folder = avatar_dir(call.app)
    new_picture: str | None = None
    if body.get("picture_url") is not None:
        try:
            data = await fetch_picture(call.app, body["picture_url"])
        except PictureUnavailable as exc:
            raise _invalid("picture_url", str(exc)) from None
        except avatars.PictureError as exc:
            raise _invalid("picture_url", exc.message) from None
        new_picture = await avatars.store_picture(folder, data)
    old_picture = None
    try:
        async with pool.acquire() as conn, conn.transaction():
            await users.update_profile(
                conn,
                user_id,
                email=email,
                username=username,
                first_name=current.first_name,
                last_name=current.last_name,
                language=current.language,
            )
            if "picture_url" in body:
                old_picture = await users.set_picture(conn, user_id, new_picture)
            if password_hash is not None:
                await users.set_password(conn, user_id, password_hash)
                # As on the profile page: a new password signs every browser session out.
                await sessions.revoke_all(conn, user_id, "password_change")
    except users.DuplicateField as exc:
        await avatars.delete_picture(folder, new_picture)
        raise ApiError(409, _(exc.message), code="conflict", field=exc.field) from None
    await avatars.delete_picture(folder, old_picture)
    return Reply(await _user(call, user_id))


# ---- movies ---------------------------------------------------------------------------------------

SORTS = list(search.SORTS)
MOVIE_CURSOR = Param(
    "cursor",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,800}$", "maxLength": 800},
    "Opaque cursor from `next_cursor` (only valid with the same filters and sort).",
)
# Film pages and details are kept this long, so a burst of clients costs one query per page.
MOVIE_CACHE_TTL = 5.0


async def list_movies(call: Call) -> Reply:
    """The library's own search (hypertube.catalog.search): same matching, sorting and cursors."""
    q = call.query
    text = " ".join(q.get("q", "").split())
    sort = q.get("sort") or ("name" if text else "popularity")
    if sort == "relevance" and not text:
        sort = "popularity"
    order = q.get("order") or ("asc" if sort == "name" else "desc")
    genre = " ".join(q.get("genre", "").split()) or None
    filters = SearchFilters(genre, q.get("year_min"), q.get("year_max"), q.get("rating_min"), sort, order)
    query = search.LibraryQuery(text, filters)
    limit = q["limit"]
    cursor = q.get("cursor")
    key = f"api:movies:{query.cache_key()}:{cursor}:{limit}"
    cache = call.app[CACHE]
    page = await cache.get(key)
    if page is None:
        try:
            after = search.decode_cursor(cursor, sort) if cursor else None
        except search.BadCursor:
            raise ApiError(
                400, "This cursor is not one we gave out.", code="bad_request", field="cursor"
            ) from None
        found = await search.search_page(call.app[POOL], query, after, limit)
        page = {
            "data": [
                {"id": m["id"], "name": m["title"], "year": m["year"], "rating": m["rating"]}
                for m in found.movies
            ],
            "next_cursor": found.next_cursor,
        }
        await cache.set(key, page, MOVIE_CACHE_TTL)
    return Reply(page)


SUBTITLE_LOOKUP_S = 3.0


async def subtitle_languages(app, movie_id: int) -> list[str]:
    """Languages `/stream/{id}/subtitles/{lang}.vtt` can serve.

    Finding the tracks inside a film that was never opened would start its download, which reading
    the API must not do: for such a film only OpenSubtitles' languages and the subtitle files of a
    torrent whose metadata is already known are listed."""
    media = app.get(MEDIA)
    if media is None:
        return []
    probed = media.movie_dir(movie_id) / "info.json"
    lookup = available_subtitles if await asyncio.to_thread(probed.is_file) else known_subtitles
    try:
        async with asyncio.timeout(SUBTITLE_LOOKUP_S):
            found = await lookup(app, movie_id)
    except Exception:  # subtitles are a nice-to-have in this answer, never a reason to fail it
        log.info("subtitle lookup failed for film %s", movie_id, exc_info=True)
        return []
    return [lang for lang in found if isinstance(lang, str)]


def _movie_key(movie_id: int) -> str:
    return f"api:movie:{movie_id}"


async def get_movie(call: Call) -> Reply:
    movie_id = call.path["id"]
    cache = call.app[CACHE]
    movie = await cache.get(_movie_key(movie_id))
    if movie is None:
        row = await call.app[POOL].fetchrow(
            """SELECT id, title, year, rating::float8 AS rating, runtime, genres,
                      (SELECT count(*) FROM comments WHERE movie_id = m.id) AS comments_count
               FROM movies m WHERE id = $1""",
            movie_id,
        )
        if row is None:
            raise ApiError(404, "No such film.", code="not_found")
        movie = {
            "id": row["id"],
            "name": row["title"],
            "year": row["year"],
            "rating": row["rating"],
            "length": row["runtime"],
            "genres": list(row["genres"]),
            "subtitles": await subtitle_languages(call.app, movie_id),
            "comments_count": row["comments_count"],
        }
        await cache.set(_movie_key(movie_id), movie, MOVIE_CACHE_TTL)
    return Reply(movie)


# ---- comments -------------------------------------------------------------------------------------


def _comment(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": c["id"],
        "movie_id": c["movie_id"],
        "author": {"id": c["author_id"], "username": c["author"]},
        "content": c["content"],
        "created_at": c["created_at"],
        "updated_at": c["updated_at"],
    }


async def list_latest_comments(call: Call) -> Reply:
    before = parse_cursor(call.query)
    limit = call.query["limit"]
    rows = await comments.list_comments(
        call.app[POOL], movie_id=call.query.get("movie_id"), limit=limit + 1, before_id=before
    )
    items = [_comment(c) for c in rows[:limit]]
    return Reply(_page(items, items[-1]["id"] if len(rows) > limit else None))


async def get_comment(call: Call) -> Reply:
    try:
        return Reply(_comment(await comments.get_comment(call.app[POOL], call.path["id"])))
    except comments.NotFound:
        raise ApiError(404, "No such comment.", code="not_found") from None


async def _create(call: Call, movie_id: int, *, movie_field: str | None) -> Reply:
    try:
        c = await comments.create_comment(
            call.app[POOL],
            call.app[EVENTS],
            user_id=call.user_id,
            movie_id=movie_id,
            body=call.body["comment"],
        )
    except comments.CommentError as exc:
        raise ApiError(422, str(exc), code="validation_error", field="comment") from None
    except comments.NotFound:
        raise ApiError(404, "No such film.", code="not_found", field=movie_field) from None
    await call.app[CACHE].delete(_movie_key(movie_id))  # its comment count changed
    return Reply(_comment(c), status=201, headers={"Location": f"{API_PREFIX}/comments/{c['id']}"})


async def post_comment(call: Call) -> Reply:
    return await _create(call, call.body["movie_id"], movie_field="movie_id")


async def post_movie_comment(call: Call) -> Reply:
    return await _create(call, call.path["movie_id"], movie_field=None)


async def patch_comment(call: Call) -> Reply:
    try:
        c = await comments.update_comment(
            call.app[POOL],
            call.app[EVENTS],
            user_id=call.user_id,
            comment_id=call.path["id"],
            body=call.body["comment"],
        )
    except comments.CommentError as exc:
        raise ApiError(422, str(exc), code="validation_error", field="comment") from None
    except comments.NotFound:
        raise ApiError(404, "No such comment.", code="not_found") from None
    except comments.Forbidden:
        raise ApiError(403, "You can only change your own comments.", code="forbidden") from None
    return Reply(_comment(c))


async def delete_comment(call: Call) -> Reply:
    pool = call.app[POOL]
    try:
        movie_id = (await comments.get_comment(pool, call.path["id"]))["movie_id"]
        await comments.delete_comment(
            pool, call.app[EVENTS], user_id=call.user_id, comment_id=call.path["id"]
        )
    except comments.NotFound:
        raise ApiError(404, "No such comment.", code="not_found") from None
    except comments.Forbidden:
        raise ApiError(403, "You can only delete your own comments.", code="forbidden") from None
    await call.app[CACHE].delete(_movie_key(movie_id))  # its comment count changed
    return Reply(status=204)


# ---- the table ------------------------------------------------------------------------------------

P = API_PREFIX
COMMENT_LINKS = {
    201: {
        "GetCreatedComment": {
            "operationId": "getComment",
            "parameters": {"id": "$response.body#/id"},
        },
        "UpdateCreatedComment": {
            "operationId": "updateComment",
            "parameters": {"id": "$response.body#/id"},
        },
        "DeleteCreatedComment": {
            "operationId": "deleteComment",
            "parameters": {"id": "$response.body#/id"},
        },
    }
}
LOCATION = {201: {"Location": {"description": "URL of the new comment.", "schema": {"type": "string"}}}}

OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        f"{P}/users",
        list_users,
        "listUsers",
        "List users",
        "users",
        {200: ("A page of users, oldest first.", "UserPage")},
        query=[limit_param(), cursor_param("Opaque cursor from `next_cursor`.")],
        links={
            200: {
                "GetUser": {
                    "operationId": "getUser",
                    "parameters": {"id": "$response.body#/data/0/id"},
                }
            }
        },
    ),
    Operation(
        "GET",
        f"{P}/users/{{id}}",
        get_user,
        "getUser",
        "Get a user",
        "users",
        {200: ("The user; `email` only on your own account.", "User")},
    ),
    Operation(
        "PATCH",
        f"{P}/users/{{id}}",
        patch_user,
        "updateUser",
        "Change your account",
        "users",
        {
            200: ("The updated user.", "User"),
            403: ("This is not your account.", None),
            409: ("The username or email is already taken.", None),
        },
        body={
            **obj(
                None,
                username=string(3, 30, pattern="^[A-Za-z0-9_.-]{3,30}$"),
                email=string(3, 254, format="email"),
                password=string(
                    PASSWORD_MIN,
                    PASSWORD_MAX,
                    description="Not a common password, and not containing your username or email.",
                ),
                picture_url={
                    **nullable(string(8, 2000, format="uri", pattern="^https?://")),
                    "description": "An https URL of a JPEG, PNG, WebP or GIF of at most 5 MB, fetched once and "
                    "stored here; null goes back to the default picture.",
                },
            ),
            "minProperties": 1,
        },
    ),
    Operation(
        "GET",
        f"{P}/movies",
        list_movies,
        "listMovies",
        "List films (the front page)",
        "movies",
        {200: ("A page of films.", "MoviePage")},
        query=[
            limit_param(),
            MOVIE_CURSOR,
            Param("q", string(1, 200), "Words in the title (typos tolerated, as in the library)."),
            Param("genre", string(1, 60), "Only films of this genre."),
            Param("year_min", {"type": "integer", "minimum": 1870, "maximum": 2100}),
            Param("year_max", {"type": "integer", "minimum": 1870, "maximum": 2100}),
            Param("rating_min", {"type": "number", "minimum": 0, "maximum": 10}),
            Param(
                "sort",
                {"type": "string", "enum": SORTS},
                "Default: name when searching, popularity otherwise; relevance needs `q`.",
            ),
            Param(
                "order",
                {"type": "string", "enum": ["asc", "desc"]},
                "Default: asc for name, desc otherwise.",
            ),
        ],
        links={
            200: {
                "GetMovie": {
                    "operationId": "getMovie",
                    "parameters": {"id": "$response.body#/data/0/id"},
                },
                "CommentMovie": {
                    "operationId": "createMovieComment",
                    "parameters": {"movie_id": "$response.body#/data/0/id"},
                },
            }
        },
    ),
    Operation(
        "GET",
        f"{P}/movies/{{id}}",
        get_movie,
        "getMovie",
        "Get a film",
        "movies",
        {200: ("The film.", "Movie")},
    ),
    Operation(
        "POST",
        f"{P}/movies/{{movie_id}}/comments",
        post_movie_comment,
        "createMovieComment",
        "Comment on a film",
        "comments",
        {201: ("The new comment.", "Comment")},
        body=obj(["comment"], comment=COMMENT_TEXT),
        links=COMMENT_LINKS,
        response_headers=LOCATION,
    ),
    Operation(
        "GET",
        f"{P}/comments",
        list_latest_comments,
        "listComments",
        "Latest comments",
        "comments",
        {200: ("A page of comments, newest first.", "CommentPage")},
        query=[
            limit_param(),
            cursor_param("Opaque cursor from `next_cursor`."),
            Param("movie_id", ID, "Only comments on this film."),
        ],
    ),
    Operation(
        "POST",
        f"{P}/comments",
        post_comment,
        "createComment",
        "Comment on a film",
        "comments",
        {
            201: ("The new comment.", "Comment"),
            404: ("No film has this `movie_id` (`field` says so).", None),
        },
        body=obj(["comment", "movie_id"], comment=COMMENT_TEXT, movie_id=ID),
        links=COMMENT_LINKS,
        response_headers=LOCATION,
    ),
    Operation(
        "GET",
        f"{P}/comments/{{id}}",
        get_comment,
        "getComment",
        "Get a comment",
        "comments",
        {200: ("The comment.", "Comment")},
    ),
    Operation(
        "PATCH",
        f"{P}/comments/{{id}}",
        patch_comment,
        "updateComment",
        "Edit your comment",
        "comments",
        {200: ("The updated comment.", "Comment"), 403: ("Not your comment.", None)},
        body=obj(["comment"], comment=COMMENT_TEXT),
    ),
    Operation(
        "DELETE",
        f"{P}/comments/{{id}}",
        delete_comment,
        "deleteComment",
        "Delete your comment",
        "comments",
        {204: ("Deleted.", None), 403: ("Not your comment.", None)},
    ),
]
