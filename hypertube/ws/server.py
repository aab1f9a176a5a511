"""The Socket.IO server: auth on connect, film rooms, chat, presence, watch parties and event fan-out."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlparse

import jwt
import socketio
from aiohttp import web

from hypertube.accounts.models import User
from hypertube.accounts.tokens import ALGORITHM, InvalidToken, decode_access_token
from hypertube.catalog.comments import list_comments
from hypertube.events import movie_room
from hypertube.http.auth import ACCESS_COOKIE, LANG_COOKIE, user_from_access_token
from hypertube.http.errors import json_error
from hypertube.i18n import gettext as _
from hypertube.i18n import negotiate, set_language
from hypertube.keys import LIVE, POOL, SETTINGS, USER
from hypertube.ws import chat
from hypertube.ws.store import LiveStore

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 16 * 1024  # anything bigger closes the connection at the Engine.IO layer
EVENT_LIMIT, EVENT_WINDOW = 40, 5.0  # any events, per socket
CHAT_LIMIT, CHAT_WINDOW = 5, 5.0  # chat messages, per user across tabs and processes
STRIKE_LIMIT, STRIKE_WINDOW = 5, 30.0  # refused events before the socket is closed
TYPING_INTERVAL = 1.0
MAX_MOVIE_ROOMS = 4
MAX_PROGRESS_ROOMS = 100
MAX_POSITION = 1_000_000.0
PARTY_TTL = 6 * 3600
PROGRESS_INTERVAL = 1.0  # download progress and presence are sent at most this often per film
PRESENCE_SHOWN = 100
SWEEP_INTERVAL = 10.0
AUTH_GRACE = 30.0  # a socket outlives its token by this much, time for the page to refresh it
CATCH_UP_COMMENTS = 200
PARTY_CODE = re.compile(r"^[A-Za-z0-9_-]{6,40}$")
FORWARDED_EVENTS = frozenset({"comment:new", "comment:update", "comment:delete"})
PROGRESS_FIELDS = ("movie_id", "progress", "rate", "peers", "ready")
# Refusals that say the client misbehaves (not the user mistyping): they count towards a disconnect.
STRIKES = frozenset({"bad_payload", "rate_limited", "unknown_event", "not_joined", "too_many_rooms"})


class LiveError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Client:
    """One connected socket of this process."""

    user_id: int
    username: str
    picture: str
    language: str
    expires_at: float
    movies: set[int] = field(default_factory=set)
    parties: dict[int, str] = field(default_factory=dict)
    progress: set[int] = field(default_factory=set)
    window_start: float = 0.0
    window_count: int = 0
    strikes: list[float] = field(default_factory=list)
    last_typing: float = 0.0

    @property
    def member(self) -> dict[str, Any]:
        return {"id": self.user_id, "username": self.username, "picture": self.picture}


def party_room(movie_id: int, code: str) -> str:
    return f"party:{movie_id}:{code}"


def progress_room(movie_id: int) -> str:
    return f"progress:{movie_id}"


def _movie_id(data: dict[str, Any], key: str = "movie_id") -> int:
    value = data.get(key)
    if isinstance(value, str) and value.isdigit() and len(value) <= 15:
        value = int(value)
    if type(value) is not int or not 0 < value < 2**53:
        raise LiveError("bad_payload", _("movie_id must be a positive integer."))
    return value


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 0 <= value < 2**53:
        raise LiveError("bad_payload", _("Ids in `since` must be integers."))
    return value


def _position(data: dict[str, Any]) -> float:
    value = data.get("position")
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise LiveError("bad_payload", _("position must be a number of seconds."))
    if not math.isfinite(value) or not 0 <= value <= MAX_POSITION:
        raise LiveError("bad_payload", _("position must be a number of seconds."))
    return float(value)


def _origin(url: str) -> str:
    p = urlparse(url)
    return f"{p.scheme}://{p.netloc}".lower()


def current_party_state(state: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """The stored state moved forward to now: a playing party's position advances with the clock."""
    now = time.time() if now is None else now
    position = state["position"]
    if state["playing"]:
        position += max(0.0, now - state["at"])
    return {**state, "position": round(position, 3), "at": now}


