"""Watch together: a party's shared play/pause/seek state, stored so late joiners and other processes see it."""

from __future__ import annotations

import time
from typing import Any

from hypertube.i18n import gettext as _
from hypertube.ws.protocol import LiveError, party_room, position_of
from hypertube.ws.state import Client, LiveState

PARTY_TTL = 6 * 3600


def party_key(movie_id: int, code: str) -> str:
    return f"party:{movie_id}:{code}"


def current_party_state(state: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """The stored state moved forward to now: a playing party's position advances with the clock."""
    now = time.time() if now is None else now
    position = state["position"]
    if state["playing"]:
        position += max(0.0, now - state["at"])
    return {**state, "position": round(position, 3), "at": now}


class PartyHandlers(LiveState):
    async def _join_party(
        self, sid: str, client: Client, movie_id: int, code: str | None
    ) -> dict[str, Any] | None:
        """Moves the socket into party `code` of the film (out of any other); the party's state, if any."""
        previous = client.parties.get(movie_id)
        if previous and previous != code:
            await self.sio.leave_room(sid, party_room(movie_id, previous))
            del client.parties[movie_id]
            self._party_member(movie_id, joined=False)
        if not code:
            return None
        await self.sio.enter_room(sid, party_room(movie_id, code))
        if previous != code:
            self._party_member(movie_id, joined=True)
        client.parties[movie_id] = code
        stored = await self.store.get(party_key(movie_id, code))
        if not stored:
            return None
        state = current_party_state(stored)
        await self.sio.emit("party:state", state, to=sid)
        return state

    async def _party_change(
        self, sid: str, client: Client, data: dict[str, Any], action: str, playing: bool | None
    ) -> dict[str, Any]:
        movie_id = self._joined(client, data)
        code = client.parties.get(movie_id)
        if not code:
            raise LiveError("not_joined", _("Open a watch-together link first."))
        position = position_of(data)
        key = party_key(movie_id, code)
        if playing is None:  # a seek keeps playing or paused as it was
            stored = await self.store.get(key)
            playing = bool(stored and stored.get("playing"))
        state = {
            "movie_id": movie_id,
            "party": code,
            "action": action,
            "playing": playing,
            "position": position,
            "at": time.time(),
            "by": client.username,
        }
        await self.store.set(key, state, ttl=PARTY_TTL)
        await self.sio.emit("party:state", state, room=party_room(movie_id, code), skip_sid=sid)
        return {"ok": True, "state": state}

    async def party_play(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        return await self._party_change(sid, client, data, "play", True)

    async def party_pause(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        return await self._party_change(sid, client, data, "pause", False)

    async def party_seek(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        return await self._party_change(sid, client, data, "seek", None)
