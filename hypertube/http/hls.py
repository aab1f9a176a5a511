"""Converted playback: the play plan, HLS playlists (the film's own, the master playlist and the
renditions') and on-demand segments, the download status, resume position. Subtitles are in
`stream_subtitles`, the error mapping in `stream_errors`."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from hypertube.catalog.watch import last_position, mark_watched
from hypertube.http import plan as choices
from hypertube.http import stream_subtitles
from hypertube.http.auth import require_user
from hypertube.http.errors import ApiError
from hypertube.http.routing import id_route, path_id
from hypertube.http.stream import copy_choice
from hypertube.http.stream_errors import guard, movie_row
from hypertube.i18n import gettext as _
from hypertube.keys import MEDIA, POOL, RENDITION_MAKER, RENDITIONS, TORRENTS
from hypertube.media.convert import MediaInfo
from hypertube.media.renditions import SOURCE, Rendition, master_playlist, renditions
from hypertube.media.renditions import find as find_rendition
from hypertube.media.segments import playlist as make_playlist
from hypertube.media.service import maybe_await

log = logging.getLogger(__name__)


def _torrent_engine(app: web.Application) -> Any:
    """The process's torrent engine (absent only while the app is starting or stopping)."""
    return app.get(TORRENTS)


async def download_status(app: web.Application, movie_id: int) -> dict[str, Any]:
    engine = _torrent_engine(app)
    if app[MEDIA].is_local(movie_id):
        engine = None  # a film played from a file on disk is complete
    if engine is not None and hasattr(engine, "download_status"):
        try:
            status = await maybe_await(engine.download_status(movie_id))
        except Exception:  # the status is informative; a failure must not break the plan
            log.debug("download status failed", exc_info=True)
            status = None
        if isinstance(status, dict):
            return status
        if status is not None and hasattr(status, "__dict__"):
            return {k: v for k, v in vars(status).items() if not k.startswith("_")}
    return {"progress": 1.0, "peers": 0, "rate": 0, "ready": True, "state": "finished"}


# --- handlers --------------------------------------------------------------------------------------
def _video(info: MediaInfo) -> dict[str, Any]:
    return {
        "codec": info.video_codec,
        "width": info.width,
        "height": info.height,
        "profile": info.profile,
        "bit_depth": info.bit_depth,
        "pix_fmt": info.pix_fmt,
        "rotation": info.rotation,
    }


