"""The only seeder vanishes mid-download and comes back on the same address: the status says the film
waits for peers meanwhile, and the download carries on by itself within seconds of its return."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

import libtorrent as lt
import pytest
from aiohttp import web

from bench.support import free_port
from tests.faults.support import add_film

pytestmark = pytest.mark.timeout(200)

RATE = 128 * 1024
GONE = 6.0  # seconds the seeder stays away (20 s in the original trial)


class Tracker:
    """An HTTP tracker on loopback that knows one peer (the seeder) and counts the announces."""

    def __init__(self, peer_port: int):
        self.peer_port = peer_port
        self.announces: list[float] = []
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/announce"

    async def announce(self, request: web.Request) -> web.Response:
        self.announces.append(time.monotonic())
        peer = bytes([127, 0, 0, 1]) + self.peer_port.to_bytes(2, "big")
        return web.Response(body=lt.bencode({"interval": 1800, "peers": peer}))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/announce", self.announce)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def tracker():
    trackers: list[Tracker] = []

    async def start(peer_port: int) -> Tracker:
        tracker = Tracker(peer_port)
        await tracker.start()
        trackers.append(tracker)
        return tracker

    yield start
    for t in trackers:
        await t.stop()


@pytest.mark.parametrize("found_by", ["peer_hint", "tracker"])
async def test_a_seeder_that_comes_back_is_used_again(
    found_by, tracker, make_seeder, make_server, make_viewer, scratch_database, fault_films, figures
):
    film = fault_films["mp4"]
    seeder = make_seeder(upload_rate=RATE)
    seeded = await asyncio.to_thread(seeder.seed, film, piece_size=16 * 1024)
    magnet = seeded.magnet
    announces = []
    if found_by == "tracker":
        known = await tracker(seeder.port)
        announces = known.announces
        magnet = f"magnet:?xt=urn:btih:{seeded.info_hash}&dn=film&tr={quote(known.url, safe='')}"
    server = make_server()
    await server.start()
    viewer = make_viewer(server.base)
    await viewer.sign_up()
    movie = await add_film(scratch_database, "Kept Film", magnet=magnet)
    assert len(await viewer.read_range(movie, 0, 1023)) == 1024
    await viewer.wait_status(movie, lambda s: s["progress"] >= 0.15, 60)

    await asyncio.to_thread(seeder.stop)
    gone = time.monotonic()
    waiting = await viewer.wait_status(movie, lambda s: s["state"] == "waiting_for_peers", 30)
    noticed = time.monotonic() - gone
    await asyncio.sleep(max(0.0, GONE - (time.monotonic() - gone)))
    stalled = await viewer.status(movie)
    assert stalled["progress"] < 1.0

    await asyncio.to_thread(seeder.start)
    back = time.monotonic()
    await viewer.wait_status(movie, lambda s: s["peers"] > 0 and s["progress"] > stalled["progress"], 30)
    resumed = time.monotonic() - back
    await viewer.wait_status(movie, lambda s: s["state"] == "finished", 90)
    figures.record(
        f"seeder_gone_and_back_{found_by}",
        announces=len(announces),
        seconds_gone=back - gone,
        seconds_to_notice=noticed,
        progress_when_gone=waiting["progress"],
        seconds_to_resume=resumed,
    )
    assert resumed < 10
