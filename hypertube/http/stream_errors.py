"""Streaming errors: every failure of the torrent engine or of PyAV as a clear JSON error (never a 500),
and the film a streaming URL names."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from hypertube.http.errors import ApiError
from hypertube.i18n import gettext as _
from hypertube.keys import POOL
from hypertube.media.convert import MediaError
from hypertube.media.service import NoFilm, WaitingForPeers

log = logging.getLogger(__name__)


async def movie_row(request: web.Request, movie_id: int):
    """The film's row (id, imdb_id, title); 404 `not_found` when there is none."""
    row = await request.app[POOL].fetchrow("SELECT id, imdb_id, title FROM movies WHERE id = $1", movie_id)
    if row is None:
        raise ApiError(404, _("This film does not exist."), code="not_found")
    return row


def _torrent_error(exc: BaseException | None) -> Any:
    """The torrent engine's error behind `exc` (PyAV re-raises the reader's OSError, caused by it)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(getattr(exc, "status", None), int) and isinstance(getattr(exc, "code", None), str):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _timed_out(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def api_error(exc: Exception) -> ApiError:
    """The JSON error for a failure of the engine or of PyAV (see docs/media.md, Errors)."""
    torrent = _torrent_error(exc)
    if torrent is not None:
        status = torrent.status if 400 <= torrent.status < 600 else 502
        return ApiError(status, str(getattr(torrent, "message", "") or torrent), code=torrent.code)
    if isinstance(exc, NoFilm):
        return ApiError(404, _("No torrent is available for this film yet."), code="no_torrent")
    if isinstance(exc, WaitingForPeers) or _timed_out(exc):
        return ApiError(
            504, _("The film is not reachable right now: waiting for peers."), code="waiting_for_peers"
        )
    if isinstance(exc, MediaError):
        return ApiError(422, _("This film cannot be played: %(why)s", why=str(exc)), code="unplayable")
    log.warning("streaming failed: %r", exc)
    return ApiError(502, _("The download of this film failed. Please try again later."), code="torrent_error")


async def guard(coro):
    """Awaits `coro`; any failure but an ApiError becomes `api_error(exc)`."""
    try:
        return await coro
    except ApiError:
        raise
    except Exception as exc:  # every failure of the engine or of PyAV becomes a clear JSON error
        raise api_error(exc) from exc
