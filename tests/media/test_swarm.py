"""Converted playback through the real torrent engine and a libtorrent seeder on loopback."""

from __future__ import annotations

import asyncio
import io

import av

from bench.swarm import library_cards
from hypertube.keys import TORRENTS
from hypertube.media.generate import generate_film, sample_cues, write_srt
from tests.conftest import login_as


async def _signed_in(aiohttp_client, make_app, make_user, language="en"):
    client = await aiohttp_client(make_app())
    login_as(client, await make_user(language=language))
    return client


async def _all_segments(client, movie_id: int) -> bytes:
    text = await (await client.get(f"/stream/{movie_id}/hls/index.m3u8")).text()
    names = [line for line in text.splitlines() if line and not line.startswith("#")]
    data = b""
    for name in names:
        resp = await client.get(f"/stream/{movie_id}/hls/{name}")
        assert resp.status == 200, await resp.text()
        data += await resp.read()
    return data


async def test_each_converted_film_plays_through_the_swarm(
    aiohttp_client, make_app, make_user, source_swarm, films, tmp_path
):
    """Each film as a user finds it: by a library search, over YTS (magnet and .torrent, magnet only)
    or the Archive (.torrent only), its peers from the tracker its torrent names."""
    item = tmp_path / "avi_lantern_1926"
    item.mkdir()
    (item / "avi_lantern_1926.avi").write_bytes(films["avi-mpeg4-mp3"].read_bytes())
    source_swarm.publish_yts(1, "Subtitled Harbor", films["mkv-h264-ac3-subs"])
    source_swarm.publish_yts(2, "Hevc Orchard", films["mkv-hevc-aac"], torrent_url=False)
    source_swarm.publish_archive("avi_lantern_1926", "Avi Lantern", item)
    client = await aiohttp_client(make_app(**source_swarm.settings()))
    login_as(client, await make_user())
    for title in ("Subtitled Harbor", "Hevc Orchard", "Avi Lantern"):
        movie_id = library_cards(await (await client.get("/", params={"q": title})).text())[title]
        resp = await client.get(f"/stream/{movie_id}")
        assert resp.status == 200, await resp.text()
        plan = await resp.json()
        assert plan["kind"] == "hls" and abs(plan["duration"] - 10) <= 0.5
        data = await _all_segments(client, movie_id)
        with av.open(io.BytesIO(data)) as c:
            times = [float(f.pts * f.time_base) for f in c.decode(video=0)]
        assert len(times) == 250, title
        assert abs(times[-1] - times[0] + 0.04 - 10) <= 0.5
        if title == "Subtitled Harbor":
            assert [s["lang"] for s in plan["subtitles"]] == ["en", "fr"]
            vtt = await (await client.get(f"/stream/{movie_id}/subtitles/en.vtt")).text()
            assert vtt.startswith("WEBVTT") and "Hello from the demo film" in vtt


async def test_a_seek_to_70_percent_does_not_wait_for_the_whole_film(
    aiohttp_client, make_app, make_user, make_seeder, add_film, tmp_path
):
    film = generate_film(
        tmp_path / "seek" / "seek.mkv",
        container="mkv",
        video_codec="h264",
        audio_codec="ac3",
        duration_s=14,
        width=480,
        height=270,
        noise=40,  # about 17 MB: more than the engine's readahead window
    )
    size = film.stat().st_size
    rate = 4 * 1024 * 1024
    seeded = make_seeder(upload_rate=rate).seed(film, piece_size=64 * 1024)
    movie_id = await add_film(magnet=seeded.magnet, info_hash=seeded.info_hash)
    client = await _signed_in(aiohttp_client, make_app, make_user)
    plan = await (await client.get(f"/stream/{movie_id}")).json()
    text = await (await client.get(plan["url"])).text()
    names = [line for line in text.splitlines() if line and not line.startswith("#")]
    durations = [float(line[8:].rstrip(",")) for line in text.splitlines() if line.startswith("#EXTINF:")]
    starts = [sum(durations[:i]) for i in range(len(durations))]
    index = max(i for i, start in enumerate(starts) if start <= 0.7 * plan["duration"])
    t = starts[index]
    resp = await client.get(f"/stream/{movie_id}/hls/{names[index]}")
    assert resp.status == 200
    with av.open(io.BytesIO(await resp.read())) as c:
        first = next(c.decode(video=0))
        assert abs(float(first.pts * first.time_base) - 1.0 - t) < 0.05
    status = await client.server.app[TORRENTS].download_status(movie_id)
    # The segment came before the film was complete: the engine fetched the head, the tail and the
    # bytes around 70 %, not everything in order (its readahead window from the head is 8 MB).
    assert status["progress"] < 0.95, (status, size)


async def test_subtitle_files_inside_the_torrent(
    aiohttp_client, make_app, make_user, make_seeder, add_film, films, tmp_path
):
    folder = tmp_path / "Film With Subs"
    folder.mkdir()
    (folder / "film.avi").write_bytes(films["avi-mpeg4-mp3"].read_bytes())
    write_srt(folder / "film.fr.srt", sample_cues(10, "fr"))
    seeded = make_seeder().seed(folder)
    movie_id = await add_film(magnet=seeded.magnet, info_hash=seeded.info_hash)
    client = await _signed_in(aiohttp_client, make_app, make_user, language="fr")
    plan = await (await client.get(f"/stream/{movie_id}")).json()
    assert [s["lang"] for s in plan["subtitles"]] == ["fr"]
    vtt = await (await client.get(plan["subtitles"][0]["url"])).text()
    assert vtt.startswith("WEBVTT\n") and "Bonjour depuis le film" in vtt


async def test_a_film_nobody_seeds_gives_a_clear_error(aiohttp_client, make_app, make_user, add_film):
    client = await _signed_in(aiohttp_client, make_app, make_user)
    engine = client.server.app[TORRENTS]
    engine.metadata_timeout = 1.5
    engine.fetch_timeout = 1.0
    movie_id = await add_film(magnet="magnet:?xt=urn:btih:" + "ab" * 20 + "&x.pe=127.0.0.1:9")
    resp = await asyncio.wait_for(client.get(f"/stream/{movie_id}"), 30)
    assert resp.status == 504
    assert (await resp.json())["error"]["code"] == "metadata_timeout"
    resp = await asyncio.wait_for(client.get(f"/stream/{movie_id}/hls/0.ts"), 30)
    assert resp.status == 504
