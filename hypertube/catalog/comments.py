"""Comments on films: the one place that reads and writes them (for the film page, the REST API and
Socket.IO alike), and announces changes on the event bus."""

from __future__ import annotations

import re
from typing import Any

import asyncpg

from hypertube.accounts.models import author_fields, iso_utc
from hypertube.catalog.interactions import record_interaction, undo_comment
from hypertube.events import EventBus, movie_room
from hypertube.i18n import N_, gettext

MAX_LENGTH = 2000


class CommentError(ValueError):
    """Bad comment input; the message is meant for the user (`str()` in English, `localized()` in the
    language of the current request)."""

    def __init__(self, message: str, **variables: object):
        super().__init__(message % variables if variables else message)
        self.message = message
        self.variables = variables

    def localized(self) -> str:
        return gettext(self.message, **self.variables)


class NotFound(LookupError):
    pass


class Forbidden(PermissionError):
    pass


_SELECT = """
    SELECT c.id, c.movie_id, c.body, c.created_at, c.updated_at,
           u.id AS author_id, u.username::text AS author, u.picture AS author_picture
    FROM comments c JOIN users u ON u.id = c.user_id
"""


def authored_post(row: Any, text_field: str) -> dict[str, Any]:
    """What comments and chat messages both show: the film, the text under `text_field`, author and time."""
    return {
        "id": row["id"],
        "movie_id": row["movie_id"],
        text_field: row["body"],
        **author_fields(row),
        "created_at": iso_utc(row["created_at"]),
    }


def _public(row: Any) -> dict[str, Any]:
    return {
        **authored_post(row, "content"),
        "updated_at": iso_utc(row["updated_at"]),
        "edited": row["updated_at"] != row["created_at"],
    }


# Control characters (line breaks and tabs kept) and the bidi embeddings, overrides and isolates that make
# a text read otherwise than it is written ("\u202egnp.exe" shows as "exe.png"); chat removes them too.
HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_body(body: object) -> str:
    """The comment as stored: line breaks as \\n, `HIDDEN` characters removed, trimmed; 1–`MAX_LENGTH`
    characters, else CommentError."""
    if not isinstance(body, str):
        raise CommentError(N_("A comment must be text."))
    text = HIDDEN.sub("", body.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise CommentError(N_("A comment cannot be empty."))
    if len(text) > MAX_LENGTH:
        raise CommentError(N_("A comment can be at most %(max)s characters long."), max=MAX_LENGTH)
    return text


async def get_comment(pool: asyncpg.Pool, comment_id: int) -> dict[str, Any]:
    row = await pool.fetchrow(_SELECT + " WHERE c.id = $1", comment_id)
    if row is None:
        raise NotFound(comment_id)
    return _public(row)


async def list_comments(
    pool: asyncpg.Pool, *, movie_id: int | None = None, limit: int = 50, before_id: int | None = None
) -> list[dict[str, Any]]:
    """Newest first; `before_id` pages backwards (keyset)."""
    rows = await pool.fetch(
        _SELECT
        + """ WHERE ($1::bigint IS NULL OR c.movie_id = $1)
              AND ($2::bigint IS NULL OR c.id < $2)
            ORDER BY c.id DESC LIMIT $3""",
        movie_id,
        before_id,
        limit,
    )
    return [_public(r) for r in rows]


async def count_comments(pool: asyncpg.Pool, movie_id: int) -> int:
    return await pool.fetchval("SELECT count(*) FROM comments WHERE movie_id = $1", movie_id)


async def create_comment(
    pool: asyncpg.Pool, events: EventBus | None, *, user_id: int, movie_id: int, body: object
) -> dict[str, Any]:
    text = clean_body(body)
    try:
        new_id = await pool.fetchval(
            "INSERT INTO comments (movie_id, user_id, body) VALUES ($1, $2, $3) RETURNING id",
            movie_id,
            user_id,
            text,
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise NotFound(movie_id) from exc
    await record_interaction(pool, user_id, movie_id, commented=True)
    comment = await get_comment(pool, new_id)
    if events:
        await events.publish("comment:new", comment, room=movie_room(movie_id))
    return comment


async def update_comment(
    pool: asyncpg.Pool, events: EventBus | None, *, user_id: int, comment_id: int, body: object
) -> dict[str, Any]:
    text = clean_body(body)
    owner = await pool.fetchval("SELECT user_id FROM comments WHERE id = $1", comment_id)
    if owner is None:
        raise NotFound(comment_id)
    if owner != user_id:
        raise Forbidden(comment_id)
    await pool.execute(
        "UPDATE comments SET body = $1, updated_at = now() WHERE id = $2 AND user_id = $3",
        text,
        comment_id,
        user_id,
    )
    comment = await get_comment(pool, comment_id)
    if events:
        await events.publish("comment:update", comment, room=movie_room(comment["movie_id"]))
    return comment


async def delete_comment(
    pool: asyncpg.Pool, events: EventBus | None, *, user_id: int, comment_id: int
) -> None:
    row = await pool.fetchrow("SELECT user_id, movie_id FROM comments WHERE id = $1", comment_id)
    if row is None:
        raise NotFound(comment_id)
    if row["user_id"] != user_id:
        raise Forbidden(comment_id)
    await pool.execute("DELETE FROM comments WHERE id = $1 AND user_id = $2", comment_id, user_id)
    await undo_comment(pool, user_id, row["movie_id"])  # its mark on the user's recommendations
    if events:
        await events.publish(
            "comment:delete",
            {"id": comment_id, "movie_id": row["movie_id"]},
            room=movie_room(row["movie_id"]),
        )
