"""Film rooms: joining (with catch-up of what was missed), leaving, and who is present."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any

import asyncpg

from hypertube.catalog import chat
from hypertube.catalog.comments import list_comments
from hypertube.events import movie_room
from hypertube.i18n import gettext as _
from hypertube.keys import POOL
from hypertube.ws.party import PartyHandlers
from hypertube.ws.protocol import LiveError, movie_id_of, optional_id, party_code_of
from hypertube.ws.state import Client

MAX_MOVIE_ROOMS = 4
PRESENCE_SHOWN = 100
CATCH_UP_COMMENTS = 200


def _timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _since(data: dict[str, Any]) -> tuple[int | None, int | None, float | None]:
    """What the client already has: the last chat id, the last comment id and the time it was last here."""
    since = data.get("since")
    if since is not None and not isinstance(since, dict):
        raise LiveError("bad_payload", _("since must be an object."))
    since = since or {}
    chat_id = optional_id(since.get("chat_id"))
    comment_id = optional_id(since.get("comment_id"))
    at = since.get("at")
    if at is not None and (type(at) not in (int, float) or not math.isfinite(at)):
        raise LiveError("bad_payload", _("since.at must be a number."))
    return chat_id, comment_id, at


async def _missed_comments(
    pool: asyncpg.Pool, movie_id: int, since_comment: int | None, since_at: float | None
) -> dict[str, Any]:
    recent = await list_comments(pool, movie_id=movie_id, limit=CATCH_UP_COMMENTS)
    return {
        "comments": [
            {**c, "text": c["content"]}
            for c in reversed(recent)
            if (since_comment is not None and c["id"] > since_comment)
            or (since_at is not None and _timestamp(c["updated_at"]) > since_at)
        ],
        # Lets the client drop comments deleted while it was away (only within this window).
        "comment_ids": [c["id"] for c in recent],
        "comment_ids_complete": len(recent) < CATCH_UP_COMMENTS,
    }


class RoomHandlers(PartyHandlers):
    async def join(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        movie_id = movie_id_of(data)
        since_chat, since_comment, since_at = _since(data)
        code = party_code_of(data)
        if movie_id not in client.movies:
            await self._enter_movie(sid, client, movie_id)
        party_state = await self._join_party(sid, client, movie_id, code)
        pool = self.app[POOL]
        reply: dict[str, Any] = {
            "ok": True,
            "movie_id": movie_id,
            "server_time": time.time(),
            "expires_in": max(0, int(client.expires_at - time.time())),
            "chat": await chat.recent_messages(pool, movie_id, after_id=since_chat),
            "party": party_state,
            "presence": await self._presence(movie_id),
        }
        if since_comment is not None or since_at is not None:
            reply |= await _missed_comments(pool, movie_id, since_comment, since_at)
        return reply

    async def _enter_movie(self, sid: str, client: Client, movie_id: int) -> None:
        if len(client.movies) >= MAX_MOVIE_ROOMS:
            raise LiveError("too_many_rooms", _("Too many films open at once."))
        if not await self.app[POOL].fetchval("SELECT 1 FROM movies WHERE id = $1", movie_id):
            raise LiveError("not_found", _("This film does not exist."))
        if self.clients.get(sid) is not client:
            raise LiveError("gone", "disconnected")  # the socket closed while the film was looked up
        room = movie_room(movie_id)
        await self.sio.enter_room(sid, room)
        client.movies.add(movie_id)
        await self.store.presence_add(room, sid, client.member)
        if self.clients.get(sid) is not client:  # closed meanwhile: its disconnect missed this entry
            await self.store.presence_remove(room, sid)
            raise LiveError("gone", "disconnected")
        self._presence_changed(movie_id)

    async def leave(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        movie_id = self._joined(client, data)
        await self.sio.leave_room(sid, movie_room(movie_id))
        code = client.parties.pop(movie_id, None)
        if code:
            await self._party_left(sid, movie_id, code)
        client.movies.discard(movie_id)
        await self.store.presence_remove(movie_room(movie_id), sid)
        self._presence_changed(movie_id)
        return {"ok": True}

    async def _presence(self, movie_id: int) -> list[dict[str, Any]]:
        """Who is in the film's room (one entry per user, at most PRESENCE_SHOWN of them)."""
        members = await self.store.presence_list(movie_room(movie_id))
        users = list({m["id"]: m for m in members}.values())
        users.sort(key=lambda m: m["username"].lower())
        return users[:PRESENCE_SHOWN]

    async def flush_presence(self) -> None:
        pending, self.pending_presence = self.pending_presence, set()
        for movie_id in pending:
            users = await self._presence(movie_id)
            await self.sio.emit("presence", {"movie_id": movie_id, "users": users}, room=movie_room(movie_id))
