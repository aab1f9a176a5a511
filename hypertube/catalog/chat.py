"""Film chat messages: cleaning, storing (only the most recent per film are kept) and reading them back;
the Socket.IO layer calls these for every chat event."""

from __future__ import annotations

import re
from typing import Any

import asyncpg

from hypertube.accounts.models import iso_utc
from hypertube.catalog.comments import authored_post
from hypertube.i18n import N_

MAX_LENGTH = 500
HISTORY = 50
# Controls, zero-width spaces, direction marks and bidi embeddings, overrides and isolates; the zero-width
# joiner and non-joiner stay (emoji sequences such as 👩‍💻 and Persian or Indic words need them).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class ChatError(ValueError):
    """Bad chat input; `code` is machine-readable and the message is meant for the user."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class MovieNotFound(LookupError):
    pass


def clean_text(text: object) -> str:
    """One line of plain text, 1–500 characters; control and bidi-override characters removed."""
    if not isinstance(text, str):
        raise ChatError("bad_payload", N_("A chat message must be text."))
    if len(text) > MAX_LENGTH * 4:
        raise ChatError("too_long", N_("A chat message can be at most 500 characters long."))
    cleaned = _CONTROL.sub("", text.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")).strip()
    if not cleaned:
        raise ChatError("empty", N_("A chat message cannot be empty."))
    if len(cleaned) > MAX_LENGTH:
        raise ChatError("too_long", N_("A chat message can be at most 500 characters long."))
    return cleaned


def _public(row: Any) -> dict[str, Any]:
    return authored_post(row, "text")


_SELECT = """
    SELECT m.id, m.movie_id, m.body, m.created_at,
           u.id AS author_id, u.username::text AS author, u.picture AS author_picture
    FROM chat_messages m JOIN users u ON u.id = m.user_id
"""


async def post_message(
    pool: asyncpg.Pool,
    *,
    movie_id: int,
    user_id: int,
    text: str,
    author: str | None = None,
    picture: str | None = None,
) -> dict[str, Any]:
    """Stores one cleaned message in a single statement; `author`/`picture` spare a read when the caller knows them.

    Older messages are dropped by `prune` afterwards, off the path that delivers this one."""
    try:
        row = await pool.fetchrow(
            "INSERT INTO chat_messages (movie_id, user_id, body) VALUES ($1, $2, $3) RETURNING id, created_at",
            movie_id,
            user_id,
            text,
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise MovieNotFound(movie_id) from exc
    if author is None or picture is None:
        full = await pool.fetchrow(_SELECT + " WHERE m.id = $1", row["id"])
        return _public(full)
    return {
        "id": row["id"],
        "movie_id": movie_id,
        "text": text,
        "author_id": user_id,
        "author": author,
        "author_picture": picture,
        "created_at": iso_utc(row["created_at"]),
    }


async def prune(pool: asyncpg.Pool, movie_id: int, keep: int = HISTORY) -> None:
    """Drops the film's messages older than the last `keep`."""
    await pool.execute(
        """DELETE FROM chat_messages WHERE movie_id = $1 AND id < (
               SELECT min(id) FROM (SELECT id FROM chat_messages WHERE movie_id = $1
                                    ORDER BY id DESC LIMIT $2) AS recent)""",
        movie_id,
        keep,
    )


async def recent_messages(
    pool: asyncpg.Pool, movie_id: int, *, after_id: int | None = None, limit: int = HISTORY
) -> list[dict[str, Any]]:
    """The film's last `limit` messages (only those after `after_id` when given), oldest first."""
    rows = await pool.fetch(
        _SELECT
        + """ WHERE m.movie_id = $1 AND ($2::bigint IS NULL OR m.id > $2)
              ORDER BY m.id DESC LIMIT $3""",
        movie_id,
        after_id,
        limit,
    )
    return [_public(r) for r in reversed(rows)]
