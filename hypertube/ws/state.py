"""What the live server holds in this process: its connected sockets and the batches awaiting the next flush."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiohttp import web

from hypertube.i18n import gettext as _
from hypertube.keys import TORRENTS
from hypertube.ws.protocol import LiveError, movie_id_of
from hypertube.ws.store import LiveStore


@dataclass
class Client:
    """One connected socket of this process."""

    user_id: int
    username: str
    picture: str
    language: str
    expires_at: float
    # The sign-in session the socket was opened in (None for tokens from outside a browser session).
    family: uuid.UUID | None = None
    movies: set[int] = field(default_factory=set)
    parties: dict[int, str] = field(default_factory=dict)
    progress: set[int] = field(default_factory=set)
    window_start: float = 0.0
    window_count: int = 0
    strikes: list[float] = field(default_factory=list)
    last_typing: float = 0.0
    # Party events of one socket are handled in the order they came (a pause then a seek must not swap).
    party_order: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def member(self) -> dict[str, Any]:
        return {"id": self.user_id, "username": self.username, "picture": self.picture}


class LiveState:
    """The state every group of handlers shares; `store` is opened in the cleanup context."""

    def __init__(self, app: web.Application, sio: socketio.AsyncServer, store: LiveStore):
        self.app = app
        self.sio = sio
        self.store = store
        self.clients: dict[str, Client] = {}
        self.pending_progress: dict[int, dict[str, Any]] = {}
        self.pending_presence: set[int] = set()

    def _joined(self, client: Client, data: dict[str, Any]) -> int:
        movie_id = movie_id_of(data)
        if movie_id not in client.movies:
            raise LiveError("not_joined", _("Join the film's room first."))
        return movie_id

    def _party_member(self, movie_id: int, *, joined: bool) -> None:
        """Tells the torrent engine: a film with an open watch party is being watched (never deleted)."""
        engine = self.app.get(TORRENTS)
        if engine is None:
            return
        if joined:
            engine.audience.party_joined(movie_id)
        else:
            engine.audience.party_left(movie_id)

    async def _party_left(self, sid: str, movie_id: int, code: str) -> None:
        """Socket `sid` left party `code` of the film (see `PartyHandlers`)."""

    def _presence_changed(self, movie_id: int) -> None:
        # Broadcast at most once a second per room: a room of n joining would otherwise cost n² emits.
        self.pending_presence.add(movie_id)
