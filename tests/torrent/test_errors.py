"""Films that cannot play answer at once with a clear JSON error: never a hang, never a 500."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from hypertube.keys import TORRENTS
from hypertube.torrent.files import TorrentFile, pick_main_file
from tests.conftest import login_as


@pytest.fixture
async def fake_tracker_site(aiohttp_server):
    """A web server that serves .torrent URLs: one missing, one not a torrent, one too slow."""

    async def missing(request):
        raise web.HTTPNotFound()

    async def html(request):
        return web.Response(text="<html>not a torrent</html>", content_type="text/html")

    async def slow(request):
        await asyncio.sleep(5)
        return web.Response(body=b"d4:infod4:name1:xee")

    app = web.Application()
    app.router.add_get("/missing.torrent", missing)
    app.router.add_get("/page.torrent", html)
    app.router.add_get("/slow.torrent", slow)
    return await aiohttp_server(app)


async def _signed_in(aiohttp_client, make_app, make_user):
    client = await aiohttp_client(make_app())
    login_as(client, await make_user())
    return client


async def _error(client, movie_id, status):
    resp = await asyncio.wait_for(client.get(f"/stream/{movie_id}/file"), 15)
    assert resp.status == status, await resp.text()
    assert resp.headers["Content-Type"].startswith("application/json")
    return (await resp.json())["error"]


async def test_bad_sources_give_clear_errors(
    aiohttp_client, make_app, make_user, add_film, fake_tracker_site, make_seeder, tmp_path, db
):
    client = await _signed_in(aiohttp_client, make_app, make_user)
    engine = client.app[TORRENTS]
    engine.metadata_timeout = 1.5
    engine.fetch_timeout = 1.0

    bad = await add_film(magnet="magnet:?xt=urn:btih:not-a-hash&dn=<script>alert(1)</script>")
    err = await _error(client, bad, 422)
    assert err["code"] == "bad_torrent" and "magnet" in err["message"]

    dead = await add_film(torrent_url=str(fake_tracker_site.make_url("/missing.torrent")))
    err = await _error(client, dead, 502)
    assert err["code"] == "torrent_unreachable" and "404" in err["message"]

    refused = await add_film(torrent_url="http://127.0.0.1:9/nothing.torrent")
    assert (await _error(client, refused, 502))["code"] == "torrent_unreachable"

    slow = await add_film(torrent_url=str(fake_tracker_site.make_url("/slow.torrent")))
    assert (await _error(client, slow, 502))["code"] == "torrent_unreachable"

    page = await add_film(torrent_url=str(fake_tracker_site.make_url("/page.torrent")))
    assert (await _error(client, page, 422))["code"] == "bad_torrent"

    nobody = await add_film(magnet="magnet:?xt=urn:btih:" + "ab" * 20 + "&x.pe=127.0.0.1:9")
    err = await _error(client, nobody, 504)
    assert err["code"] == "metadata_timeout"

    no_torrent = await db.fetchval("INSERT INTO movies (title) VALUES ('Bare') RETURNING id")
    assert (await _error(client, no_torrent, 404))["code"] == "no_torrent"
    for junk in ("999999", "abc", "1%27%20OR%201=1", "99999999999999999999999"):
        resp = await client.get(f"/stream/{junk}/file")
        assert resp.status == 404 and (await resp.json())["error"]["code"] in ("not_found", "no_torrent")

    folder = tmp_path / "Not A Film"
    folder.mkdir()
    (folder / "readme.txt").write_text("no video here\n" * 2000)
    (folder / "cover.jpg").write_bytes(b"\xff\xd8" + b"0" * 40_000)
    seeded = make_seeder().seed(folder)
    no_video = await add_film(magnet=seeded.magnet)
    err = await _error(client, no_video, 422)
    assert err["code"] == "no_video"


async def test_a_bad_magnet_falls_back_to_the_films_next_torrent(
    aiohttp_client, make_app, make_user, add_film, make_seeder, generated_films, db
):
    seeded = make_seeder().seed(generated_films["mp4"])
    movie_id = await add_film(magnet="magnet:?xt=urn:btih:broken", seeders=50)
    await db.execute(
        "INSERT INTO torrents (movie_id, source, magnet, seeders) VALUES ($1, 'test', $2, 1)",
        movie_id,
        seeded.magnet,
    )
    client = await _signed_in(aiohttp_client, make_app, make_user)
    resp = await client.get(f"/stream/{movie_id}/file", headers={"Range": "bytes=0-9"})
    assert resp.status == 206 and await resp.read() == generated_films["mp4"].read_bytes()[:10]


async def test_signed_out_visitors_get_401(client):
    resp = await client.get("/stream/1/file")
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "unauthorized"


def test_main_file_is_the_largest_video_and_never_a_sample():
    files = [
        TorrentFile(0, "Film/Sample/film-sample.mkv", 900, "video"),
        TorrentFile(1, "Film/film.mkv", 500, "video"),
        TorrentFile(2, "Film/film.en.srt", 5, "subtitle"),
        TorrentFile(3, "Film/extras.nfo", 5000, "other"),
        TorrentFile(4, "Film/Featurette.mp4", 300, "video"),
        TorrentFile(5, "Film/sample.avi", 1000, "video"),
    ]
    assert pick_main_file(files).index == 1
    assert pick_main_file([f for f in files if f.kind != "video"]) is None
    assert pick_main_file([TorrentFile(0, "Samples of Life (1990).mp4", 10, "video")]).index == 0


async def test_main_file_and_subtitles_in_a_folder_torrent(
    aiohttp_client, make_app, make_seeder, add_film, generated_films, tmp_path
):
    folder = tmp_path / "Film (2020)"
    (folder / "Sample").mkdir(parents=True)
    film = folder / "film.mp4"
    film.write_bytes(generated_films["mp4"].read_bytes())
    (folder / "Sample" / "sample.mkv").write_bytes(b"\x1a\x45\xdf\xa3" + bytes(film.stat().st_size + 1000))
    (folder / "film.en.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    seeded = make_seeder().seed(folder)
    movie_id = await add_film(magnet=seeded.magnet)
    client = await aiohttp_client(make_app())
    engine = client.app[TORRENTS]
    async with await engine.open_reader(movie_id) as reader:
        assert reader.name == "film.mp4" and reader.size == film.stat().st_size
        assert await reader.read(0, 64) == film.read_bytes()[:64]
    files = await engine.list_files(movie_id)
    kinds = {f.path.split("/")[-1]: f.kind for f in files}
    assert kinds == {"film.mp4": "video", "sample.mkv": "video", "film.en.srt": "subtitle"}
    srt = next(f for f in files if f.kind == "subtitle")
    async with await engine.open_reader(movie_id, srt.index) as reader:
        assert (await reader.read(0, 1000)).decode().endswith("Hello\n")
