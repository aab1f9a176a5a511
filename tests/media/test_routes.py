"""The play plan, HLS playlist and segments, subtitles and resume position over HTTP, with their errors."""

from __future__ import annotations

import io

import av
import pytest

from hypertube.catalog.watch import last_position
from hypertube.http.stream_subtitles import available_subtitles
from hypertube.keys import MEDIA
from hypertube.media.generate import sample_cues, srt_text
from tests.conftest import csrf_for, login_as


async def _movie(db, title="Film", imdb_id=None) -> int:
    return await db.fetchval(
        "INSERT INTO movies (title, imdb_id) VALUES ($1, $2) RETURNING id", title, imdb_id
    )


@pytest.fixture
async def signed_in(client, make_user):
    user = await make_user(language="fr")
    login_as(client, user)
    return user


async def _error(resp, status, code):
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body


async def test_plan_direct_for_mp4(client, db, signed_in, films):
    movie = await _movie(db)
    client.server.app[MEDIA].register_file(movie, films["mp4-h264-aac"])
    resp = await client.get(f"/stream/{movie}")
    assert resp.status == 200
    plan = await resp.json()
    assert plan["kind"] == "direct"
    assert plan["url"] == f"/stream/{movie}/file" and plan["urls"] == [plan["url"]]
    assert abs(plan["duration"] - 10) < 0.1
    assert plan["subtitles"] == [] and plan["status"]["ready"] is True
    # Its video copied into segments, for direct play to step down to (see test_renditions.py).
    assert plan["master"] == f"/stream/{movie}/hls/master.m3u8"
    playlist = await client.get(f"/stream/{movie}/hls/index.m3u8")
    assert playlist.status == 200 and (await playlist.text()).rstrip().endswith("#EXT-X-ENDLIST")


async def test_hls_playlist_segments_and_subtitles(client, db, signed_in, films, tmp_path):
    movie = await _movie(db)
    client.server.app[MEDIA].register_file(movie, films["mkv-h264-ac3-subs"])
    plan = await (await client.get(f"/stream/{movie}")).json()
    assert plan["kind"] == "hls" and plan["url"] == f"/stream/{movie}/hls/index.m3u8"
    assert abs(plan["duration"] - 10) < 0.1
    # Every language inside the MKV, the user's (French) first, then English.
    assert [(s["lang"], s["url"]) for s in plan["subtitles"]] == [
        ("fr", f"/stream/{movie}/subtitles/fr.vtt"),
        ("en", f"/stream/{movie}/subtitles/en.vtt"),
    ]
    resp = await client.get(plan["url"])
    assert resp.status == 200
    assert resp.content_type == "application/vnd.apple.mpegurl"
    text = await resp.text()
    names = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert names == ["0.ts", "1.ts", "2.ts"]
    data = b""
    for name in names:
        seg = await client.get(f"/stream/{movie}/hls/{name}")
        assert seg.status == 200 and seg.content_type == "video/mp2t"
        assert "max-age" in seg.headers["Cache-Control"]
        data += await seg.read()
    with av.open(io.BytesIO(data)) as c:
        assert len(list(c.decode(video=0))) == 250
    # A cached segment is served from disk, not cut again.
    cached = client.server.app[MEDIA].segment_path(movie, 0)
    mtime = cached.stat().st_mtime_ns
    assert (await client.get(f"/stream/{movie}/hls/0.ts")).status == 200
    assert cached.stat().st_mtime_ns == mtime
    await _error(await client.get(f"/stream/{movie}/hls/3.ts"), 404, "not_found")
    await _error(await client.get(f"/stream/{movie}/hls/99999999999999999999.ts"), 404, "not_found")
    vtt = await client.get(f"/stream/{movie}/subtitles/fr.vtt")
    assert vtt.status == 200 and vtt.content_type == "text/vtt"
    body = await vtt.text()
    assert body.startswith("WEBVTT") and "Bonjour" in body
    await _error(await client.get(f"/stream/{movie}/subtitles/de.vtt"), 404, "not_found")
    await _error(await client.get(f"/stream/{movie}/subtitles/%3Cscript%3E.vtt"), 404, "not_found")
    assert await available_subtitles(client.server.app, movie) == ["en", "fr"]


