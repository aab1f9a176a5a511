"""The API's operations: users, films and comments, each declared once with its schemas."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import asyncpg
import bcrypt

from hypertube.accounts import profile_rules
from hypertube.catalog import comments
from hypertube.events import EVENTS
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
from hypertube.http.api.schema import ID, nullable, obj, string
from hypertube.http.errors import ApiError
from hypertube.keys import POOL

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
# A letter and a digit, symbol or space, anywhere; the length is checked by min/maxLength.
_SYMBOL = "[ -@\\[-`{-~]"
PASSWORD_PATTERN = f"^[^\\x00]*([A-Za-z][^\\x00]*{_SYMBOL}|{_SYMBOL}[^\\x00]*[A-Za-z])[^\\x00]*$"


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
    row = await call.app[POOL].fetchrow(
        """SELECT id, username::text, email::text, first_name, last_name, picture
           FROM users WHERE id = $1""",
        user_id,
    )
    if row is None:
        raise ApiError(404, "No such user.", code="not_found")
    picture = row["picture"]
    if not picture:
        picture_url = "/static/img/avatar.svg"
    elif picture.startswith("https://"):
        picture_url = picture
    else:
        picture_url = f"/media/avatars/{picture}"
    user = {
        "id": row["id"],
        "username": row["username"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "picture_url": picture_url,
    }
    if row["id"] == call.user_id:
        user["email"] = row["email"]
    return user


async def get_user(call: Call) -> Reply:
    return Reply(await _user(call, call.path["id"]))


async def patch_user(call: Call) -> Reply:
    user_id = call.path["id"]
    if user_id != call.user_id:
        if await call.app[POOL].fetchval("SELECT 1 FROM users WHERE id = $1", user_id) is None:
            raise ApiError(404, "No such user.", code="not_found")
        raise ApiError(403, "You can only change your own account.", code="forbidden")
    body = call.body
    changes: dict[str, Any] = {}
    try:
        if "username" in body:
            changes["username"] = profile_rules.check_username(body["username"])
        if "email" in body:
            changes["email"] = profile_rules.check_email(body["email"])
        if "picture_url" in body:
            changes["picture"] = profile_rules.check_picture_url(body["picture_url"])
        if "password" in body:
            current = await call.app[POOL].fetchrow(
                "SELECT username::text, email::text FROM users WHERE id = $1", user_id
            )
            password = profile_rules.check_password(
                body["password"],
                username=changes.get("username", current["username"] if current else ""),
                email=changes.get("email", current["email"] if current else ""),
            )
            # bcrypt reads at most 72 bytes; longer passwords are cut there, as bcrypt always did.
            secret = password.encode()[:72]
            hashed = await asyncio.to_thread(bcrypt.hashpw, secret, bcrypt.gensalt())
            changes["password_hash"] = hashed.decode()
    except profile_rules.RuleError as exc:
        raise ApiError(422, exc.message, code="validation_error", field=exc.field) from None
    columns = list(changes)
    assignments = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(columns))
    if "email" in changes:
        assignments += ", email_verified = false"
    try:
        await call.app[POOL].execute(
            f"UPDATE users SET {assignments}, updated_at = now() WHERE id = $1",
            user_id,
            *(changes[c] for c in columns),
        )
    except asyncpg.UniqueViolationError as exc:
        taken = "email" if "email" in (exc.constraint_name or "") else "username"
        raise ApiError(
            409, f"This {taken.replace('_', ' ')} is already taken.", code="conflict", field=taken
        ) from None
    return Reply(await _user(call, user_id))


# ---- movies ---------------------------------------------------------------------------------------

SORTS = {
    "name": "lower(title)",
    "year": "year",
    "rating": "rating",
    "popularity": "popularity",
}


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def list_movies(call: Call) -> Reply:
    q = call.query
    offset = parse_cursor(q) or 0
    sort = q.get("sort", "popularity")
    order = q.get("order") or ("asc" if sort == "name" else "desc")
    direction = "ASC" if order == "asc" else "DESC"
    limit = q["limit"]
    rows = await call.app[POOL].fetch(
        f"""SELECT id, title, year, rating::float8 AS rating FROM movies
            WHERE ($1::text IS NULL OR lower(title) LIKE $1)
              AND ($2::text IS NULL OR $2 = ANY (genres))
              AND ($3::int IS NULL OR year >= $3)
              AND ($4::int IS NULL OR year <= $4)
              AND ($5::float8 IS NULL OR rating >= $5)
            ORDER BY {SORTS[sort]} {direction} NULLS LAST, id {direction}
            LIMIT $6 OFFSET $7""",
        _like(q["q"]) if q.get("q") else None,
        q.get("genre"),
        q.get("year_min"),
        q.get("year_max"),
        q.get("rating_min"),
        limit + 1,
        offset,
    )
    items = [
        {"id": r["id"], "name": r["title"], "year": r["year"], "rating": r["rating"]} for r in rows[:limit]
    ]
    return Reply(_page(items, offset + limit if len(rows) > limit else None))


async def subtitle_languages(app, movie_id: int) -> list[str]:
    """Languages with subtitles, from the media area when it provides them."""
    try:
        module = importlib.import_module("hypertube.media.subtitles")
    except ImportError:
        return []
    finder = getattr(module, "available_subtitles", None)
    if finder is None:
        return []
    found = await finder(app, movie_id)
    languages = []
    for item in found or []:
        lang = item if isinstance(item, str) else (item.get("language") or item.get("lang"))
        if isinstance(lang, str) and lang not in languages:
            languages.append(lang)
    return languages


async def get_movie(call: Call) -> Reply:
    movie_id = call.path["id"]
    row = await call.app[POOL].fetchrow(
        """SELECT id, title, year, rating::float8 AS rating, runtime, genres,
                  (SELECT count(*) FROM comments WHERE movie_id = m.id) AS comments_count
           FROM movies m WHERE id = $1""",
        movie_id,
    )
    if row is None:
        raise ApiError(404, "No such film.", code="not_found")
    return Reply(
        {
            "id": row["id"],
            "name": row["title"],
            "year": row["year"],
            "rating": row["rating"],
            "length": row["runtime"],
            "genres": list(row["genres"]),
            "subtitles": await subtitle_languages(call.app, movie_id),
            "comments_count": row["comments_count"],
        }
    )


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
    try:
        await comments.delete_comment(
            call.app[POOL], call.app[EVENTS], user_id=call.user_id, comment_id=call.path["id"]
        )
    except comments.NotFound:
        raise ApiError(404, "No such comment.", code="not_found") from None
    except comments.Forbidden:
        raise ApiError(403, "You can only delete your own comments.", code="forbidden") from None
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
                    8,
                    128,
                    pattern=PASSWORD_PATTERN,
                    description="At least one letter and one digit or symbol; not a common password.",
                ),
                picture_url=nullable(string(9, 2000, format="uri", pattern="^https://")),
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
            cursor_param("Opaque cursor from `next_cursor`."),
            Param("q", string(1, 200), "Words in the title."),
            Param("genre", string(1, 60), "Only films of this genre."),
            Param("year_min", {"type": "integer", "minimum": 1870, "maximum": 2100}),
            Param("year_max", {"type": "integer", "minimum": 1870, "maximum": 2100}),
            Param("rating_min", {"type": "number", "minimum": 0, "maximum": 10}),
            Param(
                "sort",
                {"type": "string", "enum": list(SORTS), "default": "popularity"},
                "Sort key (default popularity).",
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
