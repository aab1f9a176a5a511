"""Two real nodes behind a real Traefik on loopback, sharing the test PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import html
import os
import re
import secrets
import signal
import threading
import time
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as redis
from yarl import URL

from bench.swarm import SourceSwarm, library_cards
from hypertube.cluster import local, owner, processes
from hypertube.cluster.registry import HEARTBEAT_INTERVAL, NODE_TTL, Node, RedisNodeRegistry
from tests.conftest import TEST_SECRET
from tests.fixtures.accounts import post_form, register
from tests.fixtures.live import forget_redis_prefix, live_token
from tests.fixtures.torrent import TestSeeder

REDIS_URL = os.environ.get("HYPERTUBE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
pytestmark = pytest.mark.slow


class ProxyClient:
    """A cookie-keeping client of the proxy with the test client's `make_url`, for the account helpers."""

    def __init__(self, base: str):
        self.base = URL(base)
        # The cluster is on 127.0.0.1; aiohttp's jar refuses cookies from IP addresses unless told.
        self.session = aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True))

    def make_url(self, path: str) -> URL:
        return self.base.join(URL(path))

    def get(self, path: str, **kwargs):
        return self.session.get(path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.session.post(path, **kwargs)


class BackgroundLoop:
    """An event loop in a thread, for servers that outlive each test's own loop (the module's fake sources)."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="cluster-sources", daemon=True)
        self.thread.start()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def sources(tmp_path_factory, generated_films):
    """Fake YTS and Archive with their tracker and seeder, publishing one film: (swarm, film)."""
    folder = tmp_path_factory.mktemp("sources")
    background = BackgroundLoop()
    seeder = TestSeeder(folder)
    try:
        swarm = background.run(SourceSwarm(folder, seeder).start())
        film = swarm.publish_yts(1, "Cluster Harbor", generated_films["mp4"], piece_size=64 * 1024)
        yield swarm, film
        background.run(swarm.close())
    finally:
        seeder.stop()
        background.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, database_url, sources):
    """Nodes n1 and n2 and Traefik started by the code behind `make cluster`, finding films through
    the fake sources; yields (proxy URL, root, prefix)."""
    root = tmp_path_factory.mktemp("cluster")
    prefix = f"httest:{secrets.token_hex(6)}:"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERTUBE_")}
    env.update(
        HYPERTUBE_DATABASE_URL=database_url,
        HYPERTUBE_REDIS_URL=REDIS_URL,
        HYPERTUBE_REDIS_PREFIX=prefix,
        HYPERTUBE_SECRET_KEY=TEST_SECRET,
        HYPERTUBE_BCRYPT_COST="4",
        **sources[0].environment(),
    )
    port = processes.free_port()
    try:
        local.start(root, port, env, demo=False, timeout=60)
        yield f"http://127.0.0.1:{port}", root, prefix
    finally:
        local.stop(root)
        asyncio.run(forget_redis_prefix(REDIS_URL, prefix))


async def test_requests_reach_both_nodes(cluster):
    base, _, _ = cluster
    seen = set()
    async with aiohttp.ClientSession(base_url=base) as http:
        for _ in range(6):
            async with http.get("/healthz") as resp:
                assert resp.status == 200 and (await resp.json())["status"] == "ok"
                seen.add(resp.headers["X-Hypertube-Node"])
    assert seen == {"n1", "n2"}


@pytest.fixture
async def proxy_client(cluster):
    client = ProxyClient(cluster[0])
    yield client
    await client.session.close()


async def test_a_session_made_on_one_node_works_on_the_other(proxy_client, db):
    resp, data = await register(proxy_client)
    assert resp.status == 303, await resp.text()
    made_on = resp.headers["X-Hypertube-Node"]
    # Round robin: within a few requests one reaches the other node.
    for _ in range(6):
        resp = await proxy_client.get("/profile", allow_redirects=False)
        page = await resp.text()
        if resp.headers["X-Hypertube-Node"] != made_on:
            break
    assert resp.headers["X-Hypertube-Node"] != made_on
    assert resp.status == 200
    assert data["username"] in page


async def test_a_comment_posted_through_one_node_reaches_sockets_on_both(
    cluster, proxy_client, db, make_user, make_movie, live_client
):
    _, _, prefix = cluster
    film = await make_movie()
    token = live_token(await make_user())
    sockets = [await live_client(node.url, token=token) for node in await _live_nodes(prefix)]
    for socket in sockets:
        assert (await socket.call("join", {"movie_id": film}))["ok"]
    resp, _ = await register(proxy_client)
    assert resp.status == 303, await resp.text()
    resp = await post_form(
        proxy_client, f"/movies/{film}/comments", {"comment": "across nodes"}, page=f"/movies/{film}"
    )
    assert resp.status == 303, await resp.text()
    for socket in sockets:
        assert (await socket.wait_for("comment:new"))["text"] == "across nodes"


async def _live_nodes(prefix: str) -> list[Node]:
    watcher = RedisNodeRegistry(REDIS_URL, prefix + "cluster:", Node("watcher", "http://127.0.0.1:1"))
    try:
        return await watcher.live()
    finally:
        await watcher.close()


async def test_the_registry_lists_both_nodes(cluster):
    live = await _live_nodes(cluster[2])
    assert [node.id for node in live] == ["n1", "n2"]
    assert all(node.url.startswith("http://127.0.0.1:") for node in live)


async def test_the_accounts_janitor_runs_once_for_both_nodes(cluster):
    """Both nodes start their janitor at once; one purges the shared tables this round, the other
    leaves it the round (their logs, and the claim in Redis, say which)."""
    _, root, prefix = cluster
    ran = re.compile(r"accounts-janitor: this round runs on this node \((n\d)\)")
    left = re.compile(r"accounts-janitor: this round is node (n\d)'s")
    logs: dict[str, str] = {}
    for _ in range(100):
        logs = {node: (root / f"{node}.log").read_text() for node in ("n1", "n2")}
        if all(ran.search(log) or left.search(log) for log in logs.values()):
            break
        await asyncio.sleep(0.1)
    runs = [m[1] for log in logs.values() for m in ran.finditer(log)]
    assert len(runs) == 1, logs
    [other] = [node for node in logs if node != runs[0]]
    assert [m[1] for m in left.finditer(logs[other])] == runs
    conn = redis.from_url(REDIS_URL, decode_responses=True)
    try:
        assert await conn.get(prefix + "cluster:chore:accounts-janitor") == runs[0]
    finally:
        await conn.aclose()


PLAN_URL = re.compile(r'data-plan="([^"]+)"')
READ = 64 * 1024  # bytes per range request, about what a browser asks for while playing


async def _read_range(proxy_client: ProxyClient, url: str, first: int, size: int) -> tuple[bytes, str] | None:
    """Bytes first.. of the film through the proxy, and the node that sent them; None when it fails."""
    last = min(first + READ, size) - 1
    try:
        async with proxy_client.get(url, headers={"Range": f"bytes={first}-{last}"}) as resp:
            if resp.status != 206:
                return None
            return await resp.read(), resp.headers["X-Hypertube-Node"]
    except aiohttp.ClientError:
        return None


async def _page_plan_url(proxy_client: ProxyClient, movie_id: int) -> str:
    """The plan URL the film page gives its player. A node sees a node that started after it at its
    next heartbeat: until then (just after the cluster started) its pages name no node."""
    deadline = time.monotonic() + HEARTBEAT_INTERVAL + 1.0
    while True:
        page = await (await proxy_client.get(f"/movies/{movie_id}")).text()
        url = html.unescape(PLAN_URL.search(page)[1])
        if "node=" in url or time.monotonic() > deadline:
            return url
        await asyncio.sleep(0.2)


async def test_a_stream_plays_on_after_its_node_is_killed(cluster, sources, proxy_client, db):
    """The player's path through Traefik: the film page's plan URL names the film's node, the film
    plays from it; that node is SIGKILLed mid-film; the reader, retrying without the node's name as
    the player does, goes on from the other node (Traefik sends requests pinned to the dead node there
    once it fails its health check); the dead node leaves the registry within its TTL, and the film's
    plan then comes from the other node, asked with or without the old pin."""
    base, root, prefix = cluster
    film: Path = sources[1].content
    source = await asyncio.to_thread(film.read_bytes)
    resp, _ = await register(proxy_client)
    assert resp.status == 303, await resp.text()
    page = await (await proxy_client.get("/", params={"q": "Cluster Harbor"})).text()
    movie_id = library_cards(page).get("Cluster Harbor")
    assert movie_id is not None, page
    holder = owner(str(movie_id), await _live_nodes(prefix)).id
    plan_url = await _page_plan_url(proxy_client, movie_id)
    assert plan_url == f"/stream/{movie_id}?node={holder}"
    async with proxy_client.get(plan_url, allow_redirects=False) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["X-Hypertube-Node"] == holder
        plan = await resp.json()
    assert plan["kind"] == "direct" and plan["url"] == f"/stream/{movie_id}/file?node={holder}"
    played = bytearray()
    while len(played) < len(source) // 3:
        got = await _read_range(proxy_client, plan["url"], len(played), len(source))
        assert got is not None and got[1] == holder, (len(played), got and got[1])
        played += got[0]

    pid = processes.read_pid(root, holder)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    url, recovered, taker = plan["url"], None, ""
    while len(played) < len(source):
        got = await _read_range(proxy_client, url, len(played), len(source))
        if got is None:
            assert time.monotonic() - killed < 15, "the film did not play on within 15 s"
            url = str(URL(url).without_query_params("node"))  # what player-node.js does
            await asyncio.sleep(0.25)
            continue
        assert got[1] != holder
        recovered = recovered or time.monotonic() - killed
        played += got[0]
        taker = got[1]
    assert bytes(played) == source
    assert recovered is not None and recovered < 10, f"played on after {recovered:.1f} s"
    print(f"\nplayed on {recovered:.2f} s after SIGKILL of its node")
    # Each node has its own row of the film, in its own folder: the new one's, and the dead node's copy,
    # which that node restores and sweeps itself when it comes back.
    rows = await db.fetch("SELECT node_id, save_path FROM downloads WHERE movie_id = $1", movie_id)
    assert sorted(r["node_id"] for r in rows) == sorted([holder, taker])
    assert all(Path(r["save_path"]).is_relative_to(root / r["node_id"]) for r in rows), rows
    while holder in [node.id for node in await _live_nodes(prefix)]:
        assert time.monotonic() - killed < NODE_TTL + 1.0, f"{holder} still listed after its TTL"
        await asyncio.sleep(0.1)
    # The film has a new holder: the player's next start goes there, with or without the old pin.
    for url in (f"/stream/{movie_id}", plan_url):
        async with proxy_client.get(url, allow_redirects=False) as resp:
            assert resp.status == 200, await resp.text()
            assert resp.headers["X-Hypertube-Node"] != holder
    # Traefik retries other requests that meet the dead node on the live one.
    async with aiohttp.ClientSession(base_url=base) as http:
        for _ in range(4):
            async with http.get("/healthz") as resp:
                assert resp.status == 200
                assert resp.headers["X-Hypertube-Node"] != holder
