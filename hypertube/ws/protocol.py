"""The live protocol's vocabulary: the refusal an event can get, room names and payload checks."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Protocol

from hypertube.i18n import gettext as _

if TYPE_CHECKING:
    from hypertube.ws.store import LiveStore

MAX_POSITION = 1_000_000.0
PARTY_CODE = re.compile(r"^[A-Za-z0-9_-]{6,40}$")
# Refusals that say the client misbehaves (not the user mistyping): they count towards a disconnect.
STRIKES = frozenset({"bad_payload", "rate_limited", "unknown_event", "not_joined", "too_many_rooms"})


class LiveHub(Protocol):
    """What the app holds of the live server (`keys.LIVE`): its sockets, store and periodic jobs."""

    clients: dict[str, Any]
    store: LiveStore

    async def on_disconnect(self, sid: str, *args: Any) -> None: ...
    async def extend_session(self, sid: str, user_id: int, expires_at: float) -> bool: ...
    async def close_expired(self, now: float | None = None) -> None: ...
    async def close_ended_sessions(self) -> None: ...
    async def flush(self) -> None: ...
    async def on_app_event(self, event: str, payload: dict[str, Any], room: str | None) -> None: ...


class LiveError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def party_room(movie_id: int, code: str) -> str:
    return f"party:{movie_id}:{code}"


def progress_room(movie_id: int) -> str:
    return f"progress:{movie_id}"


def movie_id_of(data: dict[str, Any], key: str = "movie_id") -> int:
    value = data.get(key)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 15:
        value = int(value)
    if type(value) is not int or not 0 < value < 2**53:
        raise LiveError("bad_payload", _("movie_id must be a positive integer."))
    return value


def optional_id(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 0 <= value < 2**53:
        raise LiveError("bad_payload", _("Ids in `since` must be integers."))
    return value


def position_of(data: dict[str, Any]) -> float:
    value = data.get("position")
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise LiveError("bad_payload", _("position must be a number of seconds."))
    if not math.isfinite(value) or not 0 <= value <= MAX_POSITION:
        raise LiveError("bad_payload", _("position must be a number of seconds."))
    return float(value)


def party_code_of(data: dict[str, Any]) -> str | None:
    code = data.get("party")
    if code is not None and (not isinstance(code, str) or not PARTY_CODE.match(code)):
        raise LiveError("bad_payload", _("This watch-together link is not valid."))
    return code


def session_expired() -> LiveError:
    return LiveError("session_expired", _("Your session has expired. Reload the page to sign in again."))
