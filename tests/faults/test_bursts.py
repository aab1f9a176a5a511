"""Bursts and races on the account forms: a login burst is refused cleanly (no 500, the server keeps
answering), and concurrent registrations of one username make exactly one account."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from tests.faults.support import PASSWORD

pytestmark = pytest.mark.timeout(180)

LOGINS = 300  # 1,000 in the original trial
REGISTRATIONS = 12


async def test_a_login_burst_is_refused_cleanly(make_server, make_viewer, scratch_database, figures):
    server = make_server()
    await server.start()
    member = make_viewer(server.base)
    await member.sign_up("member")
    attacker = make_viewer(server.base)
    token = await attacker.csrf("/login")

    async def attempt(i: int) -> int:
        resp = await attacker.post_form("/login", {"username": "member", "password": f"guess {i}"}, token)
        return resp.status

    latencies: list[float] = []

    async def health() -> None:
        while True:
            started = time.monotonic()
            async with member.session.get(server.base + "/healthz") as resp:
                assert resp.status == 200
            latencies.append(time.monotonic() - started)
            await asyncio.sleep(0.1)

    watcher = asyncio.ensure_future(health())
    started = time.monotonic()
    try:
        statuses = await asyncio.gather(*(attempt(i) for i in range(LOGINS)))
    finally:
        watcher.cancel()
    took = time.monotonic() - started
    await asyncio.gather(watcher, return_exceptions=True)
    assert set(statuses) <= {400, 429}, sorted(set(statuses))
    assert statuses.count(400) <= 30  # the per-address limit
    async with member.session.get(server.base + "/profile", allow_redirects=False) as resp:
        assert resp.status == 200  # the member is still signed in
    figures.record(
        "login_burst",
        logins=LOGINS,
        seconds=took,
        refused_429=statuses.count(429),
        max_health_latency_s=max(latencies, default=0.0),
    )
    assert "Traceback" not in server.output()


async def test_concurrent_registrations_of_one_username_make_one_account(
    make_server, make_viewer, scratch_database, figures
):
    server = make_server()
    await server.start()
    viewers = [make_viewer(server.base) for _ in range(REGISTRATIONS)]
    tokens = await asyncio.gather(*(v.csrf("/register") for v in viewers))

    async def register(i: int) -> int:
        form = {
            "email": f"racer{i}@example.org",
            "username": "racer",
            "first_name": "Race",
            "last_name": "Condition",
            "password": PASSWORD,
        }
        resp = await viewers[i].post_form("/register", form, tokens[i])
        return resp.status

    statuses = await asyncio.gather(*(register(i) for i in range(REGISTRATIONS)))
    assert sorted(statuses) == [303] + [400] * (REGISTRATIONS - 1), statuses
    conn = await asyncpg.connect(scratch_database)
    try:
        accounts = await conn.fetchval("SELECT count(*) FROM users WHERE lower(username) = 'racer'")
    finally:
        await conn.close()
    assert accounts == 1
    figures.record("concurrent_registrations", attempts=REGISTRATIONS, accounts=accounts)
    assert "Traceback" not in server.output()
