"""Fixtures for the security tests: the app on a real port with fake providers, browsers on other loopback
addresses, and mail read from the outbox the way its recipient would."""

from __future__ import annotations

import re

import aiohttp
import pytest
from yarl import URL

from tests.fixtures.accounts import FAST_BCRYPT


@pytest.fixture
async def site(aiohttp_client, make_app, fake_providers):
    """A browser on 127.0.0.1 talking to the app on a real port; `.url` is the app's address."""
    client = await aiohttp_client(make_app(bcrypt_cost=FAST_BCRYPT, **fake_providers.settings()))
    client.url = str(client.server.make_url("/")).rstrip("/")
    return client


class Browser:
    """Another browser, on its own loopback address (Linux answers on all of 127.0.0.0/8), with its own
    cookies; offers what the form helpers of tests.fixtures.accounts use from a test client."""

    def __init__(self, base: str, address: str):
        self.base = base
        self.address = address
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(address, 0)),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
        )

    def make_url(self, path: str) -> URL:
        return URL(self.base + path)

    async def request(self, method: str, path: str, **kwargs) -> aiohttp.ClientResponse:
        resp = await self.session.request(method, self.base + path, **kwargs)
        await resp.read()
        return resp

    async def get(self, path: str, **kwargs) -> aiohttp.ClientResponse:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs) -> aiohttp.ClientResponse:
        return await self.request("POST", path, **kwargs)


@pytest.fixture
async def browser(site):
    """`browser("127.0.0.2")` → a Browser on that address; all are closed after the test."""
    made: list[Browser] = []

    def open_on(address: str) -> Browser:
        b = Browser(site.url, address)
        made.append(b)
        return b

    yield open_on
    for b in made:
        await b.session.close()


async def mails_to(db, address: str) -> list[str]:
    """Subject and body of every mail queued for `address`, oldest first."""
    rows = await db.fetch(
        "SELECT subject, body FROM mail_outbox WHERE recipient = $1::text ORDER BY id", address
    )
    return [f"{r['subject']}\n\n{r['body']}" for r in rows]


def link_path(text: str, prefix: str) -> str:
    """The path of the first link in a mail that starts with `prefix` (e.g. /password/reset/)."""
    m = re.search(r"https?://[^/\s]+(" + re.escape(prefix) + r"[A-Za-z0-9_\-]+)", text)
    assert m, f"no {prefix} link in {text!r}"
    return m.group(1)