class LiveServer:
    """Owns the AsyncServer's handlers and the per-process list of connected sockets."""

    def __init__(self, app: web.Application, sio: socketio.AsyncServer, store: LiveStore):
        self.app = app
        self.sio = sio
        self.store = store
        self.clients: dict[str, Client] = {}
        self.pending_progress: dict[int, dict[str, Any]] = {}
        self.pending_presence: set[int] = set()
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        sio.on("*", self.on_unknown)
        for name, handler in {
            "join": self.join,
            "leave": self.leave,
            "chat:send": self.chat_send,
            "chat:typing": self.chat_typing,
            "party:play": self.party_play,
            "party:pause": self.party_pause,
            "party:seek": self.party_seek,
            "progress": self.watch_progress,
            "auth:refresh": self.auth_refresh,
        }.items():
            sio.on(name, self._guarded(name, handler))

    # --- connection -------------------------------------------------------------------------------

    def origin_allowed(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """Same origin only: the configured base URL, or the host this request was addressed to."""
        if not origin:
            return True
        allowed = {_origin(self.app[SETTINGS].base_url)}
        request = environ.get("aiohttp.request")
        if request is not None:
            allowed.add(f"{request.scheme}://{request.host}".lower())
        return _origin(origin) in allowed

    async def authenticate(self, token: str | None) -> tuple[User, float]:
        """The user and the token's expiry, or a LiveError saying why not."""
        if not token:
            raise LiveError("unauthorized", _("Please sign in to see live updates."))
        secret = self.app[SETTINGS].secret_key
        try:
            claims = decode_access_token(secret, token)
        except InvalidToken:
            try:
                jwt.decode(
                    token, secret, algorithms=[ALGORITHM], options={"verify_exp": False, "verify_aud": False}
                )
            except jwt.PyJWTError:
                raise LiveError("unauthorized", _("Please sign in to see live updates.")) from None
            raise LiveError(
                "session_expired", _("Your session has expired. Reload the page to sign in again.")
            ) from None
        user = await user_from_access_token(self.app, token)
        if user is None:
            raise LiveError("unauthorized", _("Please sign in to see live updates."))
        return user, float(claims["exp"])

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or len(token) > 4096:
            token = _cookie(environ, ACCESS_COOKIE)
        # A refusal is shown to someone we do not know yet: in the language their pages use.
        lang = _cookie(environ, LANG_COOKIE) or negotiate(environ.get("HTTP_ACCEPT_LANGUAGE"))
        set_language(lang or "en")
        try:
            user, expires_at = await self.authenticate(token)
        except LiveError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.message, {"code": exc.code}) from None
        self.clients[sid] = Client(
            user_id=user.id,
            username=user.username,
            picture=user.picture_url,
            language=user.language,
            expires_at=expires_at,
        )
        await self.store.set(
            f"auth:{sid}", {"user_id": user.id, "exp": expires_at}, ttl=self._auth_ttl(expires_at)
        )

    @staticmethod
    def _auth_ttl(expires_at: float) -> float:
        return max(1.0, expires_at - time.time() + AUTH_GRACE + SWEEP_INTERVAL)

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        client = self.clients.pop(sid, None)
        if client is None:
            return
        for movie_id in list(client.movies):
            await self.store.presence_remove(movie_room(movie_id), sid)
            self._presence_changed(movie_id)
        await self.store.delete(f"auth:{sid}")

    async def extend_session(self, sid: str, user_id: int, expires_at: float) -> bool:
        """Keeps socket `sid` (of any process) open until `expires_at`, if it belongs to `user_id`."""
        current = await self.store.get(f"auth:{sid}")
        if not current or current.get("user_id") != user_id:
            return False
        await self.store.set(
            f"auth:{sid}", {"user_id": user_id, "exp": expires_at}, ttl=self._auth_ttl(expires_at)
        )
        client = self.clients.get(sid)
        if client is not None:
            client.expires_at = max(client.expires_at, expires_at)
        return True

    async def close_expired(self, now: float | None = None) -> None:
        """Closes this process's sockets whose token expired (beyond the grace) and was not refreshed."""
        now = time.time() if now is None else now
        for sid, client in list(self.clients.items()):
            if client.expires_at + AUTH_GRACE > now:
                continue
            stored = await self.store.get(f"auth:{sid}")  # refreshed through another process?
            if stored and stored.get("user_id") == client.user_id and stored["exp"] + AUTH_GRACE > now:
                client.expires_at = stored["exp"]
                continue
            set_language(client.language)
            message = _("Your session has expired. Reload the page to sign in again.")
            await self.sio.emit("auth:expired", {"code": "session_expired", "message": message}, to=sid)
            await self.sio.disconnect(sid)

    # --- guarding every event ---------------------------------------------------------------------

    def _guarded(self, name: str, handler):
        async def handle(sid: str, *args: Any) -> Any:
            client = self.clients.get(sid)
            if client is None:
                return None
            set_language(client.language)
            try:
                self._count_event(client)
                if len(args) != 1 or not isinstance(args[0], dict):
                    raise LiveError("bad_payload", _("Every event carries one JSON object."))
                return await handler(sid, client, args[0])
            except LiveError as exc:
                return await self._refuse(sid, client, exc, name)
            except Exception:
                log.exception("live event %s failed", name)
                error = LiveError("internal", _("Something went wrong on our side. Please try again."))
                return await self._refuse(sid, client, error, name)

        return handle

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

    def _joined(self, client: Client, data: dict[str, Any]) -> int:
        movie_id = _movie_id(data)
        if movie_id not in client.movies:
            raise LiveError("not_joined", _("Join the film's room first."))
        return movie_id

    # --- rooms, presence, catch-up ----------------------------------------------------------------

    async def join(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        movie_id = _movie_id(data)
        since = data.get("since")
        if since is not None and not isinstance(since, dict):
            raise LiveError("bad_payload", _("since must be an object."))
        since = since or {}
        since_chat = _optional_int(since.get("chat_id"))
        since_comment = _optional_int(since.get("comment_id"))
        since_at = since.get("at")
        if since_at is not None and (type(since_at) not in (int, float) or not math.isfinite(since_at)):
            raise LiveError("bad_payload", _("since.at must be a number."))
        code = data.get("party")
        if code is not None and (not isinstance(code, str) or not PARTY_CODE.match(code)):
            raise LiveError("bad_payload", _("This watch-together link is not valid."))

        pool = self.app[POOL]
        room = movie_room(movie_id)
        if movie_id not in client.movies:
            if len(client.movies) >= MAX_MOVIE_ROOMS:
                raise LiveError("too_many_rooms", _("Too many films open at once."))
            if not await pool.fetchval("SELECT 1 FROM movies WHERE id = $1", movie_id):
                raise LiveError("not_found", _("This film does not exist."))
            if self.clients.get(sid) is not client:
                raise LiveError("gone", "disconnected")  # the socket closed while the film was looked up
            await self.sio.enter_room(sid, room)
            client.movies.add(movie_id)
            await self.store.presence_add(room, sid, client.member)
            if self.clients.get(sid) is not client:  # closed meanwhile: its disconnect missed this entry
                await self.store.presence_remove(room, sid)
                raise LiveError("gone", "disconnected")
            self._presence_changed(movie_id)

        party_state = None
        previous = client.parties.get(movie_id)
        if previous and previous != code:
            await self.sio.leave_room(sid, party_room(movie_id, previous))
            del client.parties[movie_id]
        if code:
            await self.sio.enter_room(sid, party_room(movie_id, code))
            client.parties[movie_id] = code
            stored = await self.store.get(f"party:{movie_id}:{code}")
            if stored:
                party_state = current_party_state(stored)
                await self.sio.emit("party:state", party_state, to=sid)

        messages = await chat.recent_messages(pool, movie_id, after_id=since_chat)
        reply: dict[str, Any] = {
            "ok": True,
            "movie_id": movie_id,
            "server_time": time.time(),
            "expires_in": max(0, int(client.expires_at - time.time())),
            "chat": messages,
            "party": party_state,
            "presence": await self._presence(movie_id),
        }
        if since_comment is not None or since_at is not None:
            recent = await list_comments(pool, movie_id=movie_id, limit=CATCH_UP_COMMENTS)
            reply["comments"] = [
                {**c, "text": c["content"]}
                for c in reversed(recent)
                if (since_comment is not None and c["id"] > since_comment)
                or (since_at is not None and _timestamp(c["updated_at"]) > since_at)
            ]
            # Lets the client drop comments deleted while it was away (only within this window).
            reply["comment_ids"] = [c["id"] for c in recent]
            reply["comment_ids_complete"] = len(recent) < CATCH_UP_COMMENTS
        return reply

    async def leave(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        movie_id = self._joined(client, data)
        await self._leave_movie(sid, client, movie_id)
        return {"ok": True}

    async def _leave_movie(self, sid: str, client: Client, movie_id: int) -> None:
        await self.sio.leave_room(sid, movie_room(movie_id))
        code = client.parties.pop(movie_id, None)
        if code:
            await self.sio.leave_room(sid, party_room(movie_id, code))
        client.movies.discard(movie_id)
        await self.store.presence_remove(movie_room(movie_id), sid)
        self._presence_changed(movie_id)

    async def _presence(self, movie_id: int) -> list[dict[str, Any]]:
        """Who is in the film's room (one entry per user, at most PRESENCE_SHOWN of them)."""
        members = await self.store.presence_list(movie_room(movie_id))
        users = list({m["id"]: m for m in members}.values())
        users.sort(key=lambda m: m["username"].lower())
        return users[:PRESENCE_SHOWN]

    def _presence_changed(self, movie_id: int) -> None:
        # Broadcast at most once a second per room: a room of n joining would otherwise cost n² emits.
        self.pending_presence.add(movie_id)

    async def flush_presence(self) -> None:
        pending, self.pending_presence = self.pending_presence, set()
        for movie_id in pending:
            users = await self._presence(movie_id)
            await self.sio.emit("presence", {"movie_id": movie_id, "users": users}, room=movie_room(movie_id))

    async def flush(self) -> None:
        await self.flush_presence()
        await self.flush_progress()

    # --- chat -------------------------------------------------------------------------------------

    async def chat_send(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        movie_id = self._joined(client, data)
        try:
            text = chat.clean_text(data.get("text"))
        except chat.ChatError as exc:
            raise LiveError(exc.code, _(exc.message)) from None
        if await self.store.hit(f"chat:{client.user_id}", CHAT_WINDOW) > CHAT_LIMIT:
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

    # --- watch together ---------------------------------------------------------------------------

    async def _party_change(
        self, sid: str, client: Client, data: dict[str, Any], action: str, playing: bool | None
    ):
        movie_id = self._joined(client, data)
        code = client.parties.get(movie_id)
        if not code:
            raise LiveError("not_joined", _("Open a watch-together link first."))
        position = _position(data)
        key = f"party:{movie_id}:{code}"
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

    async def party_play(self, sid: str, client: Client, data: dict[str, Any]):
        return await self._party_change(sid, client, data, "play", True)

    async def party_pause(self, sid: str, client: Client, data: dict[str, Any]):
        return await self._party_change(sid, client, data, "pause", False)

    async def party_seek(self, sid: str, client: Client, data: dict[str, Any]):
        return await self._party_change(sid, client, data, "seek", None)

    # --- download progress ------------------------------------------------------------------------

    async def watch_progress(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        """Replaces the films whose download progress this socket follows (e.g. the visible cards)."""
        ids = data.get("movie_ids")
        if not isinstance(ids, list) or len(ids) > MAX_PROGRESS_ROOMS:
            raise LiveError("bad_payload", _("movie_ids must be a list of at most 100 ids."))
        wanted = {_movie_id({"movie_id": v}) for v in ids}
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
            await self.store.set(f"progress:{movie_id}", payload, ttl=30)
            rooms = [movie_room(movie_id), progress_room(movie_id)]
            await self.sio.emit("download:progress", payload, room=rooms)

    # --- token refresh ----------------------------------------------------------------------------

    async def auth_refresh(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        """Non-browser clients hand over a fresh access token; browsers use POST /live/session."""
        token = data.get("token")
        if not isinstance(token, str) or len(token) > 4096:
            raise LiveError("bad_payload", _("token must be a string."))
        user, expires_at = await self.authenticate(token)
        if user.id != client.user_id:
            raise LiveError("unauthorized", _("This token belongs to someone else."))
        await self.extend_session(sid, user.id, expires_at)
        return {"ok": True, "expires_in": int(expires_at - time.time())}

    # --- events published by the rest of the application ------------------------------------------

    async def on_app_event(self, event: str, payload: dict[str, Any], room: str | None) -> None:
        if event == "download:progress":
            try:
                movie_id = int(payload["movie_id"])
            except (KeyError, TypeError, ValueError):
                log.warning("download:progress without a movie_id: %r", payload)
                return
            self.pending_progress[movie_id] = {k: payload.get(k) for k in PROGRESS_FIELDS} | {
                "movie_id": movie_id
            }
            return
        if event not in FORWARDED_EVENTS or room is None:
            return
        if "content" in payload and "text" not in payload:
            payload = {**payload, "text": payload["content"]}
        await self.sio.emit(event, payload, room=room)


def _timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _cookie(environ: dict[str, Any], name: str) -> str | None:
    request = environ.get("aiohttp.request")
    if request is not None:
        return request.cookies.get(name)
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


async def session_endpoint(request: web.Request) -> web.Response:
    """POST /live/session {sid}: the page's fresh cookie keeps its open socket alive."""
    user = request.get(USER)
    if user is None:
        message = _("Your session has expired. Reload the page to sign in again.")
        return json_error(401, "session_expired", message)
    try:
        body = await request.json()
    except ValueError:
        body = None
    sid = body.get("sid") if isinstance(body, dict) else None
    if not isinstance(sid, str) or not 0 < len(sid) <= 64:
        return json_error(400, "bad_request", _("sid must be the socket id."), field="sid")
    live = request.app[LIVE]
    expires_at = time.time() + request.app[SETTINGS].access_token_ttl
    if not await live.extend_session(sid, user.id, expires_at):
        return json_error(404, "not_found", _("This live connection is closed."))
    return web.json_response({"expires_in": int(expires_at - time.time())})


async def run_every(interval: float, job, name: str) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live background job %s failed", name)
