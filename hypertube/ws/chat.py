"""Live chat events: sending a message to a film's room and the "is typing" hint."""

from __future__ import annotations

import time
from typing import Any

from hypertube.catalog import chat
from hypertube.events import movie_room
from hypertube.i18n import gettext as _
from hypertube.keys import POOL
from hypertube.ws.protocol import LiveError
from hypertube.ws.state import Client, LiveState

CHAT_LIMIT, CHAT_WINDOW = 5, 5.0  # chat messages, per user across tabs and processes
TYPING_INTERVAL = 1.0


class ChatHandlers(LiveState):
    async def chat_send(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        movie_id = self._joined(client, data)
        try:
            text = chat.clean_text(data.get("text"))
        except chat.ChatError as exc:
            raise LiveError(exc.code, _(exc.message)) from None
        sent, _reset = await self.store.hit(f"chat:{client.user_id}", CHAT_WINDOW)
        if sent > CHAT_LIMIT:
            raise LiveError("rate_limited", _("You are sending messages too fast. Wait a few seconds."))
        try:
            message = await chat.post_message(
                self.app[POOL],
                movie_id=movie_id,
                user_id=client.user_id,
                text=text,
                author=client.username,
                picture=client.picture,
            )
        except chat.MovieNotFound:
            raise LiveError("not_found", _("This film does not exist.")) from None
        await self.sio.emit("chat:message", message, room=movie_room(movie_id))
        await chat.prune(self.app[POOL], movie_id)
        return {"ok": True, "id": message["id"]}

    async def chat_typing(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        movie_id = self._joined(client, data)
        now = time.monotonic()
        if now - client.last_typing >= TYPING_INTERVAL:
            client.last_typing = now
            payload = {"movie_id": movie_id, "user": {"id": client.user_id, "username": client.username}}
            await self.sio.emit("chat:typing", payload, room=movie_room(movie_id), skip_sid=sid)
        return {"ok": True}
