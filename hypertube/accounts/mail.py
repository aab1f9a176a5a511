"""The mail outbox: mails are rows first, then a background sender delivers them over SMTP with retries,
or, when no SMTP server is configured, writes them as `.eml` files under the data dir and logs the path."""

from __future__ import annotations

import asyncio
import logging
import os
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlparse

import aiosmtplib
import asyncpg

from hypertube.accounts.users import Executor
from hypertube.settings import Settings

log = logging.getLogger(__name__)
MAX_BACKOFF = 600.0
BATCH = 20
LEASE_SECONDS = 120  # a mail being sent is hidden from other senders this long


async def enqueue(db: Executor, recipient: str, subject: str, body: str) -> int:
    """Adds a mail to the outbox (inside the caller's transaction); wake the sender afterwards."""
    return await db.fetchval(
        "INSERT INTO mail_outbox (recipient, subject, body) VALUES ($1, $2, $3) RETURNING id",
        recipient,
        subject,
        body,
    )


def build_message(row, mail_from: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = row["recipient"]
    msg["Subject"] = row["subject"]
    msg["Date"] = format_datetime(row["created_at"])
    msg["Message-ID"] = make_msgid(idstring=f"outbox{row['id']}", domain="hypertube.local")
    msg.set_content(row["body"])
    return msg


class MailSender:
    """Delivers the outbox. `wake()` after enqueueing makes it look at once instead of at its next timer."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, *, backoff: float = 5.0):
        self.pool = pool
        self.settings = settings
        self.backoff = backoff
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.send_due()
                delay = await self._seconds_to_next()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.exception("mail outbox: could not read the queue")
                delay = 5.0
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def _seconds_to_next(self) -> float:
        seconds = await self.pool.fetchval(
            """SELECT EXTRACT(EPOCH FROM min(next_attempt_at) - now()) FROM mail_outbox WHERE sent_at IS NULL"""
        )
        if seconds is None:
            return 60.0
        return min(60.0, max(0.05, float(seconds)))

    async def send_due(self) -> int:
        """Sends every mail whose time has come; returns how many were delivered."""
        rows = await self.pool.fetch(
            """UPDATE mail_outbox SET next_attempt_at = now() + make_interval(secs => $1)
               WHERE id IN (SELECT id FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at <= now()
                            ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
               RETURNING id, recipient, subject, body, created_at, attempts""",
            float(LEASE_SECONDS),
            BATCH,
        )
        delivered = 0
        for row in sorted(rows, key=lambda r: r["id"]):
            try:
                where = await self._deliver(row)
            except Exception as exc:  # any SMTP or disk failure: keep the mail and try again later
                attempts = row["attempts"] + 1
                wait = min(MAX_BACKOFF, self.backoff * 2 ** min(attempts - 1, 20))
                await self.pool.execute(
                    """UPDATE mail_outbox SET attempts = $2, last_error = $3,
                              next_attempt_at = now() + make_interval(secs => $4) WHERE id = $1""",
                    row["id"],
                    attempts,
                    f"{type(exc).__name__}: {exc}"[:500],
                    wait,
                )
                log.warning(
                    "mail %s to %s not sent (%s); retry in %.1f s", row["id"], row["recipient"], exc, wait
                )
                continue
            await self.pool.execute(
                "UPDATE mail_outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1",
                row["id"],
            )
            log.info("mail %s to %s delivered %s", row["id"], row["recipient"], where)
            delivered += 1
        return delivered

    async def _deliver(self, row) -> str:
        msg = build_message(row, self.settings.mail_from)
        url = self.settings.smtp_url
        if not url:
            path = await asyncio.to_thread(self._write_eml, row["id"], msg)
            return f"as file {path}"
        p = urlparse(url)
        await aiosmtplib.send(
            msg,
            hostname=p.hostname or "localhost",
            port=p.port or (465 if p.scheme == "smtps" else 25),
            username=unquote(p.username) if p.username else None,
            password=unquote(p.password) if p.password else None,
            use_tls=p.scheme == "smtps",
            timeout=20,
        )
        return f"through {p.hostname}:{p.port or ''}"

    def _write_eml(self, mail_id: int, msg: EmailMessage) -> Path:
        folder = self.settings.mail_dir
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{mail_id:010d}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(msg))
        os.replace(tmp, path)  # readers never see half a file
        return path


async def purge_sent(db: Executor, days: int = 30) -> None:
    await db.execute("DELETE FROM mail_outbox WHERE sent_at < now() - make_interval(days => $1)", days)
