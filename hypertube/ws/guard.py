"""Every event passes here first: one JSON object, a per-socket rate limit, and refusals that add up to a disconnect."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hypertube.accounts import sessions
from hypertube.i18n import gettext as _
from hypertube.i18n import set_language
from hypertube.keys import POOL
from hypertube.ws.protocol import STRIKES, LiveError, session_expired
from hypertube.ws.state import Client, LiveState

log = logging.getLogger(__name__)

EVENT_LIMIT, EVENT_WINDOW = 40, 5.0  # any events, per socket
# Events that speak or act as the user: each first checks that the socket's sign-in session is still open.
WRITES = frozenset(
    {"chat:send", "chat:typing", "party:play", "party:pause", "party:seek", "party:ready", "party:buffering"}
)
STRIKE_LIMIT, STRIKE_WINDOW = 5, 30.0  # refused events before the socket is closed

Handler = Callable[[str, Client, dict[str, Any]], Awaitable[Any]]


class EventGuard(LiveState):
    def _guarded(self, name: str, handler: Handler):
        async def handle(sid: str, *args: Any) -> Any:
            client = self.clients.get(sid)
            if client is None:
                return None
            set_language(client.language)
            try:
                self._count_event(client)
                if len(args) != 1 or not isinstance(args[0], dict):
                    raise LiveError("bad_payload", _("Every event carries one JSON object."))
                if name.startswith("party:"):
                    async with client.party_order:
                        return await self._checked(name, handler, sid, client, args[0])
                return await self._checked(name, handler, sid, client, args[0])
            except LiveError as exc:
                return await self._refuse(sid, client, exc, name)
            except Exception:
                log.exception("live event %s failed", name)
                error = LiveError("internal", _("Something went wrong on our side. Please try again."))
                return await self._refuse(sid, client, error, name)

        return handle

    async def _checked(
        self, name: str, handler: Handler, sid: str, client: Client, data: dict[str, Any]
    ) -> Any:
        if name in WRITES and await self._session_ended(client):
            # Refused at once; the session sweep closes the socket (after this answer is sent).
            raise session_expired()
        return await handler(sid, client, data)

    async def _session_ended(self, client: Client) -> bool:
        if client.family is None:
            return False
        return bool(await sessions.ended_families(self.app[POOL], [client.family]))

    async def on_unknown(self, event: str, sid: str, *args: Any) -> Any:
        client = self.clients.get(sid)
        if client is None:
            return None
        set_language(client.language)
        shown = event[:40] if isinstance(event, str) else "?"
        error = LiveError("unknown_event", _("Unknown event: %(event)s", event=shown))
        try:
            self._count_event(client)
        except LiveError as exc:
            error = exc
        return await self._refuse(sid, client, error, shown)

    def _count_event(self, client: Client) -> None:
        now = time.monotonic()
        if now - client.window_start > EVENT_WINDOW:
            client.window_start, client.window_count = now, 0
        client.window_count += 1
        if client.window_count > EVENT_LIMIT:
            raise LiveError("rate_limited", _("Too many events. Slow down."))

    async def _refuse(self, sid: str, client: Client, exc: LiveError, event: str) -> dict[str, Any]:
        error = {"code": exc.code, "message": exc.message, "event": event}
        await self.sio.emit("error", error, to=sid)
        if exc.code in STRIKES:
            now = time.monotonic()
            client.strikes = [t for t in client.strikes if now - t < STRIKE_WINDOW] + [now]
            if len(client.strikes) >= STRIKE_LIMIT:
                log.info("closing live socket of user %s after repeated refusals", client.user_id)
                message = _("Too many refused messages: the live connection was closed.")
                await self.sio.emit("error", {"code": "flood", "message": message, "event": event}, to=sid)
                await self.sio.disconnect(sid)
        return {"ok": False, "error": error}
