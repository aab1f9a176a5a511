"""The database goes away and comes back: pages and JSON answer 503 with Retry-After meanwhile (never
500), and the server recovers by itself, also when its embedded PostgreSQL was killed."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.faults.support import add_film

pytestmark = pytest.mark.timeout(240)

OUTAGE = 5.0  # seconds the cluster stays down (30 s in the original trial)


@dataclass
class Answer:
    at: float
    path: str
    status: int
    retry_after: str | None
    content_type: str
    body: str


class Prober:
    """Asks for a page and a JSON resource every few tenths of a second and keeps every answer."""

    def __init__(self, viewer, paths: list[str]):
        self.viewer = viewer
        self.paths = paths
        self.answers: list[Answer] = []
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            for path in self.paths:
                headers = {"Accept": "text/html"} if not path.startswith("/stream/") else {}
                try:
                    async with self.viewer.session.get(
                        self.viewer.base + path, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
                    ) as resp:
                        body = await resp.text()
                        self.answers.append(
                            Answer(
                                time.monotonic(),
                                path,
                                resp.status,
                                resp.headers.get("Retry-After"),
                                resp.content_type,
                                body,
                            )
                        )
                except (aiohttp.ClientError, TimeoutError) as exc:
                    self.answers.append(Answer(time.monotonic(), path, 0, None, "", repr(exc)))
            await asyncio.sleep(0.2)

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def wait_healthy_since(self, since: float, limit: float) -> float:
        """Waits until every path answered 200 after `since`; returns when the last of them first did."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            firsts = [
                next((a.at for a in self.answers if a.path == p and a.at > since and a.status == 200), None)
                for p in self.paths
            ]
            if all(firsts):
                return max(f for f in firsts if f)
            await asyncio.sleep(0.1)
        raise AssertionError(f"not recovered in {limit} s: {self.answers[-len(self.paths) :]}")

    def check_answers(self) -> list[Answer]:
        """Every answer was a 200 or a clear 503 with Retry-After; returns the 503s."""
        unavailable = []
        for answer in self.answers:
            assert answer.status in (200, 503), answer
            if answer.status != 503:
                continue
            unavailable.append(answer)
            assert answer.retry_after and answer.retry_after.isdigit(), answer
            if answer.path.startswith("/stream/"):
                assert answer.content_type == "application/json", answer
                assert '"code":"unavailable"' in answer.body.replace(" ", ""), answer
            else:
                assert answer.content_type == "text/html", answer
                assert "<html" in answer.body.lower(), answer
        return unavailable


async def test_cluster_stopped_then_started_503_meanwhile_and_recovery(
    pg_cluster, make_server, make_viewer, figures
):
    server = make_server(pg_cluster.url)
    await server.start()
    viewer = make_viewer(server.base)
    await viewer.sign_up()
    movie = await add_film(pg_cluster.url, "Outage Film")
    prober = Prober(viewer, ["/", f"/stream/{movie}/status"])
    prober.start()
    try:
        await asyncio.sleep(1.0)
        down = time.monotonic()
        await asyncio.to_thread(pg_cluster.stop, "fast")
        stopped = time.monotonic()  # a busy machine can take a while to stop the cluster
        await asyncio.sleep(OUTAGE)
        starting = time.monotonic()  # the cluster may accept connections before pg_ctl returns
        await asyncio.to_thread(pg_cluster.start)
        up = time.monotonic()
        recovered = await prober.wait_healthy_since(up, 30)
    finally:
        await prober.stop()
    unavailable = prober.check_answers()
    assert unavailable, "the outage was seen as 503s"
    during = [a for a in prober.answers if stopped + 0.5 < a.at < starting]
    assert during and all(a.status == 503 for a in during)
    figures.record(
        "database_cluster_outage",
        outage_s=up - down,
        seconds_of_503=max(a.at for a in unavailable) - min(a.at for a in unavailable),
        seconds_to_recover=recovered - up,
        answers=len(prober.answers),
        answers_503=len(unavailable),
    )
    assert recovered - up < 10
    assert "unhandled error" not in server.output()


@pytest.fixture
def outside_pytest_tmp():
    """A folder the embedded server's own user can reach: pytest sets its temporary root back to mode
    0700 whenever a session starts, which locks that user out of folders below it."""
    folder = Path(tempfile.mkdtemp(prefix="ht-faults-embedded-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


async def test_embedded_postgres_killed_is_restarted(make_server, make_viewer, figures, outside_pytest_tmp):
    server = make_server(None, root=outside_pytest_tmp)
    await server.start(wait=150)
    viewer = make_viewer(server.base)
    await viewer.sign_up()
    pidfile = server.data_dir / "pg" / "postmaster.pid"
    pid = int((await asyncio.to_thread(pidfile.read_text)).split()[0])
    prober = Prober(viewer, ["/", "/profile"])
    prober.start()
    try:
        await asyncio.sleep(1.0)
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        recovered = await prober.wait_healthy_since(killed + 0.5, 90)
    finally:
        await prober.stop()
    unavailable = prober.check_answers()
    new_pid = int((await asyncio.to_thread(pidfile.read_text)).split()[0])
    assert new_pid != pid
    output = server.output()
    assert re.search(r"embedded PostgreSQL.*restart", output, re.IGNORECASE), output[-4000:]
    figures.record(
        "embedded_postgres_killed",
        seconds_of_503=(max(a.at for a in unavailable) - min(a.at for a in unavailable))
        if unavailable
        else 0.0,
        seconds_to_recover=recovered - killed,
    )
    assert recovered - killed < 60
