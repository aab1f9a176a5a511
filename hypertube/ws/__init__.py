"""Socket.IO: comments, chat, download progress and watch parties, authenticated on connect."""

from aiohttp import web


def setup(app: web.Application) -> None:
    """Attaches the Socket.IO server to the app."""
