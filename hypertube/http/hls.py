"""Converted playback: the play plan, HLS playlists and on-demand segments, WebVTT subtitles."""

from aiohttp import web


def setup(app: web.Application) -> None:
    """Adds /stream/{movie_id} (plan), /stream/{movie_id}/hls/* and /stream/{movie_id}/subtitles/*."""
