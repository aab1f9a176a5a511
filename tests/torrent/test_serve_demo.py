"""`hypertube serve --demo` as a newcomer runs it: its own process on an empty data dir, embedded
PostgreSQL, a generated secret key, the demo films generated and seeded on loopback, listed in the
library and each one playable (direct byte ranges or HLS segments), and a clean stop on Ctrl-C."""

from __future__ import annotations

import asyncio
import inspect
import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import av
import pytest

from bench.support import free_port, wait_healthy
from hypertube.media.generate import DEMO_SPECS, generate_demo_films

pytestmark = pytest.mark.timeout(300)


DEMO_SECONDS = inspect.signature(generate_demo_films).parameters["duration_s"].default


def _demo_films(data: Path) -> dict[str, Path]:
    """Title → video file of each demo film, where the first start generates them."""
    return {
        title: data / "demo" / "films" / slug / f"{slug}.{container}"
        for slug, title, container, *_ in DEMO_SPECS
    }


def _start(port: int, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hypertube", "serve", "--demo", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _register(session: aiohttp.ClientSession, base: str) -> None:
    async with session.get(base + "/register") as resp:
        html = await resp.text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token, "the register form carries a CSRF token"
    form = {
        "csrf_token": token.group(1),
        "email": "newcomer@example.org",
        "username": "newcomer",
        "first_name": "New",
        "last_name": "Comer",
        "password": "a long and quiet evening",
    }
    async with session.post(
        base + "/register", data=form, headers={"Origin": base}, allow_redirects=False
    ) as resp:
        assert resp.status == 303, await resp.text()


def _decodes(segment: bytes) -> int:
    """Video frames PyAV decodes from one MPEG-TS segment."""
    with av.open(io.BytesIO(segment), format="mpegts") as container:
        return sum(1 for _ in container.decode(video=0))


async def test_serve_demo_starts_from_nothing_and_plays_every_film(tmp_path):
    data = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERTUBE_")}
    env.update(HYPERTUBE_DATA_DIR=str(data), HYPERTUBE_LOG_LEVEL="WARNING", HYPERTUBE_SOURCES="")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    server = await asyncio.to_thread(_start, port, env, tmp_path, log)
    try:
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            try:
                await wait_healthy(session, base, 180, server)
            except RuntimeError as exc:
                raise AssertionError(f"{exc}:\n{await asyncio.to_thread(log.read_text)}") from None
            assert (data / "secret_key").stat().st_mode & 0o777 == 0o600
            await _register(session, base)

            # The films are seeded in the background while the server already answers; meanwhile the
            # library says so.
            movies: list[str] = []
            for _ in range(600):
                async with session.get(base + "/") as resp:
                    assert resp.status == 200
                    library = await resp.text()
                movies = list(dict.fromkeys(re.findall(r'href="/movies/(\d+)"', library)))
                if movies:
                    break
                assert "data-demo-pending" in library
                await asyncio.sleep(0.1)
            assert len(movies) == 4, library
            films = _demo_films(data)
            for title in films:
                assert title in library
            heads = await asyncio.to_thread(lambda: {v.read_bytes()[:65536] for v in films.values()})

            kinds = []
            for movie in movies:
                async with session.get(f"{base}/stream/{movie}") as resp:
                    assert resp.status == 200, await resp.text()
                    plan = await resp.json()
                kinds.append(plan["kind"])
                assert abs(plan["duration"] - DEMO_SECONDS) <= 0.5
                if plan["kind"] == "direct":
                    async with session.get(base + plan["url"], headers={"Range": "bytes=0-65535"}) as resp:
                        assert resp.status == 206
                        assert resp.headers["Content-Range"].startswith("bytes 0-65535/")
                        assert await resp.read() in heads
                    continue
                async with session.get(base + plan["url"]) as resp:
                    assert resp.status == 200
                    segments = [line for line in (await resp.text()).splitlines() if line.endswith(".ts")]
                assert len(segments) >= 2
                late = segments[int(len(segments) * 0.7)]
                async with session.get(base + "/stream/" + movie + "/hls/" + late.rpartition("/")[2]) as resp:
                    assert resp.status == 200, await resp.text()
                    assert resp.headers["Content-Type"].startswith("video/mp2t")
                    segment = await resp.read()
                assert await asyncio.to_thread(_decodes, segment) > 0
                for track in plan["subtitles"]:
                    async with session.get(base + track["url"]) as resp:
                        assert resp.status == 200
                        assert (await resp.text()).startswith("WEBVTT")
            assert sorted(kinds) == ["direct", "hls", "hls", "hls"]
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            code = await asyncio.to_thread(server.wait, 30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    output = await asyncio.to_thread(log.read_text)
    assert code == 0, output
    assert "Traceback" not in output, output
