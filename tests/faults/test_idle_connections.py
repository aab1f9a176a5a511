"""Hundreds of half-sent requests from one address: most are refused at once, the rest are closed when
the header timeout runs out, and other clients are served all along."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

pytestmark = pytest.mark.timeout(120)

CONNECTIONS = 200
HEADER_TIMEOUT = 3.0
HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "  # never finished


async def _half_sent(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEAD)
    await writer.drain()
    return reader, writer  # the writer is kept: dropping it would close the connection from this side


async def _closed_at(reader: asyncio.StreamReader, limit: float) -> float | None:
    """When the server closed the connection (time.monotonic), None if still open after `limit`."""
    try:
        while await asyncio.wait_for(reader.read(4096), limit):
            pass
    except (TimeoutError, ConnectionError):
        return None
    return time.monotonic()


async def test_half_sent_requests_are_capped_and_timed_out(make_server, scratch_database, figures):
    server = make_server(header_timeout=str(HEADER_TIMEOUT))
    await server.start()
    opened = time.monotonic()
    connections = await asyncio.gather(*(_half_sent(server.port) for _ in range(CONNECTIONS)))
    watchers = [asyncio.ensure_future(_closed_at(r, HEADER_TIMEOUT + 15)) for r, _ in connections]

    # Meanwhile, a client that sends whole requests is served as usual.
    async with aiohttp.ClientSession() as session:
        for _ in range(5):
            async with session.get(server.base + "/healthz") as resp:
                assert resp.status == 200
            await asyncio.sleep(0.2)
    await asyncio.sleep(max(0.0, opened + 1.5 - time.monotonic()))
    open_after_cap = sum(1 for w in watchers if not w.done())

    closed = await asyncio.gather(*watchers)
    for _, writer in connections:
        writer.close()
    assert all(at is not None for at in closed), "every half-sent request was closed in the end"
    last = max(at for at in closed if at is not None) - opened
    figures.record(
        "half_sent_requests",
        connections=CONNECTIONS,
        still_open_after_1_5_s=open_after_cap,
        header_timeout_s=HEADER_TIMEOUT,
        seconds_until_all_closed=last,
    )
    assert open_after_cap < CONNECTIONS // 2
    assert last < HEADER_TIMEOUT + 5
