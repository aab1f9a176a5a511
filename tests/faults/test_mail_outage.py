"""The SMTP server is down when a mail is due (and the web server is even killed meanwhile): the mail
waits in the outbox and leaves once SMTP is back."""

from __future__ import annotations

import asyncio
import time

import pytest

pytestmark = pytest.mark.timeout(180)

DOWN = 4.0  # seconds SMTP stays down (a minute in the original trial)


async def _delivered(smtp, limit: float) -> float:
    end = time.monotonic() + limit
    while not smtp.inbox.messages:
        assert time.monotonic() < end, "the mail was not delivered"
        await asyncio.sleep(0.1)
    return time.monotonic()


async def test_a_mail_due_while_smtp_is_down_leaves_when_it_is_back(
    smtp_down, make_server, make_viewer, scratch_database, figures
):
    server = make_server(smtp_url=smtp_down.url)
    await server.start()
    viewer = make_viewer(server.base)
    await viewer.sign_up("mailed")  # queues the address confirmation mail
    await asyncio.sleep(DOWN)
    await asyncio.to_thread(smtp_down.start)
    up = time.monotonic()
    arrived = await _delivered(smtp_down, 60)
    message = smtp_down.inbox.messages[0]
    assert message["to"] == ["mailed@example.org"]
    assert "/verify" in message["data"] or "confirm" in message["data"].lower()
    figures.record("smtp_down_then_up", seconds_down=DOWN, seconds_to_deliver_after_up=arrived - up)


async def test_a_queued_mail_survives_kill_9_while_smtp_is_down(
    smtp_down, make_server, make_viewer, scratch_database, figures
):
    server = make_server(smtp_url=smtp_down.url)
    await server.start()
    viewer = make_viewer(server.base)
    await viewer.sign_up("survivor")
    await asyncio.sleep(1.0)
    server.kill()
    await asyncio.to_thread(smtp_down.start)
    await server.start()
    up = time.monotonic()
    arrived = await _delivered(smtp_down, 60)
    assert len(smtp_down.inbox.messages) == 1
    assert smtp_down.inbox.messages[0]["to"] == ["survivor@example.org"]
    figures.record("smtp_down_server_killed", seconds_to_deliver_after_restart=arrived - up)