async def _subtitle_menus(
    app: web.Application, movie_id: int, info: MediaInfo, user_language: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Text subtitles the player can show (never one known to be empty), and image ones it cannot."""
    base = f"/stream/{movie_id}"
    languages = await stream_subtitles.available_subtitles(app, movie_id)
    text = [
        {"lang": lang, "label": choices.label(lang), "url": f"{base}/subtitles/{lang}.vtt"}
        for lang in choices.menu_order(languages, user_language)
    ]
    return text, choices.image_subtitles(info, await app[MEDIA].image_sidecars(movie_id))


async def plan(request: web.Request) -> web.Response:
    user = require_user(request)
    movie_id = path_id(request, "movie_id")
    await movie_row(request, movie_id)
    info = await guard(request.app[MEDIA].info(movie_id))
    base = f"/stream/{movie_id}"
    chosen, audio_tracks = choices.audio_menu(info, base, user.language)
    url = f"{base}/file" if info.kind == "direct" else choices.playlist_url(base, info, chosen)
    subtitles, image_subtitles = await _subtitle_menus(request.app, movie_id, info, user.language)
    status = await download_status(request.app, movie_id)
    # A film with several copies (torrents of several qualities): its URLs name the copy probed, so
    # that a change of copy on the server never mixes two copies' bytes or segments in one player.
    pinned = info.copy if len(status.get("copies") or ()) > 1 else ""
    url = _with_copy(url, pinned)
    for track in audio_tracks:
        track["url"], track["master"] = _with_copy(track["url"], pinned), _with_copy(track["master"], pinned)
    body = {
        "kind": info.kind,
        # The torrent copy this plan plays (its info hash; None for a file on disk): when the status
        # names another copy, the player asks for a new plan.
        "copy": info.copy or None,
        "url": url,
        "urls": [url],
        # The renditions for adaptive streaming (hls.js), with the same audio track; `url` stays the
        # source's own playlist.
        # A film that plays directly has them too when its video can be copied into segments: the
        # player steps down to them when the file comes slower than the film plays.
        **({"master": _with_copy(choices.master_url(base, info, chosen), pinned)} if info.segments else {}),
        "mime": choices.mime(info),
        "subtitles": subtitles,
        "image_subtitles": image_subtitles,
        "duration": round(info.duration, 3),
        "missing": None
        if info.missing_from is None
        else {"from": round(info.missing_from, 3), "promised": round(info.promised or 0.0, 3)},
        "video": _video(info),
        "audio": {
            "codec": chosen.codec if chosen else None,
            "index": chosen.index if chosen else None,
            "lang": chosen.language if chosen else None,
        },
        "audio_tracks": audio_tracks,
        "conversion": {"video": info.video_action, "audio": info.audio_action},
        "position": await last_position(request.app[POOL], user.id, movie_id),
        "status": status,
    }
    if status.get("state") == "finished" and not request.app[MEDIA].is_local(movie_id):
        request.app[RENDITION_MAKER].request(movie_id)  # a whole film: its renditions are made once
    return web.Response(
        body=orjson.dumps(body), content_type="application/json", headers={"Cache-Control": "no-store"}
    )


async def status(request: web.Request) -> web.Response:
    require_user(request)
    movie_id = path_id(request, "movie_id")
    body = await download_status(request.app, movie_id)
    # The renditions' transcodes of this film waiting for a free slot, and running (adaptive streaming).
    body["converter"] = request.app[RENDITIONS].queue(movie_id)
    return web.Response(
        body=orjson.dumps(body, default=str),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _audio_choice(request: web.Request, info: MediaInfo) -> int | None:
    """`?audio=<stream index>`: one of the film's audio tracks (absent: its default track)."""
    raw = request.query.get("audio")
    if raw is None:
        return None
    if not raw.isdigit() or info.audio_track(int(raw)) is None:
        raise ApiError(404, _("This film has no such audio track."), code="not_found")
    return int(raw)


def _with_copy(url: Any, copy: str) -> Any:
    """`url` naming copy `copy` in its query (unchanged without a copy, or when there is no URL)."""
    if not url or not copy:
        return url
    return f"{url}{'&' if '?' in url else '?'}copy={copy}"


def _audio_query(info: MediaInfo, audio: int | None, copy: str = "") -> str:
    """The query that carries a chosen audio track (none for the default track) and the copy the URL
    named on to the next URLs."""
    query = "" if audio is None or audio == info.audio_index else f"?audio={audio}"
    return f"{query}{'&' if query else '?'}copy={copy}" if copy else query


async def _converted(request: web.Request, movie_id: int) -> MediaInfo:
    info = await guard(request.app[MEDIA].info(movie_id, copy_choice(request) or None))
    if info.kind != "hls" and not info.segments:  # a direct film has playlists when it can step down
        raise ApiError(404, _("This film plays directly, without a playlist."), code="not_found")
    return info


def _playlist_response(text: str) -> web.Response:
    return web.Response(
        text=text,
        content_type="application/vnd.apple.mpegurl",
        headers={"Cache-Control": "private, max-age=300"},
    )


def _segment_response(path: Path) -> web.FileResponse:
    return web.FileResponse(
        path, headers={"Content-Type": "video/mp2t", "Cache-Control": "private, max-age=86400"}
    )


def _segment_index(request: web.Request, info: MediaInfo) -> int:
    index = int(request.match_info["index"])
    if not 0 <= index < len(info.segments):
        raise ApiError(404, _("This segment does not exist."), code="not_found")
    return index


def _rendition(request: web.Request, info: MediaInfo) -> Rendition | None:
    """The transcoded rendition the URL names; None for the film's own playlist and segments (the source)."""
    if "rendition" not in request.match_info:
        return None
    found = find_rendition(info, request.match_info["rendition"])
    if found is None or not found.transcoded:
        raise ApiError(404, _("This film has no such rendition."), code="not_found")
    return found


async def playlist(request: web.Request) -> web.Response:
    require_user(request)
    info = await _converted(request, path_id(request, "movie_id"))
    _rendition(request, info)
    query = _audio_query(info, _audio_choice(request, info), copy_choice(request))
    return _playlist_response(make_playlist(info, lambda i: f"{i}.ts{query}"))


async def segment(request: web.Request) -> web.StreamResponse:
    require_user(request)
    movie_id = path_id(request, "movie_id")
    info = await _converted(request, movie_id)
    rendition = _rendition(request, info)
    index = _segment_index(request, info)
    audio = _audio_choice(request, info)
    if rendition is None:
        cut = request.app[MEDIA].segment(movie_id, index, audio=audio, copy=info.copy or None)
    else:
        cut = request.app[RENDITIONS].segment(movie_id, info, rendition, index, audio=audio)
    path = await guard(cut)
    engine = _torrent_engine(request.app)
    if engine is not None:
        engine.audience.segment_requested(movie_id)  # a player between two segments is still watching
    return _segment_response(path)


async def master(request: web.Request) -> web.Response:
    """Adaptive streaming: the renditions of the film; the source's playlist is the film's own index.m3u8."""
    require_user(request)
    info = await _converted(request, path_id(request, "movie_id"))
    query = _audio_query(info, _audio_choice(request, info), copy_choice(request))
    urls = {
        r.name: ("index.m3u8" if r.name == SOURCE else f"{r.name}/index.m3u8") + query
        for r in renditions(info)
    }
    return _playlist_response(master_playlist(info, urls))


async def save_position(request: web.Request) -> web.Response:
    """Remembers where the user stopped (and marks the film watched)."""
    user = require_user(request)
    movie_id = path_id(request, "movie_id")
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise ApiError(400, _("Send a JSON object."), code="bad_request") from None
    position = body.get("position") if isinstance(body, dict) else None
    if isinstance(position, bool) or not isinstance(position, int | float) or not math.isfinite(position):
        raise ApiError(
            422, _("The position must be a number of seconds."), code="validation_error", field="position"
        )
    if not 0 <= position <= 1_000_000:
        raise ApiError(422, _("The position is out of range."), code="validation_error", field="position")
    await movie_row(request, movie_id)
    duration = request.app[MEDIA].known_duration(movie_id)
    await mark_watched(request.app[POOL], user.id, movie_id, float(position), duration)
    return web.Response(body=orjson.dumps({"position": float(position)}), content_type="application/json")


def setup(app: web.Application) -> None:
    """Adds /stream/{movie_id} (plan), /stream/{movie_id}/hls/* (the film's own playlist and segments, the
    master playlist and the renditions') and /stream/{movie_id}/subtitles/*."""
    r = app.router
    r.add_get(id_route("/stream/{movie_id}", "movie_id"), plan)
    r.add_get(id_route("/stream/{movie_id}/status", "movie_id"), status)
    r.add_post(id_route("/stream/{movie_id}/position", "movie_id"), save_position)
    r.add_get(id_route("/stream/{movie_id}/hls/index.m3u8", "movie_id"), playlist)
    r.add_get(id_route(r"/stream/{movie_id}/hls/{index:[0-9]+}.ts", "movie_id"), segment)
    r.add_get(id_route("/stream/{movie_id}/hls/master.m3u8", "movie_id"), master)
    r.add_get(id_route(r"/stream/{movie_id}/hls/{rendition:[0-9]{3,4}p}/index.m3u8", "movie_id"), playlist)
    r.add_get(
        id_route(r"/stream/{movie_id}/hls/{rendition:[0-9]{3,4}p}/{index:[0-9]+}.ts", "movie_id"), segment
    )
    r.add_get(id_route("/stream/{movie_id}/subtitles/{lang}.vtt", "movie_id"), stream_subtitles.subtitle)
