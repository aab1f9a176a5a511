"""Socket lifetime: same-origin check, sign-in on connect, token refresh and closing expired sockets."""

from __future__ import annotations

import time
import uuid
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlparse

import jwt
import socketio

from hypertube.accounts import sessions
from hypertube.accounts.models import User
from hypertube.accounts.tokens import ALGORITHM, InvalidToken, decode_access_token
from hypertube.events import movie_room
from hypertube.http.auth import ACCESS_COOKIE, LANG_COOKIE, user_from_access_token
from hypertube.i18n import gettext as _
from hypertube.i18n import negotiate, set_language
from hypertube.keys import POOL, SETTINGS
from hypertube.ws.protocol import LiveError, session_expired
from hypertube.ws.state import Client, LiveState

SWEEP_INTERVAL = 10.0
# How soon a socket closes after its sign-in session ends elsewhere (its writes are refused at once).
SESSION_SWEEP_INTERVAL = 2.0
AUTH_GRACE = 30.0  # a socket outlives its token by this much, time for the page to refresh it
MAX_TOKEN_LENGTH = 4096


def _origin(url: str) -> str:
    p = urlparse(url)
    return f"{p.scheme}://{p.netloc}".lower()


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


def _auth_ttl(expires_at: float) -> float:
    return max(1.0, expires_at - time.time() + AUTH_GRACE + SWEEP_INTERVAL)


class ConnectionHandlers(LiveState):
    def origin_allowed(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """Same origin only: the configured base URL, or the host this request was addressed to."""
        if not origin:
            return True
        allowed = {_origin(self.app[SETTINGS].base_url)}
        request = environ.get("aiohttp.request")
        if request is not None:
            allowed.add(f"{request.scheme}://{request.host}".lower())
        return _origin(origin) in allowed

    async def authenticate(self, token: str | None) -> tuple[User, float, uuid.UUID | None]:
        """The user, the token's expiry and its sign-in session, or a LiveError saying why not."""
        unauthorized = LiveError("unauthorized", _("Please sign in to see live updates."))
        if not token:
            raise unauthorized
        secret = self.app[SETTINGS].secret_key
        try:
            claims = decode_access_token(secret, token)
        except InvalidToken:
            try:
                jwt.decode(
                    token, secret, algorithms=[ALGORITHM], options={"verify_exp": False, "verify_aud": False}
                )
            except jwt.PyJWTError:
                raise unauthorized from None
            raise session_expired() from None
        user = await user_from_access_token(self.app, token)
        if user is None:  # also when its session has ended
            raise unauthorized
        family = uuid.UUID(str(claims["fam"])) if claims.get("fam") else None
        return user, float(claims["exp"]), family

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            token = _cookie(environ, ACCESS_COOKIE)
        # A refusal is shown to someone we do not know yet: in the language their pages use.
        lang = _cookie(environ, LANG_COOKIE) or negotiate(environ.get("HTTP_ACCEPT_LANGUAGE"))
        set_language(lang or "en")
        try:
            user, expires_at, family = await self.authenticate(token)
        except LiveError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.message, {"code": exc.code}) from None
        self.clients[sid] = Client(
            user_id=user.id,
            username=user.username,
            picture=user.picture_url,
            language=user.language,
            expires_at=expires_at,
            family=family,
        )
        await self.store.set(
            f"auth:{sid}", {"user_id": user.id, "exp": expires_at}, ttl=_auth_ttl(expires_at)
        )

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        client = self.clients.pop(sid, None)
        if client is None:
            return
        for movie_id in list(client.movies):
            await self.store.presence_remove(movie_room(movie_id), sid)
            self._presence_changed(movie_id)
        for movie_id, code in client.parties.items():
            await self._party_left(sid, movie_id, code)
        await self.store.delete(f"auth:{sid}")

    async def extend_session(self, sid: str, user_id: int, expires_at: float) -> bool:
        """Keeps socket `sid` (of any process) open until `expires_at`, if it belongs to `user_id`."""
        current = await self.store.get(f"auth:{sid}")
        if not current or current.get("user_id") != user_id:
            return False
        await self.store.set(
            f"auth:{sid}", {"user_id": user_id, "exp": expires_at}, ttl=_auth_ttl(expires_at)
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
            await self.close_signed_out(sid, client)

    async def close_ended_sessions(self) -> None:
        """Closes this process's sockets whose sign-in session ended (logout, "sign out" from elsewhere, a
        password change or reset): every process checks its own sockets against the shared database."""
        families = {c.family for c in self.clients.values() if c.family is not None}
        ended = await sessions.ended_families(self.app[POOL], list(families))
        for sid, client in list(self.clients.items()):
            if client.family in ended:
                await self.close_signed_out(sid, client)

    async def close_signed_out(self, sid: str, client: Client) -> None:
        """Tells the page its session is over (in its language), then closes the socket."""
        set_language(client.language)
        expired = session_expired()
        await self.sio.emit("auth:expired", {"code": expired.code, "message": expired.message}, to=sid)
        await self.sio.disconnect(sid)

    async def auth_refresh(self, sid: str, client: Client, data: dict[str, Any]) -> dict[str, Any]:
        """Non-browser clients hand over a fresh access token; browsers use POST /live/session."""
        token = data.get("token")
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise LiveError("bad_payload", _("token must be a string."))
        user, expires_at, family = await self.authenticate(token)
        if user.id != client.user_id:
            raise LiveError("unauthorized", _("This token belongs to someone else."))
        client.family = family
        await self.extend_session(sid, user.id, expires_at)
        return {"ok": True, "expires_in": int(expires_at - time.time())}
