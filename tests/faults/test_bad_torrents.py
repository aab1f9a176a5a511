"""Broken torrents (bad magnet, missing or garbled .torrent, unreachable host, no video): each film
answers a clear JSON error, never a 500, and a good film still plays afterwards."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from bench.support import free_port
from hypertube.torrent.seeder import make_torrent
from tests.faults.support import add_film

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def torrent_host(tmp_path):
    """An HTTP server with a missing, a garbled and a video-less .torrent."""
    text = tmp_path / "notes" / "readme.txt"
    text.parent.mkdir()
    text.write_text("no film in here\n" * 1000)
    no_video = tmp_path / "readme.torrent"
    await asyncio.to_thread(make_torrent, text.parent, no_video, piece_size=16 * 1024)
    files = {"garbled.torrent": b"d8:announce this is not bencoded", "readme.torrent": no_video.read_bytes()}

    async def serve(request: web.Request) -> web.Response:
        body = files.get(request.match_info["name"])
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type="application/x-bittorrent")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_broken_torrents_answer_clear_errors(
    torrent_host, make_seeder, make_server, make_viewer, scratch_database, fault_films, figures
):
    # The fake .torrent host is on loopback, which the safe fetch refuses unless it is allowed.
    server = make_server(fetch_allowed_hosts="127.0.0.1")
    await server.start()
    viewer = make_viewer(server.base)
    await viewer.sign_up()
    broken = {
        "bad magnet": {"magnet": "magnet:?xt=urn:btih:not-a-hash"},
        "missing .torrent": {"torrent_url": f"{torrent_host}/missing.torrent"},
        "garbled .torrent": {"torrent_url": f"{torrent_host}/garbled.torrent"},
        "unreachable host": {"torrent_url": f"http://127.0.0.1:{free_port()}/film.torrent"},
        "no video": {"torrent_url": f"{torrent_host}/readme.torrent"},
    }
    answers = {}
    for title, source in broken.items():
        movie = await add_film(scratch_database, title, **source)
        code, body = await viewer.json(f"/stream/{movie}")
        answers[title] = (code, body["error"]["code"] if isinstance(body, dict) and "error" in body else None)
    for title, (code, error) in answers.items():
        assert 400 <= code < 600 and code != 500, (title, code)
        assert error, (title, code)

    seeder = make_seeder()
    seeded = await asyncio.to_thread(seeder.seed, fault_films["mp4"], piece_size=64 * 1024)
    good = await add_film(scratch_database, "Good Film", magnet=seeded.magnet)
    assert len(await viewer.read_range(good, 0, 65535)) == 65536
    figures.record(
        "bad_torrents", **{title.replace(" ", "_"): f"{c} {e}" for title, (c, e) in answers.items()}
    )
    assert "Traceback" not in server.output()
