"""Flash messages: one-shot toasts carried to the next page in a short-lived signed cookie."""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson
from aiohttp import web

from hypertube.http.cookies import delete_cookie, set_cookie
from hypertube.keys import SETTINGS

FLASH_COOKIE = "ht_flash"
FLASH_KINDS = ("info", "success", "warning", "error")
FLASH_MAX_AGE = 120  # seconds: long enough for a redirect, short enough never to surprise anyone later
FLASH_MAX_MESSAGES = 5
FLASH_MAX_LENGTH = 300

# Messages waiting on a response (set by `flash`), messages for the page being rendered (`flash_now`),
# and whether this request showed the flash cookie's messages (so the response clears it).
PENDING_FLASHES: web.ResponseKey[list] = web.ResponseKey("pending_flashes", list)
PAGE_FLASHES: web.RequestKey[list] = web.RequestKey("page_flashes", list)
FLASH_SHOWN: web.RequestKey[bool] = web.RequestKey("flash_shown", bool)


def _clean(message: str, kind: str) -> tuple[str, str]:
    return (kind if kind in FLASH_KINDS else "info"), str(message)[:FLASH_MAX_LENGTH]


def flash(response: web.StreamResponse, message: str, kind: str = "info") -> web.StreamResponse:
    """Shows `message` as a toast on the next page this browser renders (usually after a redirect).

    Works on returned and raised responses alike (`raise flash(web.HTTPSeeOther("/"), _("Saved."))`).
    `kind` is one of info, success, warning, error. Pass text through `_()`; the page translates it again
    in its own language, so a message flashed just before a language switch still reads right."""
    pending = response.get(PENDING_FLASHES)
    if pending is None:
        pending = response[PENDING_FLASHES] = []
    if len(pending) < FLASH_MAX_MESSAGES:
        pending.append(_clean(message, kind))
    return response


def flash_now(request: web.Request, message: str, kind: str = "info") -> None:
    """Shows `message` as a toast on the page rendered for this very request (call before rendering)."""
    page = request.get(PAGE_FLASHES)
    if page is None:
        page = request[PAGE_FLASHES] = []
    if len(page) < FLASH_MAX_MESSAGES:
        page.append(_clean(message, kind))


def _sign(secret: str, payload: bytes) -> str:
    mac = hmac.new(f"flash:{secret}".encode(), payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def encode_flashes(secret: str, messages: list[tuple[str, str]]) -> str:
    payload = base64.urlsafe_b64encode(orjson.dumps(messages)).decode().rstrip("=")
    return f"{payload}.{_sign(secret, payload.encode())}"


def decode_flashes(secret: str, value: str | None) -> list[tuple[str, str]]:
    """The messages of a flash cookie, or [] when it is missing, tampered with or malformed."""
    if not value or len(value) > 4096 or "." not in value:
        return []
    payload, _, mac = value.rpartition(".")
    if not hmac.compare_digest(mac, _sign(secret, payload.encode())):
        return []
    try:
        data = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return []
    if not isinstance(data, list):
        return []
    messages = []
    for item in data[:FLASH_MAX_MESSAGES]:
        if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
            messages.append(_clean(item[1], item[0]))
    return messages


def take_flashes(request: web.Request) -> list[tuple[str, str]]:
    """Messages to show on the page being rendered: the flash cookie's (then cleared) and `flash_now`'s."""
    cookie = request.cookies.get(FLASH_COOKIE)
    messages = decode_flashes(request.app[SETTINGS].secret_key, cookie)
    if cookie is not None:
        request[FLASH_SHOWN] = True
    return messages + list(request.get(PAGE_FLASHES) or [])


async def flash_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """Writes pending messages into the flash cookie, or clears the cookie once a page has shown it.

    Done as a prepare hook because aiohttp serialises `response.cookies` before these hooks run, and
    because only here do both the response (its pending messages) and the secret key meet."""
    pending = response.get(PENDING_FLASHES)
    if pending:
        value = encode_flashes(request.app[SETTINGS].secret_key, pending)
        set_cookie(response, request.app[SETTINGS], FLASH_COOKIE, value, max_age=FLASH_MAX_AGE)
    elif request.get(FLASH_SHOWN):
        delete_cookie(response, request.app[SETTINGS], FLASH_COOKIE)
