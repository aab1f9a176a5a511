"""Short-lived JWT access tokens: signed with the secret key, carrying the user id."""

from __future__ import annotations

import time
import uuid

import jwt

ALGORITHM = "HS256"
ISSUER = "hypertube"


class InvalidToken(Exception):
    """The token is missing, forged, expired or meant for something else."""


def issue_access_token(secret: str, user_id: int, ttl: int, *, audience: str = "web", **claims) -> str:
    now = int(time.time())
    payload = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + ttl,
        "iss": ISSUER,
        "aud": audience,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_access_token(secret: str, token: str, *, audience: str = "web") -> dict:
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "aud", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if not (str(payload["sub"]).isascii() and str(payload["sub"]).isdigit()):
        raise InvalidToken("bad subject")
    return payload


def sign_payload(secret: str, audience: str, ttl: int, data: dict) -> str:
    """A short-lived signed blob (OAuth state, a pending sign-up) for a cookie; readable only by us."""
    now = int(time.time())
    payload = {"iat": now, "exp": now + ttl, "iss": ISSUER, "aud": audience, "data": data}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def read_payload(secret: str, audience: str, token: str | None) -> dict:
    if not token or len(token) > 8192:
        raise InvalidToken("missing")
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            options={"require": ["exp", "aud", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    data = payload.get("data")
    if not isinstance(data, dict):
        raise InvalidToken("no data")
    return data
