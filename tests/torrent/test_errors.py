"""Films that cannot play answer at once with a clear JSON error: never a hang, never a 500."""

from __future__ import annotations

import asyncio

from hypertube.keys import TORRENTS
from hypertube.torrent.errors import BadTorrent
from hypertube.torrent.files import TorrentFile, pick_main_file
from tests.fixtures.catalog import yts_movie


async def _error(client, movie_id, status):
    resp = await asyncio.wait_for(client.get(f"/stream/{movie_id}/file"), 15)
    assert resp.status == status, await resp.text()
    assert resp.headers["Content-Type"].startswith("application/json")
    return (await resp.json())["error"]


async def test_bad_sources_give_clear_errors(source_films, source_swarm, make_seeder, tmp_path):
    """What the sources point to is broken: each film answers its error at once, as JSON."""
    source_swarm.publish_archive_broken("missing_1926", "Missing Torrent", None)
    source_swarm.publish_archive_broken("page_1926", "Page Torrent", b"<html>not a torrent</html>")
    source_swarm.publish_archive_broken("slow_1926", "Slow Torrent", b"d4:infod4:name1:xee", delay=3)
    # A hash nobody seeds, given as a magnet alone: the tracker knows no peer.
    source_swarm.upstreams.yts_movies.append(yts_movie(901, "Nobody Seeds", info_hash="AB" * 20))
    source_swarm.upstreams.yts_movies.append(yts_movie(902, "No Copy", torrents=False))
    folder = tmp_path / "Not A Film"
    folder.mkdir()
    (folder / "readme.txt").write_text("no video here\n" * 2000)
    (folder / "cover.jpg").write_bytes(b"\xff\xd8" + b"0" * 40_000)
    source_films.publish(folder, "Not A Film")
    client = await source_films.client()
    engine = client.app[TORRENTS]
    engine.metadata_timeout = 1.5
    engine.fetch_timeout = 1.0

    dead = await source_films.find(client, "Missing Torrent")
    err = await _error(client, dead, 502)
    assert err["code"] == "torrent_unreachable" and "404" in err["message"]
    slow = await source_films.find(client, "Slow Torrent")
    assert (await _error(client, slow, 502))["code"] == "torrent_unreachable"
    page = await source_films.find(client, "Page Torrent")
    assert (await _error(client, page, 422))["code"] == "bad_torrent"
    nobody = await source_films.find(client, "Nobody Seeds")
    assert (await _error(client, nobody, 504))["code"] == "metadata_timeout"
    no_copy = await source_films.find(client, "No Copy")
    assert (await _error(client, no_copy, 404))["code"] == "no_torrent"
    no_video = await source_films.find(client, "Not A Film")
    assert (await _error(client, no_video, 422))["code"] == "no_video"
    for junk in ("999999", "abc", "1%27%20OR%201=1", "99999999999999999999999"):
        resp = await client.get(f"/stream/{junk}/file")
        assert resp.status == 404 and (await resp.json())["error"]["code"] in ("not_found", "no_torrent")


async def test_links_no_source_gives_are_refused_before_any_download(tmp_path):
    """Magnets and `.torrent` URLs the catalog would never store (a source's answer is checked first)
    are still refused by the engine with a clear error: an unparsable magnet, a URL that is not HTTP."""
    from hypertube.netfetch import FetchPolicy
    from hypertube.torrent.sources import origin_of

    policy = FetchPolicy(1024, timeout=1.0)
    for magnet, url in (
        ("magnet:?xt=urn:btih:not-a-hash&dn=<script>alert(1)</script>", None),
        (None, "file:///etc/passwd"),
        (None, None),
    ):
        try:
            await origin_of(magnet, url, policy)
        except BadTorrent as exc:
            assert "not valid" in exc.message
        else:
            raise AssertionError(f"{magnet or url} was accepted")


async def test_a_dead_torrent_falls_back_to_the_films_next_torrent(
    source_films, source_swarm, generated_films
):
    """YTS lists two copies of a film: the most seeded one has a hash no tracker knows and a `.torrent`
    URL that answers 404, so its magnet never gets its metadata; the film plays from the other one."""
    film = source_films.publish(generated_films["mp4"], "Two Copies")
    [movie] = [m for m in source_swarm.upstreams.yts_movies if m["title"] == "Two Copies"]
    dead = dict(movie["torrents"][0], quality="1080p", seeds=500, hash="CD" * 20)
    dead["url"] = f"{source_swarm.base}/yts/torrent/download/{dead['hash']}"
    movie["torrents"].insert(0, dead)
    client = await source_films.client()
    engine = client.app[TORRENTS]
    engine.candidate_wait, engine.metadata_timeout = 1.0, 5.0
    movie_id = await source_films.find(client, "Two Copies")
    resp = await client.get(f"/stream/{movie_id}/file", headers={"Range": "bytes=0-9"})
    assert resp.status == 206, await resp.text()
    assert await resp.read() == generated_films["mp4"].read_bytes()[:10]
    assert source_swarm.torrent_hits[dead["hash"]] >= 1  # its .torrent was asked for: a 404
    assert set(engine.downloads) == {film.info_hash}  # the dead one was dropped


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


async def test_main_file_and_subtitles_in_a_folder_torrent(source_films, generated_films, tmp_path):
    folder = tmp_path / "Film (2020)"
    (folder / "Sample").mkdir(parents=True)
    film = folder / "film.mp4"
    film.write_bytes(generated_films["mp4"].read_bytes())
    (folder / "Sample" / "sample.mkv").write_bytes(b"\x1a\x45\xdf\xa3" + bytes(film.stat().st_size + 1000))
    (folder / "film.en.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    source_films.publish(folder, "Film With Extras")
    client = await source_films.client()
    movie_id = await source_films.find(client, "Film With Extras")
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
