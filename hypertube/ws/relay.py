"""Events from the rest of the application relayed to sockets: download progress (batched) and comment changes."""

from __future__ import annotations

import logging
from typing import Any

from hypertube.events import movie_room
from hypertube.i18n import gettext as _
from hypertube.ws.protocol import LiveError, movie_id_of, progress_room
from hypertube.ws.state import Client, LiveState

log = logging.getLogger(__name__)

MAX_PROGRESS_ROOMS = 100
PROGRESS_INTERVAL = 1.0  # download progress and presence are sent at most this often per film
PROGRESS_TTL = 30
FORWARDED_EVENTS = frozenset({"comment:new", "comment:update", "comment:delete"})
PROGRESS_FIELDS = ("movie_id", "progress", "rate", "peers", "ready")


class RelayHandlers(LiveState):
    async def watch_progress(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        """Replaces the films whose download progress this socket follows (e.g. the visible cards)."""
        ids = data.get("movie_ids")
        if not isinstance(ids, list) or len(ids) > MAX_PROGRESS_ROOMS:
            raise LiveError("bad_payload", _("movie_ids must be a list of at most 100 ids."))
        wanted = {movie_id_of({"movie_id": v}) for v in ids}
        for movie_id in client.progress - wanted:
            await self.sio.leave_room(sid, progress_room(movie_id))
        for movie_id in wanted - client.progress:
            await self.sio.enter_room(sid, progress_room(movie_id))
        client.progress = wanted
        known = [await self.store.get(f"progress:{m}") for m in sorted(wanted)]
        return {"ok": True, "progress": [p for p in known if p]}

    async def flush_progress(self) -> None:
        pending, self.pending_progress = self.pending_progress, {}
        for movie_id, payload in pending.items():
            await self.store.set(f"progress:{movie_id}", payload, ttl=PROGRESS_TTL)
            rooms = [movie_room(movie_id), progress_room(movie_id)]
            await self.sio.emit("download:progress", payload, room=rooms)

    async def on_app_event(self, event: str, payload: dict[str, Any], room: str | None) -> None:
        if event == "download:progress":
            self._queue_progress(payload)
            return
        if event not in FORWARDED_EVENTS or room is None:
            return
        if "content" in payload and "text" not in payload:
            payload = {**payload, "text": payload["content"]}
        await self.sio.emit(event, payload, room=room)

    def _queue_progress(self, payload: dict[str, Any]) -> None:
        """Keeps the film's latest progress for the next flush: a torrent reports far more often than we send."""
        try:
            movie_id = int(payload["movie_id"])
        except (KeyError, TypeError, ValueError):
            log.warning("download:progress without a movie_id: %r", payload)
            return
        self.pending_progress[movie_id] = {k: payload.get(k) for k in PROGRESS_FIELDS} | {
            "movie_id": movie_id
        }
