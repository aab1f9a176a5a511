"""Background work of the accounts: the mail outbox sender, the hourly janitor and provider-picture
imports, each a cleanup context that starts its tasks and cancels them at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from hypertube.accounts import mail, reset, sessions, verification
from hypertube.accounts.mail import MailSender
from hypertube.keys import MAIL_SENDER, NODES, PICTURE_IMPORTS, POOL, SETTINGS

log = logging.getLogger(__name__)

JANITOR_PERIOD = 3600


def outbox(app: web.Application) -> MailSender | None:
    """The running mail sender, to wake after queueing a mail (None while it is not started)."""
    return app.get(MAIL_SENDER)


async def picture_imports(app: web.Application):
    """Provider pictures being fetched; cancelled at shutdown."""
    running: set[asyncio.Task] = set()
    app[PICTURE_IMPORTS] = running
    yield
    tasks = list(running)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def mail_sender(app: web.Application):
    sender = MailSender(app[POOL], app[SETTINGS])
    app[MAIL_SENDER] = sender
    task = asyncio.create_task(sender.run(), name="mail-outbox")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def janitor(app: web.Application):
    async def loop() -> None:
        while True:
            try:
                # Shared tables: one node of a cluster purges them per round (the claim lasts a bit
                # less than a period, so that it is free again by the next round).
                if await app[NODES].claim("accounts-janitor", JANITOR_PERIOD * 0.9):
                    pool = app[POOL]
                    await sessions.purge_expired(pool)
                    await reset.purge_old(pool)
                    await verification.purge_old(pool)
                    await mail.purge_sent(pool)
            except Exception:
                log.exception("accounts janitor failed")
            await asyncio.sleep(JANITOR_PERIOD)

    task = asyncio.create_task(loop(), name="accounts-janitor")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
