"""API operations on comments: the latest ones, one by id, and writing, editing or deleting your own
(through hypertube.catalog.comments, which also announces them live)."""

from __future__ import annotations

from typing import Any

from hypertube.catalog import comments
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
from hypertube.http.api.links import CREATED_ID, link
from hypertube.http.api.movies import movie_key
from hypertube.http.api.paging import id_page
from hypertube.http.api.schema import ID, obj, string
from hypertube.http.errors import ApiError
from hypertube.http.ratelimit import enforce_comment_pace
from hypertube.keys import CACHE, EVENTS, POOL

SCHEMAS: dict[str, dict[str, Any]] = {
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
# At least one character that is neither blank nor removed (comments.HIDDEN): a comment of only spaces,
# controls or bidi overrides is refused.
NOT_BLANK = (
    "[^\\s\\x00-\\x08\\x0b-\\x1f\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202a-\\u202f\\u205f"
    "\\u2066-\\u2069\\u3000\\ufeff]"
)
COMMENT_TEXT = string(
    1, comments.MAX_LENGTH, pattern=NOT_BLANK, description="Text of the comment (1–2000 characters)."
)


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
    return Reply(id_page(items, len(rows) > limit))


async def get_comment(call: Call) -> Reply:
    try:
        return Reply(_comment(await comments.get_comment(call.app[POOL], call.path["id"])))
    except comments.NotFound:
        raise ApiError(404, "No such comment.", code="not_found") from None


async def _create(call: Call, movie_id: int, *, movie_field: str | None) -> Reply:
    await enforce_comment_pace(call.request, call.user_id)
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
    await call.app[CACHE].delete(movie_key(movie_id))  # its comment count changed
    return Reply(_comment(c), status=201, headers={"Location": f"{API_PREFIX}/comments/{c['id']}"})


async def post_comment(call: Call) -> Reply:
    return await _create(call, call.body["movie_id"], movie_field="movie_id")


async def post_movie_comment(call: Call) -> Reply:
    return await _create(call, call.path["movie_id"], movie_field=None)


async def patch_comment(call: Call) -> Reply:
    await enforce_comment_pace(call.request, call.user_id)
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
    await call.app[CACHE].delete(movie_key(movie_id))  # its comment count changed
    return Reply(status=204)


P = API_PREFIX
COMMENT_LINKS = {
    201: {
        "GetCreatedComment": link("getComment", id=CREATED_ID),
        "UpdateCreatedComment": link("updateComment", id=CREATED_ID),
        "DeleteCreatedComment": link("deleteComment", id=CREATED_ID),
    }
}
LOCATION = {201: {"Location": {"description": "URL of the new comment.", "schema": {"type": "string"}}}}

OPERATIONS: list[Operation] = [
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
