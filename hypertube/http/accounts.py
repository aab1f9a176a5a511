"""Account pages: register, login, logout, OAuth sign-in, password reset, profiles."""

from aiohttp import web


def setup(app: web.Application) -> None:
    """Adds the account routes and their background workers (mail outbox sender)."""
