"""Streaming endpoints: the play plan, byte ranges, HLS playlists and segments, subtitles."""

from aiohttp import web


def setup(app: web.Application) -> None:
    """Adds /stream routes and opens the torrent engine in a cleanup context."""
