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

    app = web.Application()
    for path, handler in {"/ok": ok, "/hop": hop, "/loop": loop, "/big": big, "/slow": slow}.items():
        app.router.add_get(path, handler)
    server = await aiohttp_server(app, host="127.0.0.1")
    server.base = f"http://127.0.0.1:{server.port}"
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
