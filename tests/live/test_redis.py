"""Two app instances on two ports share rooms, events, limits and party state through the real Redis."""

from __future__ import annotations

import asyncio

import pytest

from hypertube.catalog import comments
from hypertube.keys import EVENTS, NODES, POOL
from hypertube.ws.chat import CHAT_LIMIT
from hypertube.ws.group import MAX_WAIT
from hypertube.ws.store import MemoryStore, RedisStore
from tests.conftest import TEST_SECRET
from tests.faults.support import ServerProcess
from tests.fixtures.live import live_token


@pytest.fixture
async def two_servers(aiohttp_server, make_app, redis_settings):
    first = await aiohttp_server(make_app(**redis_settings))
    second = await aiohttp_server(make_app(**redis_settings))
    return first, second


def _url(server) -> str:
    return str(server.make_url("/")).rstrip("/")


async def test_two_processes_share_chat_comments_presence_and_parties(
    two_servers, make_user, make_movie, live_client
):
    s1, s2 = two_servers
    alice, bob = await make_user(), await make_user()
    film = await make_movie()
    a = await live_client(_url(s1), token=live_token(alice))
    b = await live_client(_url(s2), token=live_token(bob))
    await a.call("join", {"movie_id": film, "party": "shared-party"})
    joined = await b.call("join", {"movie_id": film, "party": "shared-party"})
    assert {u["username"] for u in joined["presence"]} == {alice.username, bob.username}
    await a.wait_for("presence", lambda p: len(p["users"]) == 2)

    await a.call("chat:send", {"movie_id": film, "text": "from the first process"})
    assert (await b.wait_for("chat:message"))["author"] == alice.username

    app1 = s1.app
    created = await comments.create_comment(
        app1[POOL], app1[EVENTS], user_id=alice.id, movie_id=film, body="hi"
    )
    assert (await b.wait_for("comment:new"))["id"] == created["id"]

    await s1.app[EVENTS].publish(
        "download:progress",
        {"movie_id": film, "progress": 0.5, "rate": 10, "peers": 1, "ready": True},
        room=f"movie:{film}",
    )
    assert (await b.wait_for("download:progress"))["progress"] == 0.5

    await b.call("party:play", {"movie_id": film, "position": 42})
    assert (await a.wait_for("party:state"))["position"] == 42
    late = await live_client(_url(s1), token=live_token(await make_user()))
    state = (await late.call("join", {"movie_id": film, "party": "shared-party"}))["party"]
    assert state["playing"] is True and state["position"] >= 42

    await b.sio.disconnect()
    await a.wait_for(
        "presence", lambda p: len(p["users"]) == 2 and bob.username not in {u["username"] for u in p["users"]}
    )


async def test_chat_limit_holds_across_processes(two_servers, make_user, make_movie, live_client):
    s1, s2 = two_servers
    user = await make_user()
    film = await make_movie()
    one = await live_client(_url(s1), token=live_token(user))
    two = await live_client(_url(s2), token=live_token(user))
    await one.call("join", {"movie_id": film})
    await two.call("join", {"movie_id": film})
    for i in range(CHAT_LIMIT):
        assert (await one.call("chat:send", {"movie_id": film, "text": f"m{i}"}))["ok"]
    assert (await two.call("chat:send", {"movie_id": film, "text": "over"}))["error"][
        "code"
    ] == "rate_limited"


async def test_a_party_group_waits_across_processes_and_keeps_every_member(
    two_servers, make_user, make_movie, live_client
):
    """Members on two processes: joins at the same moment are all kept, and a seek on one process
    waits for a player on the other."""
    s1, s2 = two_servers
    film = await make_movie()
    code = "locked-party"
    users = [await make_user() for _ in range(6)]
    clients = [await live_client(_url(s1 if i % 2 else s2), token=live_token(u)) for i, u in enumerate(users)]
    await asyncio.gather(*(c.call("join", {"movie_id": film, "party": code}) for c in clients))
    a, b = clients[0], clients[1]
    await a.wait_for("party:members", lambda m: len(m["members"]) == len(users))

    await a.call("party:play", {"movie_id": film, "position": 5})
    await b.wait_for("party:state", lambda s: s["state"] == "playing")
    await b.call("party:ready", {"movie_id": film, "position": 5})
    waiting = (await a.call("party:seek", {"movie_id": film, "position": 30}))["state"]
    assert waiting["state"] == "waiting"
    await a.call("party:ready", {"movie_id": film, "position": 30})
    await asyncio.sleep(0.2)
    assert not [s for s in a.received["party:state"] if s["state"] == "playing" and s["position"] >= 30]
    await b.call("party:ready", {"movie_id": film, "position": 30})
    resumed = await a.wait_for("party:state", lambda s: s["state"] == "playing" and s["position"] >= 30)
    assert resumed["position"] < 31


