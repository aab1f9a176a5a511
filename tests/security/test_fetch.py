"""Finding 4: the one fetch helper for URLs a user or an upstream chose refuses non-public addresses at every
hop, caps size, time and redirects, and says the same thing for every refusal."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from hypertube.netfetch import FetchPolicy, FetchRefused, fetch, is_public
from tests.fixtures.accounts import free_port

LOOPBACK = frozenset({"127.0.0.1"})


@pytest.fixture
async def upstream(aiohttp_server):
    """A server on loopback playing a picture host: a small body, redirects, a big body and a slow one."""

    async def ok(request):
        return web.Response(body=b"picture", content_type="image/png")

    async def hop(request):
        raise web.HTTPFound(request.query["to"])

    async def loop(request):
        raise web.HTTPFound("/loop")

    async def big(request):
        resp = web.StreamResponse()
        await resp.prepare(request)
        for _ in range(64):
            await resp.write(b"x" * 65536)
        return resp

    async def slow(request):
        await asyncio.sleep(5)
        return web.Response(text="late")

    hits: list[str] = []

    @web.middleware
    async def record(request, handler):
        hits.append(request.path)
        return await handler(request)

    app = web.Application(middlewares=[record])
    for path, handler in {"/ok": ok, "/hop": hop, "/loop": loop, "/big": big, "/slow": slow}.items():
        app.router.add_get(path, handler)
    server = await aiohttp_server(app, host="127.0.0.1")
    server.base = f"http://127.0.0.1:{server.port}"
    server.hits = hits
    return server


def policy(**kw) -> FetchPolicy:
    return FetchPolicy(**{"max_bytes": 1024 * 1024, "timeout": 2.0, **kw})


async def refused(url: str, p: FetchPolicy) -> str:
    with pytest.raises(FetchRefused) as info:
        await fetch(url, p)
    return str(info.value)


async def test_loopback_and_private_targets_are_refused_alike(upstream):
    closed = f"http://127.0.0.1:{free_port()}/"
    targets = [
        f"{upstream.base}/ok",
        closed,
        f"http://localhost:{upstream.port}/ok",
        f"http://[::1]:{upstream.port}/ok",
        f"http://[::ffff:127.0.0.1]:{upstream.port}/ok",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://0.0.0.0/",
        "http://2130706433/",
        "http://user:pw@example.org/",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "http://no-such-host.invalid/",
    ]
    messages = {await refused(url, policy()) for url in targets}
    assert messages == {FetchRefused.MESSAGE}


async def test_allowed_hosts_reach_the_fake_and_every_hop_is_checked_again(upstream):
    allowed = policy(allowed_hosts=LOOPBACK)
    got = await fetch(f"{upstream.base}/ok", allowed)
    assert (got.status, got.body, got.content_type) == (200, b"picture", "image/png")
    got = await fetch(f"{upstream.base}/hop?to=/ok", allowed)
    assert got.body == b"picture" and got.url.endswith("/ok")
    # A redirect to a host the allow-list does not name is refused at that hop.
    await refused(f"{upstream.base}/hop?to=http://localhost:{upstream.port}/ok", allowed)
    await refused(f"{upstream.base}/hop?to=http://169.254.169.254/", allowed)
    # Without the allow-list the fake itself is off limits.
    await refused(f"{upstream.base}/ok", policy())


async def test_size_time_and_redirect_caps(upstream):
    allowed = policy(allowed_hosts=LOOPBACK, max_bytes=100_000)
    assert await refused(f"{upstream.base}/big", allowed) == FetchRefused.MESSAGE
    assert await refused(f"{upstream.base}/loop", allowed) == FetchRefused.MESSAGE
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await refused(f"{upstream.base}/slow", policy(allowed_hosts=LOOPBACK, timeout=0.5))
    assert loop.time() - start < 2
    got = await fetch(upstream.base + "/hop?to=/hop%3Fto%3D/ok", allowed)  # two hops are fine
    assert got.body == b"picture"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:93.184.215.14", True),
        ("2002:7f00:1::", False),
        ("64:ff9b::a00:1", False),
        ("not an address", False),
    ],
)
def test_public_addresses(address, public):
    assert is_public(address) is public


# --- the fetches that go through it ---------------------------------------------------------------


async def test_provider_picture_on_a_private_address_is_not_fetched(
    aiohttp_client, make_app, fake_providers, db
):
    from tests.fixtures.accounts import FAST_BCRYPT, oauth_round_trip

    # The fake provider's picture server is on loopback: without the allow-list it is off limits.
    settings = fake_providers.settings() | {"fetch_allowed_hosts": ()}
    client = await aiohttp_client(make_app(bcrypt_cost=FAST_BCRYPT, **settings))
    resp = await oauth_round_trip(client, "google")
    assert resp.status == 303 and resp.headers["Location"] == "/"
    await asyncio.sleep(0.5)  # the import runs in the background
    assert fake_providers.picture_requests == []
    assert await db.fetchval("SELECT picture FROM users") is None


async def test_provider_picture_is_fetched_from_an_allowed_host(aiohttp_client, make_app, fake_providers, db):
    from tests.fixtures.accounts import FAST_BCRYPT, oauth_round_trip

    settings = fake_providers.settings() | {"fetch_allowed_hosts": ("127.0.0.1",)}
    client = await aiohttp_client(make_app(bcrypt_cost=FAST_BCRYPT, **settings))
    await oauth_round_trip(client, "google")
    for _ in range(50):
        if await db.fetchval("SELECT picture FROM users"):
            break
        await asyncio.sleep(0.1)
    assert fake_providers.picture_requests == ["google.png"]
    assert await db.fetchval("SELECT picture FROM users")


async def test_api_picture_url_answers_the_same_for_open_and_closed_internal_ports(
    aiohttp_client, make_app, upstream, db
):
    from tests.security.helpers import api_headers, sign_up, user_id_of

    client = await aiohttp_client(make_app(bcrypt_cost=4, fetch_allowed_hosts=()))
    member = await sign_up(client)
    uid = await user_id_of(db, member["username"])
    headers = await api_headers(client)
    answers = []
    for url in (
        f"{upstream.base}/ok",
        f"http://127.0.0.1:{free_port()}/x.png",
        f"{upstream.base}/hop?to=http://10.0.0.1/",
        "https://localhost/x.png",
    ):
        resp = await client.patch(f"/api/v1/users/{uid}", json={"picture_url": url}, headers=headers)
        answers.append((resp.status, (await resp.json())["error"]))
    assert len({repr(a) for a in answers}) == 1, answers
    assert answers[0][0] == 422


async def test_torrent_file_on_a_private_address_is_not_fetched(
    aiohttp_client, make_app, make_user, add_film, upstream
):
    from tests.conftest import login_as

    client = await aiohttp_client(make_app(fetch_allowed_hosts=()))
    login_as(client, await make_user())
    for url in (f"{upstream.base}/ok", f"http://127.0.0.1:{free_port()}/film.torrent"):
        movie_id = await add_film(torrent_url=url)
        resp = await asyncio.wait_for(client.get(f"/stream/{movie_id}/file"), 15)
        assert resp.status == 502
        assert (await resp.json())["error"]["message"] == "The film's .torrent file could not be fetched."
    assert upstream.hits == []
