"""Accounts: bcrypt cost, login, authenticated and silently renewed requests, reset mail latency."""

from __future__ import annotations

import asyncio
import re
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from hypertube.accounts.passwords import hash_password
from hypertube.accounts.tokens import issue_access_token
from hypertube.app import create_app
from hypertube.db import database_url
from hypertube.keys import POOL
from hypertube.settings import Settings

PASSWORD = "Velvet-Harbor-Quartz-58"


async def _timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _row(name: str, samples: list[float], note: str = "") -> dict:
    return {
        "measure": name,
        "n": len(samples),
        "p50_ms": statistics.median(samples),
        "max_ms": max(samples),
        "note": note,
    }


async def _csrf(client: TestClient, path: str) -> str:
    html = await (await client.get(path)).text()
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return m.group(1) if m else ""


async def run() -> list[dict]:
    rows = []
    rows.append(_row("bcrypt hash, cost 12 (thread)", await _timed(lambda: hash_password(PASSWORD, 12), 3)))
    data_dir = Path(tempfile.mkdtemp(prefix="ht-bench-accounts-"))
    async with database_url(None, data_dir) as url:
        settings = Settings(data_dir=data_dir / "var", database_url=url, sources=(), secret_key="b" * 48)
        async with TestClient(TestServer(create_app(settings))) as client:
            origin = {"Origin": str(client.make_url("/")).rstrip("/")}
            name = "bench" + secrets.token_hex(3)
            token = await _csrf(client, "/register")
            form = {
                "csrf_token": token,
                "email": f"{name}@example.org",
                "username": name,
                "first_name": "B",
                "last_name": "Ench",
                "password": PASSWORD,
            }
            t0 = time.perf_counter()
            resp = await client.post("/register", data=form, headers=origin, allow_redirects=False)
            rows.append(
                _row("register (cost 12)", [(time.perf_counter() - t0) * 1000], f"status {resp.status}")
            )

            async def login():
                client.session.cookie_jar.clear(lambda c: c.key in ("access_token", "refresh_token"))
                r = await client.post(
                    "/login",
                    data={"csrf_token": token, "username": name, "password": PASSWORD},
                    headers=origin,
                    allow_redirects=False,
                )
                assert r.status == 303, r.status

            rows.append(_row("login (cost 12)", await _timed(login, 5)))

            async def profile():
                r = await client.get("/profile", allow_redirects=False)
                assert r.status == 200
                await r.read()

            rows.append(_row("GET /profile, valid access token", await _timed(profile, 50)))
            user_id = int(await client.app[POOL].fetchval("SELECT id FROM users WHERE username = $1", name))

            async def renewed():
                expired = issue_access_token(settings.secret_key, user_id, -5)
                client.session.cookie_jar.clear(lambda c: c.key == "access_token")
                client.session.cookie_jar.update_cookies({"access_token": expired})
                await profile()

            rows.append(
                _row(
                    "GET /profile, expired token renewed",
                    await _timed(renewed, 20),
                    "rotates the refresh token",
                )
            )

            mail_dir = settings.data_dir / "mail"

            async def forgot():
                before = len(list(mail_dir.glob("*.eml"))) if mail_dir.is_dir() else 0
                await client.post(
                    "/password/forgot",
                    data={"csrf_token": token, "email": f"{name}@example.org"},
                    headers=origin,
                )
                for _ in range(2000):  # polls the folder, as a mail reader would
                    if (len(list(mail_dir.glob("*.eml"))) if mail_dir.is_dir() else 0) > before:
                        return
                    await asyncio.sleep(0.005)
                raise TimeoutError("no mail file in 10 s")

            rows.append(
                _row("forgot → .eml on disk", await _timed(forgot, 3), "outbox sender woken by an event")
            )
    return rows