async def test_members_of_a_crashed_node_are_dropped_and_hold_no_wait(
    aiohttp_server, make_app, redis_settings, database_url, tmp_path, make_user, make_movie, live_client
):
    """A member whose process is killed (no disconnect ever reaches the party) leaves the party once its
    node is gone from the registry: the roster drops it and a seek waits only for the others."""
    s1 = await aiohttp_server(make_app(**redis_settings))
    (tmp_path / "gone").mkdir()
    doomed = ServerProcess(
        tmp_path / "gone",
        database_url,
        {
            "HYPERTUBE_REDIS_URL": redis_settings["redis_url"],
            "HYPERTUBE_REDIS_PREFIX": redis_settings["redis_prefix"],
            "HYPERTUBE_SECRET_KEY": TEST_SECRET,
            "HYPERTUBE_NODE_ID": "doomed-node",
        },
    )
    try:
        await doomed.start()
        alice, bob = await make_user(), await make_user()
        film = await make_movie()
        a = await live_client(_url(s1), token=live_token(alice))
        b = await live_client(doomed.base, token=live_token(bob))
        await a.call("join", {"movie_id": film, "party": "crash-party"})
        await b.call("join", {"movie_id": film, "party": "crash-party"})
        await a.wait_for("party:members", lambda m: len(m["members"]) == 2)
        await a.call("party:play", {"movie_id": film, "position": 5})
        await b.wait_for("party:state", lambda s: s["state"] == "playing")
        assert (await b.call("party:ready", {"movie_id": film, "position": 5}))["status"] == "ready"

        doomed.kill()
        registry = s1.app[NODES]
        for _ in range(100):  # the registry forgets the node NODE_TTL (6 s) after its last beat
            if "doomed-node" not in {node.id for node in await registry.live()}:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the killed node stayed in the registry")

        a.received.clear()
        waiting = (await a.call("party:seek", {"movie_id": film, "position": 30}))["state"]
        assert waiting["state"] == "waiting"
        roster = await a.wait_for("party:members", timeout=1)
        assert [m["username"] for m in roster["members"]] == [alice.username]
        await a.call("party:ready", {"movie_id": film, "position": 30})
        # Without the dead member the wait ends with this report, not after MAX_WAIT.
        resumed = await a.wait_for("party:state", lambda s: s["state"] == "playing", timeout=MAX_WAIT / 10)
        assert 30 <= resumed["position"] < 31
    finally:
        doomed.stop()


async def test_the_store_lock_serialises_updates_across_processes(redis_settings):
    """Read-modify-write under `lock` from two stores (as two processes would) loses no update."""
    prefix = redis_settings["redis_prefix"] + "live:"
    stores = [RedisStore(redis_settings["redis_url"], prefix) for _ in range(2)] + [MemoryStore()]

    async def bump(store) -> None:
        async with store.lock("counter"):
            value = await store.get("counter") or 0
            await asyncio.sleep(0.005)  # another writer would slip in here without the lock
            await store.set("counter", value + 1, ttl=60)

    try:
        await asyncio.gather(*(bump(stores[i % 2]) for i in range(20)))
        assert await stores[0].get("counter") == 20
        memory = stores[2]
        await asyncio.gather(*(bump(memory) for _ in range(20)))
        assert await memory.get("counter") == 20
        assert not memory._locks  # nothing left behind
    finally:
        for store in stores:
            await store.close()
