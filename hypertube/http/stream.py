"""Direct play: `/stream/{movie_id}/file` serves the film's video file with byte ranges, piece by piece
while it downloads and with sendfile once it is whole on disk."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter

from hypertube.catalog.watch import mark_watched
from hypertube.http.auth import require_user
from hypertube.http.errors import ApiError
from hypertube.http.routing import id_route, path_id
from hypertube.i18n import gettext as _
from hypertube.keys import POOL, TORRENTS
from hypertube.torrent import TorrentError, TorrentReader
from hypertube.torrent.files import content_type

log = logging.getLogger(__name__)
CHUNK = 256 * 1024
INFO_HASH_RE = re.compile(r"^[0-9a-f]{40}$")
RANGE_RE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
# The one Range form aiohttp's FileResponse reads as we do; it would answer others with 416, where
# `parse_range` sends the whole file or reads the spaces away.
FILE_RESPONSE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
DISCONNECT_CHECK = 0.5  # seconds between checks that the client is still there while a piece is awaited


def copy_choice(request: web.Request) -> str:
    """`?copy=<info hash>`: the copy of the film a play plan named, when the film has several torrents
    (720p, 1080p), in lower-case hex whatever case it came in; "" when absent. A malformed one is a 400."""
    copy = request.query.get("copy", "").lower()
    if copy and not INFO_HASH_RE.match(copy):
        raise ApiError(400, _("The copy must be a torrent's info hash."), code="bad_request")
    return copy


class BadRange(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) byte positions of a `Range: bytes=...` header; None to send the whole file.

    A unit other than bytes, or several ranges, are ignored (the whole file is sent), as RFC 9110 allows;
    a malformed or unsatisfiable byte range raises BadRange (416)."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return None
    m = RANGE_RE.match(spec)
    if not m or (not m.group(1) and not m.group(2)):
        raise BadRange(header)
    first_s, last_s = m.groups()
    if len(first_s) > 19 or len(last_s) > 19:
        raise BadRange(header)
    if not first_s:  # suffix range: the last N bytes
        n = int(last_s)
        if n == 0 or size == 0:
            raise BadRange(header)
        return max(0, size - n), size - 1
    first = int(first_s)
    last = int(last_s) if last_s else size - 1
    if first > last or first >= size:
        raise BadRange(header)
    return first, min(last, size - 1)


async def _watching(request: web.Request, read: Awaitable[bytes]) -> bytes:
    """Awaits a read, giving up as soon as the client has gone away (so its reader is freed)."""
    task = asyncio.ensure_future(read)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=DISCONNECT_CHECK)
            if done:
                return task.result()
            transport = request.transport
            if transport is None or transport.is_closing():
                raise ConnectionResetError("the client went away")
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _chunk_at(reader: TorrentReader, pos: int, end: int) -> int:
    """Bytes from `pos` up to the end of its piece (so each chunk leaves as soon as its piece is verified)."""
    piece = reader.download.piece_size or CHUNK
    absolute = reader._file_start + pos
    to_piece_end = piece - absolute % piece
    return max(1, min(to_piece_end, CHUNK, end + 1 - pos))


def _ranged_response(request: web.Request, reader: TorrentReader) -> tuple[web.StreamResponse, int, int]:
    """The response's status and headers for the asked byte range, with its first and last byte."""
    size = reader.size
    try:
        wanted = parse_range(request.headers.get("Range"), size)
    except BadRange:
        raise ApiError(
            416,
            "The requested byte range is not in this file.",
            code="range_not_satisfiable",
            headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"},
        ) from None
    first, last = wanted if wanted else (0, size - 1)
    response = web.StreamResponse(status=206 if wanted else 200)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Content-Type"] = content_type(reader.name)
    response.headers["Cache-Control"] = "private, no-transform"
    if wanted:
        response.headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    response.content_length = last - first + 1 if size else 0
    return response, first, last


async def _send_range(
    request: web.Request,
    response: web.StreamResponse,
    reader: TorrentReader,
    movie_id: int,
    first: int,
    last: int,
) -> None:
    """Sends bytes first..last of the film's file, each chunk as soon as its piece is verified."""
    reader.expect(first, last + 1)
    try:
        # The first chunk is awaited before the headers go out, so a film that cannot start
        # still gets a clear JSON error instead of a broken response.
        data = await _watching(request, reader.read(first, _chunk_at(reader, first, last)))
    except TorrentError as exc:
        raise ApiError(exc.status, exc.message, code=exc.code) from None
    await response.prepare(request)
    pos = first
    try:
        while True:
            await response.write(data)
            pos += len(data)
            if pos > last or not data:
                break
            data = await _watching(request, reader.read(pos, _chunk_at(reader, pos, last)))
        await response.write_eof()
    except TorrentError as exc:
        # Headers are gone: cutting the connection short is the only honest signal left.
        log.warning("stream of film %s stopped at byte %s: %s", movie_id, pos, exc.message)
        if request.transport is not None:
            request.transport.close()
    except (ConnectionResetError, ConnectionError):
        pass


class _SentFile(web.FileResponse):
    """A FileResponse sent inside the handler: aiohttp's own `prepare` after the handler returns
    finds it sent and does nothing (FileResponse would otherwise try to send it again)."""

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if self.prepared:
            return None
        return await super().prepare(request)


def _from_disk(request: web.Request, reader: TorrentReader) -> bool:
    """Whether the film can go out with sendfile: whole and verified on disk, and a Range header, if
    any, that FileResponse reads the same way as `parse_range`."""
    header = request.headers.get("Range")
    return reader.on_disk() and (header is None or FILE_RESPONSE_RANGE.match(header) is not None)


async def _send_file(request: web.Request, reader: TorrentReader, headers: dict[str, str]) -> _SentFile:
    """Sends the finished film from its file with sendfile; FileResponse answers the range itself."""
    response = _SentFile(reader.path, chunk_size=CHUNK, headers=headers)
    try:
        # Sent here, not after the handler returns, so the reader (and the film with it) stays
        # open for the janitor until the last byte is out.
        await response.prepare(request)
    except ConnectionError:
        pass
    return response


async def stream_file(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    movie_id = path_id(request, "movie_id")
    copy = copy_choice(request)
    try:
        engine = request.app[TORRENTS]
        reader = await (engine.open_reader(movie_id, copy=copy) if copy else engine.open_reader(movie_id))
    except TorrentError as exc:
        raise ApiError(exc.status, exc.message, code=exc.code) from None
    try:
        response, first, last = _ranged_response(request, reader)
        await mark_watched(request.app[POOL], user.id, movie_id)
        if _from_disk(request, reader):
            kept = ("Content-Type", "Cache-Control")
            return await _send_file(request, reader, {name: response.headers[name] for name in kept})
        if request.method == "HEAD" or reader.size == 0:
            await response.prepare(request)
            await response.write_eof()
        else:
            await _send_range(request, response, reader, movie_id, first, last)
        return response
    finally:
        reader.close()


def setup(app: web.Application) -> None:
    """Adds /stream/{movie_id}/file."""
    app.router.add_get(id_route("/stream/{movie_id}/file", "movie_id"), stream_file, name="stream_file")