async def test_subtitle_files_beside_the_video(client, db, signed_in, films, tmp_path):
    folder = tmp_path / "film"
    folder.mkdir()
    video = folder / "film.avi"
    video.write_bytes(films["avi-mpeg4-mp3"].read_bytes())
    (folder / "film.en.srt").write_text("\ufeff" + srt_text(sample_cues(10)).replace("\n", "\r\n"))
    (folder / "film.French.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\n<script>x</script>Salut\n")
    movie = await _movie(db)
    client.server.app[MEDIA].register_file(movie, video)
    plan = await (await client.get(f"/stream/{movie}")).json()
    assert plan["kind"] == "hls"
    assert [s["lang"] for s in plan["subtitles"]] == ["fr", "en"]  # the user's language first
    fr = await (await client.get(f"/stream/{movie}/subtitles/fr.vtt")).text()
    assert fr == "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nSalut\n"


async def test_errors_are_clear_json(client, db, signed_in, tmp_path, films):
    await _error(await client.get("/stream/424242"), 404, "not_found")
    movie = await _movie(db)
    await _error(await client.get(f"/stream/{movie}"), 404, "no_torrent")
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"\x1aE\xdf\xa3" + b"<script>" * 1000)
    client.server.app[MEDIA].register_file(movie, junk)
    body = await _error(await client.get(f"/stream/{movie}"), 422, "unplayable")
    assert "<script>" not in body["error"]["message"]
    await _error(await client.get(f"/stream/{movie}/hls/0.ts"), 422, "unplayable")
    gone = await _movie(db, "Gone")
    client.server.app[MEDIA].register_file(gone, tmp_path / "missing.mkv")
    await _error(await client.get(f"/stream/{gone}"), 404, "no_torrent")
    for path in ("/stream/abc", "/stream/0", f"/stream/{2**70}", "/stream/1' OR 1=1--"):
        resp = await client.get(path)
        assert resp.status == 404 and resp.content_type == "application/json"


async def test_signed_out_users_get_401(client, db, films):
    movie = await _movie(db)
    for path in (
        f"/stream/{movie}",
        f"/stream/{movie}/hls/index.m3u8",
        f"/stream/{movie}/hls/0.ts",
        f"/stream/{movie}/subtitles/en.vtt",
    ):
        await _error(await client.get(path), 401, "unauthorized")


async def test_position_is_saved_with_csrf_and_validated(client, db, signed_in, films):
    movie = await _movie(db)
    url = f"/stream/{movie}/position"
    await _error(await client.post(url, json={"position": 12.5}), 403, "csrf")
    token = await csrf_for(client, "/")
    headers = {"X-CSRF-Token": token}
    resp = await client.post(url, json={"position": 12.5}, headers=headers)
    assert resp.status == 200
    assert abs(await last_position(_pool(client), signed_in.id, movie) - 12.5) <= 0.5  # whole seconds kept
    for bad in ({"position": "12"}, {"position": True}, {"position": -1}, {"position": 1e300}, [], {"x": 1}):
        await _error(await client.post(url, json=bad, headers=headers), 422, "validation_error")
    await _error(await client.post(url, data=b"{nope", headers=headers), 400, "bad_request")
    await _error(
        await client.post("/stream/999999/position", json={"position": 1}, headers=headers), 404, "not_found"
    )
    plan_movie = await _movie(db, "Resumed")
    client.server.app[MEDIA].register_file(plan_movie, films["mkv-hevc-aac"])
    await client.post(f"/stream/{plan_movie}/position", json={"position": 7}, headers=headers)
    assert (await (await client.get(f"/stream/{plan_movie}")).json())["position"] == 7.0


def _pool(client):
    from hypertube.keys import POOL

    return client.server.app[POOL]


async def test_opensubtitles_against_a_fake_server(
    aiohttp_client, fake_opensubtitles, make_app, db, make_user, films
):
    seen = fake_opensubtitles.seen
    app = make_app(**fake_opensubtitles.settings())
    client = await aiohttp_client(app)
    user = await make_user(language="fr")
    login_as(client, user)
    movie = await _movie(db, "Online", "tt0012345")
    app[MEDIA].register_file(movie, films["mkv-hevc-aac"])
    plan = await (await client.get(f"/stream/{movie}")).json()
    assert [s["lang"] for s in plan["subtitles"]] == ["fr", "en"]  # the user's language first
    assert seen[0] == ("search", {"imdb_id": "12345", "languages": "en,fr"})
    en = await (await client.get(f"/stream/{movie}/subtitles/en.vtt")).text()
    assert en == "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nfile 222\n"
    assert ("download", {"file_id": 222}) in seen
    # Served from the cache afterwards: no second download.
    await client.get(f"/stream/{movie}/subtitles/en.vtt")
    assert sum(1 for kind, _ in seen if kind == "download") == 1
