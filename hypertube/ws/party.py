"""Watch together: each party's group playback (`hypertube/ws/group.py`), stored so that every process and
late joiner sees it, and the `party:*` events that drive it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from hypertube.i18n import gettext as _
from hypertube.keys import NODES, SETTINGS
from hypertube.ws.group import IDLE, Change, Group, Member
from hypertube.ws.protocol import LiveError, party_room, position_of
from hypertube.ws.state import Client, LiveState

log = logging.getLogger(__name__)

PARTY_TTL = 6 * 3600


def party_key(movie_id: int, code: str) -> str:
    return f"party:{movie_id}:{code}"


class PartyHandlers(LiveState):
    @property
    def _node_id(self) -> str:
        return self.app[SETTINGS].node_id

    async def _gone(self) -> Callable[[str, Member], bool]:
        """Which party members are sockets of a process that is gone: of another node no longer in the
        node registry (its heartbeat stopped NODE_TTL ago). When the registry cannot be read, none."""
        own = self._node_id
        live: set[str] = set()
        registry = self.app.get(NODES)
        if registry is not None:
            try:
                live = {node.id for node in await registry.live()}
            except Exception:
                log.warning(
                    "the node registry cannot be read; other nodes' party members are kept", exc_info=True
                )

        def gone(_sid: str, member: Member) -> bool:
            return bool(live) and member.node not in (None, own) and member.node not in live

        return gone

    async def _update_group(
        self, movie_id: int, code: str, change: Callable[[Group, float], Change]
    ) -> tuple[Group, Change, float]:
        """Applies `change` to the stored group under the party's lock, after dropping the members of
        processes that are gone; the group, what changed and when."""
        key = party_key(movie_id, code)
        gone = await self._gone()
        async with self.store.lock(key):
            stored = await self.store.get(key)
            group = Group.from_dict(stored) if stored else Group()
            now = time.time()
            changed = group.drop_gone(gone, now) | group.settle(now)
            changed |= change(group, now)
            await self.store.set(key, group.to_dict(), ttl=PARTY_TTL)
        return group, changed, now

    async def _announce(
        self, movie_id: int, code: str, group: Group, changed: Change, now: float, skip_sid: str | None = None
    ) -> None:
        room = party_room(movie_id, code)
        if changed.state and group.state != IDLE:
            await self.sio.emit(
                "party:state", group.public(movie_id, code, now), room=room, skip_sid=skip_sid
            )
        if changed.members:
            payload = {"movie_id": movie_id, "party": code, "members": group.roster()}
            await self.sio.emit("party:members", payload, room=room)

    async def _join_party(
        self, sid: str, client: Client, movie_id: int, code: str | None
    ) -> dict[str, Any] | None:
        """Moves the socket into party `code` of the film (out of any other); the party's state, or None
        while nobody has pressed play in it."""
        previous = client.parties.get(movie_id)
        if previous and previous != code:
            await self._party_left(sid, movie_id, previous)
            del client.parties[movie_id]
        if not code:
            return None
        await self.sio.enter_room(sid, party_room(movie_id, code))
        if previous != code:
            self._party_member(movie_id, joined=True)
        client.parties[movie_id] = code
        group, changed, now = await self._update_group(
            movie_id, code, lambda g, _now: g.join(sid, client.user_id, client.username, self._node_id)
        )
        await self._announce(movie_id, code, group, Change(members=changed.members), now)
        if group.state == IDLE:
            return None
        state = group.public(movie_id, code, now)
        await self.sio.emit("party:state", state, to=sid)
        return state

    async def _party_left(self, sid: str, movie_id: int, code: str) -> None:
        """Socket `sid` is no longer in party `code` (it left, switched party or disconnected)."""
        await self.sio.leave_room(sid, party_room(movie_id, code))
        self._party_member(movie_id, joined=False)
        group, changed, now = await self._update_group(movie_id, code, lambda g, t: g.leave(sid, t))
        await self._announce(movie_id, code, group, changed, now)

    def _party_of(self, client: Client, data: dict[str, Any]) -> tuple[int, str]:
        movie_id = self._joined(client, data)
        code = client.parties.get(movie_id)
        if not code:
            raise LiveError("not_joined", _("Open a watch-together link first."))
        return movie_id, code

    async def _party_action(
        self, sid: str, client: Client, data: dict[str, Any], action: str
    ) -> dict[str, Any]:
        movie_id, code = self._party_of(client, data)
        position = position_of(data)
        name = client.username

        def apply(group: Group, now: float) -> Change:
            if action == "play":
                return group.play(sid, position, now, name)
            if action == "pause":
                return group.pause(sid, position, now, name)
            return group.seek(sid, position, now, name)

        group, changed, now = await self._update_group(movie_id, code, apply)
        await self._announce(movie_id, code, group, changed, now, skip_sid=sid)
        return {"ok": True, "state": group.public(movie_id, code, now)}

    async def party_play(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        return await self._party_action(sid, client, data, "play")

    async def party_pause(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        return await self._party_action(sid, client, data, "pause")

    async def party_seek(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        return await self._party_action(sid, client, data, "seek")

    async def party_ready(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        """The socket has buffered at `position`; the group may start (everyone is told). The reply's
        `status` is this socket's own (`ready` once the report counted)."""
        movie_id, code = self._party_of(client, data)
        position = position_of(data)
        group, changed, now = await self._update_group(
            movie_id, code, lambda g, t: g.report_ready(sid, position, t)
        )
        await self._announce(movie_id, code, group, changed, now)
        member = group.members.get(sid)
        status = member.status if member else None
        return {"ok": True, "state": group.public(movie_id, code, now), "status": status}

    async def party_buffering(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        """The socket stalls: a playing group waits for it (everyone is told)."""
        movie_id, code = self._party_of(client, data)
        group, changed, now = await self._update_group(
            movie_id, code, lambda g, t: g.report_buffering(sid, t)
        )
        await self._announce(movie_id, code, group, changed, now)
        return {"ok": True, "state": group.public(movie_id, code, now)}
