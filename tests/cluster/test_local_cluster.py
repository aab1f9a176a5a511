"""Two real nodes behind a real Traefik on loopback, sharing the test PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time

import aiohttp
import pytest
from yarl import URL

from hypertube.cluster import local, processes
from hypertube.cluster.registry import NODE_TTL, Node, RedisNodeRegistry
from tests.conftest import TEST_SECRET
from tests.fixtures.accounts import post_form, register
from tests.fixtures.live import forget_redis_prefix, live_token

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


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, database_url):
    """Nodes n1 and n2 and Traefik started by the code behind `make cluster`; yields (proxy URL, root, prefix)."""
    root = tmp_path_factory.mktemp("cluster")
    prefix = f"httest:{secrets.token_hex(6)}:"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERTUBE_")}
    env.update(
        HYPERTUBE_DATABASE_URL=database_url,
        HYPERTUBE_REDIS_URL=REDIS_URL,
        HYPERTUBE_REDIS_PREFIX=prefix,
        HYPERTUBE_SECRET_KEY=TEST_SECRET,
        HYPERTUBE_BCRYPT_COST="4",
        HYPERTUBE_SOURCES="",
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


async def test_a_killed_node_leaves_the_registry_within_its_ttl(cluster):
    base, root, prefix = cluster
    pid = processes.read_pid(root, "n2")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    while "n2" in [node.id for node in await _live_nodes(prefix)]:
        assert time.monotonic() - killed < NODE_TTL + 1.0, "n2 still listed after its TTL"
        await asyncio.sleep(0.1)
    # Traefik retries a request that met the dead node on the live one.
    async with aiohttp.ClientSession(base_url=base) as http:
        for _ in range(4):
            async with http.get("/healthz") as resp:
                assert resp.status == 200
                assert resp.headers["X-Hypertube-Node"] == "n1"
