"""In-process event bus: domain code publishes live events; the Socket.IO layer (or anything) subscribes.

Domain packages never import Socket.IO: they call `publish(app, event, payload, room=...)` and the
subscribers decide how to deliver (Socket.IO rooms, possibly through Redis to other processes)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Subscriber = Callable[[str, dict[str, Any], str | None], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, callback: Subscriber) -> None:
        self._subscribers.append(callback)

    def unsubscribe(self, callback: Subscriber) -> None:
        if callback in self._subscribers:
            self._subscribers.remove(callback)

    async def publish(self, event: str, payload: dict[str, Any], room: str | None = None) -> None:
        """Delivers to every subscriber; a failing subscriber is logged and never breaks the publisher."""
        for callback in list(self._subscribers):
            try:
                await callback(event, payload, room)
            except Exception:
                log.exception("event subscriber failed for %s", event)


def movie_room(movie_id: int) -> str:
    return f"movie:{movie_id}"
