"""Node identity, the X-Hypertube-Node header and the node registry in Redis."""

from __future__ import annotations

import asyncio

import pytest

from hypertube.cluster import Node, ensure_node_identity, make_registry, node_url_for
from hypertube.cluster.registry import LoneRegistry, RedisNodeRegistry
from hypertube.keys import NODES
from hypertube.settings import Settings, SettingsError, load_settings


def test_node_id_is_generated_once_into_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path)
    first = ensure_node_identity(settings)
    assert first.node_id and first.node_id == ensure_node_identity(settings).node_id
    assert (tmp_path / "node_id").read_text().strip() == first.node_id
    assert first.node_url == settings.base_url
    configured = ensure_node_identity(settings.replace(node_id="n7", node_url="http://10.1.2.3:8000"))
    assert (configured.node_id, configured.node_url) == ("n7", "http://10.1.2.3:8000")


def test_node_url_from_the_serve_address():
    assert node_url_for("127.0.0.1", 8001) == "http://127.0.0.1:8001"
    assert node_url_for("::1", 8001) == "http://[::1]:8001"
    assert node_url_for("0.0.0.0", 8001).endswith(":8001") and "0.0.0.0" not in node_url_for("0.0.0.0", 8001)


@pytest.mark.parametrize(
    "env",
    [{"HYPERTUBE_NODE_ID": "n 1"}, {"HYPERTUBE_NODE_ID": "-x"}, {"HYPERTUBE_NODE_URL": "10.0.0.1:8000"}],
)
def test_bad_node_settings_are_refused(env):
    with pytest.raises(SettingsError) as err:
        load_settings(env=env, dotenv=None)
    assert "HYPERTUBE_NODE_" in str(err.value)


async def test_every_response_names_the_node(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(node_id="node-a"))
    for path in ("/healthz", "/login", "/no/such/page", "/api/v1/movies", "/static/css/app.css"):
        resp = await client.get(path)
        assert resp.headers["X-Hypertube-Node"] == "node-a", path


async def test_without_redis_the_node_is_alone(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(node_id="solo"))
    registry = client.server.app[NODES]
    assert isinstance(registry, LoneRegistry)
    assert [node.id for node in await registry.live()] == ["solo"]


async def test_nodes_register_in_redis_and_leave(aiohttp_client, make_app, redis_settings):
    one = await aiohttp_client(make_app(node_id="one", **redis_settings))
    two = await aiohttp_client(make_app(node_id="two", **redis_settings))
    live = await one.server.app[NODES].live()
    assert [node.id for node in live] == ["one", "two"]
    assert live[1].url == two.server.app[NODES].node.url
    await two.close()
    assert [node.id for node in await one.server.app[NODES].live()] == ["one"]


async def test_a_node_that_stops_beating_expires(redis_settings):
    url, prefix = redis_settings["redis_url"], redis_settings["redis_prefix"] + "cluster:"
    watcher = make_registry(url, prefix, Node("watcher", "http://127.0.0.1:1"))
    silent = RedisNodeRegistry(url, prefix, Node("silent", "http://127.0.0.1:2"), ttl=0.3)
    try:
        await watcher.beat()
        await silent.beat()
        assert [node.id for node in await watcher.live()] == ["silent", "watcher"]
        await asyncio.sleep(0.5)
        assert [node.id for node in await watcher.live()] == ["watcher"]
    finally:
        await silent.close()
        await watcher.close()


async def test_a_shared_chore_runs_on_one_node_per_round(redis_settings):
    url, prefix = redis_settings["redis_url"], redis_settings["redis_prefix"] + "cluster:"
    one = RedisNodeRegistry(url, prefix, Node("one", "http://127.0.0.1:1"))
    two = RedisNodeRegistry(url, prefix, Node("two", "http://127.0.0.1:2"))
    try:
        claims = await asyncio.gather(one.claim("sweep", 0.3), two.claim("sweep", 0.3))
        assert sorted(claims) == [False, True]
        assert not await one.claim("sweep", 0.3) and not await two.claim("sweep", 0.3)
        await asyncio.sleep(0.4)
        assert await two.claim("sweep", 0.3)  # the next round, whoever asks first
    finally:
        await one.close()
        await two.close()
    alone = LoneRegistry(Node("alone", "http://127.0.0.1:3"))
    assert await alone.claim("sweep", 3600) and await alone.claim("sweep", 3600)
