"""With Redis configured, the sign-in limits are shared by every process of the site."""

from __future__ import annotations

import os
import random
import secrets

import aiohttp

from tests.fixtures.accounts import FAST_BCRYPT, post_form


async def test_login_limit_is_shared_through_redis(aiohttp_client, make_app):
    redis_url = os.environ.get("HYPERTUBE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    # A loopback source address of our own and a fresh username: no key is shared with other runs.
    source = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
    clients = [
        await aiohttp_client(
            make_app(bcrypt_cost=FAST_BCRYPT, redis_url=redis_url),
            connector=aiohttp.TCPConnector(local_addr=(source, 0)),
        )
        for _ in range(2)
    ]
    username = "rl" + secrets.token_hex(6)
    statuses = []
    for i in range(11):
        resp = await post_form(
            clients[i % 2], "/login", {"username": username, "password": "Wrong-password-42"}
        )
        statuses.append(resp.status)
    assert statuses == [400] * 10 + [429], statuses
    assert int(resp.headers["Retry-After"]) > 0
