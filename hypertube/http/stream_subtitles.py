"""Subtitles of a film for the player: the languages each source offers (files shipped with the film,
tracks inside the container, OpenSubtitles) and `/stream/{movie_id}/subtitles/{lang}.vtt`."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from hypertube.http.auth import require_user
from hypertube.http.errors import ApiError
from hypertube.http.routing import path_id
from hypertube.http.stream_errors import guard, movie_row
from hypertube.i18n import LANGUAGE_NAMES
from hypertube.i18n import gettext as _
from hypertube.keys import CACHE, HTTP, MEDIA, OPENSUBTITLES_FILES, POOL, SETTINGS
from hypertube.media.opensubtitles import OpenSubtitles
from hypertube.media.service import SubtitleFile
from hypertube.media.subtitles import convert_to_vtt

log = logging.getLogger(__name__)

SUBTITLE_LANGUAGES = ("en", *[code for code in LANGUAGE_NAMES if code != "en"])


async def _opensubtitles_files(app: web.Application, movie_id: int) -> dict[str, int]:
    settings = app[SETTINGS]
    if not settings.opensubtitles_key:
        return {}
    known = app[OPENSUBTITLES_FILES]
    if movie_id in known:
        return known[movie_id]
    imdb_id = await app[POOL].fetchval("SELECT imdb_id FROM movies WHERE id = $1", movie_id)
    files: dict[str, int] = {}
    if imdb_id:
        client = OpenSubtitles(app[HTTP], settings.opensubtitles_url, settings.opensubtitles_key, app[CACHE])
        try:
            files = await client.search(imdb_id, list(SUBTITLE_LANGUAGES))
        except Exception as exc:  # an unreachable or busy service only means fewer subtitles for now
            log.info("OpenSubtitles search failed: %r", exc)
            return {}  # not kept: the film is asked about again once the service answers
    known[movie_id] = files
    return files


async def _local_sources(app: web.Application, movie_id: int) -> tuple[set[str], dict[str, SubtitleFile]]:
    """Languages of the tracks inside the container, and the subtitle files shipped with the film."""
    media = app[MEDIA]
    embedded: set[str] = set()
    sidecars: dict[str, SubtitleFile] = {}
    try:
        sidecars = await media.sidecar_subtitles(movie_id)
        info = await media.info(movie_id)
        embedded = {t.language for t in info.subtitles}
    except Exception as exc:  # no film (yet): no local subtitles
        log.debug("no local subtitles for %s: %r", movie_id, exc)
    return embedded, sidecars


async def available_subtitles(app: web.Application, movie_id: int) -> list[str]:
    """Languages (ISO 639-1) that `/stream/{movie_id}/subtitles/{lang}.vtt` can serve."""
    embedded, sidecars = await _local_sources(app, movie_id)
    online = await _opensubtitles_files(app, movie_id)
    empty = await app[MEDIA].empty_subtitles(movie_id)  # converted already, to no cue at all
    return sorted((embedded | set(sidecars) | set(online)) - empty)


async def known_subtitles(app: web.Application, movie_id: int) -> list[str]:
    """Languages found without opening the film: OpenSubtitles' (when configured) and the subtitle
    files of a torrent whose metadata is already here. Starts no download."""
    sidecars = await app[MEDIA].sidecar_subtitles(movie_id, start=False)
    online = await _opensubtitles_files(app, movie_id)
    return sorted(set(sidecars) | set(online))


async def _build_vtt(app: web.Application, movie_id: int, lang: str) -> str | None:
    media = app[MEDIA]
    embedded, sidecars = await _local_sources(app, movie_id)
    if lang in sidecars:
        return await media.load_subtitle_file(movie_id, sidecars[lang])
    if lang in embedded:
        return await media.embedded_vtt(movie_id, lang)
    files = await _opensubtitles_files(app, movie_id)
    if lang in files:
        settings = app[SETTINGS]
        client = OpenSubtitles(
            app[HTTP], settings.opensubtitles_url, settings.opensubtitles_key or "", app[CACHE]
        )
        try:
            data = await client.download(files[lang])
        except Exception as exc:
            log.info("OpenSubtitles download failed: %r", exc)
            return None
        if data:
            return await asyncio.to_thread(convert_to_vtt, data, "")
    return None


async def subtitle(request: web.Request) -> web.Response:
    require_user(request)
    movie_id = path_id(request, "movie_id")
    lang = request.match_info["lang"].lower()
    if len(lang) != 2 or not lang.isalpha() or not lang.isascii():
        raise ApiError(404, _("No subtitles in this language."), code="not_found")
    await movie_row(request, movie_id)
    media = request.app[MEDIA]
    text = await guard(media.cached_vtt(movie_id, lang, lambda: _build_vtt(request.app, movie_id, lang)))
    if text is None or "-->" not in text:  # a track that converts to no cue is not offered either
        raise ApiError(404, _("No subtitles in this language."), code="not_found")
    return web.Response(
        text=text,
        content_type="text/vtt",
        charset="utf-8",
        headers={"Cache-Control": "private, max-age=86400"},
    )
