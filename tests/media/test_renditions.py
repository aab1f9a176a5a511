"""Adaptive streaming: the master playlist of a converted film, and its renditions' segments decoded at
the sizes the playlist states and with the chosen audio track."""

from __future__ import annotations

import asyncio
import io
import re

import av
import pytest

from hypertube.keys import MEDIA
from hypertube.media.generate import generate_film
from hypertube.media.generate_kinds import AudioSpec, Shape, generate_shaped
from hypertube.media.renditions import AVC_PROFILES, RenditionSegments, find
from tests.conftest import login_as
from tests.media.test_kinds import _pitch


@pytest.fixture
async def film(client, db, make_user, full_hd):
    movie_id = await db.fetchval("INSERT INTO movies (title) VALUES ('Full HD') RETURNING id")
    client.server.app[MEDIA].register_file(movie_id, full_hd)
    login_as(client, await make_user())
    return movie_id


def _variants(text: str) -> list[tuple[dict[str, str], str]]:
    lines = text.strip().splitlines()
    assert lines[0] == "#EXTM3U"
    found = []
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attributes = dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1]))
            found.append(({k: v.strip('"') for k, v in attributes.items()}, lines[i + 1]))
    return found


def _decoded_size(data: bytes) -> tuple[int, int, int]:
    """(width, height, frames) of the video decoded from an MPEG-TS segment."""
    with av.open(io.BytesIO(data), format="mpegts") as container:
        frames = list(container.decode(video=0))
    assert frames, "the segment holds no video frame"
    return frames[0].width, frames[0].height, len(frames)


async def test_master_playlist_lists_renditions_whose_segments_decode_at_their_size(client, film, full_hd):
    resp = await client.get(f"/stream/{film}/hls/master.m3u8")
    assert resp.status == 200 and resp.content_type == "application/vnd.apple.mpegurl"
    variants = _variants(await resp.text())
    assert [a["NAME"] for a, _ in variants] == ["source", "720p", "480p"]
    assert [a["RESOLUTION"] for a, _ in variants] == ["1920x1080", "1280x720", "854x480"]
    bandwidths = [int(a["BANDWIDTH"]) for a, _ in variants]
    assert bandwidths == sorted(bandwidths, reverse=True)
    # The source's mean bitrate as sent, from the index: under its peak, near the file's own size over its
    # length plus the MPEG-TS overhead.
    source = variants[0][0]
    info = await client.server.app[MEDIA].info(film)
    file_rate = full_hd.stat().st_size * 8 / info.duration
    average = int(source["AVERAGE-BANDWIDTH"])
    assert file_rate < average < 1.2 * file_rate and average <= int(source["BANDWIDTH"]), (source, file_rate)
    assert all("AVERAGE-BANDWIDTH" not in a for a, _ in variants[1:])
    # One codec family throughout (hls.js switches only within one), the copied source's own profile.
    assert [a["CODECS"].split(".")[0] for a, _ in variants] == ["avc1"] * 3
    assert source["CODECS"].startswith(f"avc1.{AVC_PROFILES[info.profile]}"), (source, info.profile)
    for attributes, uri in variants:
        playlist = await client.get(f"/stream/{film}/hls/{uri}")
        assert playlist.status == 200
        segments = [line for line in (await playlist.text()).splitlines() if line.endswith(".ts")]
        assert segments
        base = uri.rpartition("/")[0]
        for name in (segments[0], segments[-1]):
            path = f"/stream/{film}/hls/{base + '/' if base else ''}{name}"
            resp = await client.get(path)
            assert resp.status == 200 and resp.headers["Content-Type"] == "video/mp2t", path
            width, height, frames = await asyncio.to_thread(_decoded_size, await resp.read())
            assert f"{width}x{height}" == attributes["RESOLUTION"], path
            assert frames >= 10, path  # at least one second of the film


async def test_renditions_are_cached_and_unknown_ones_are_404(client, film):
    first = await client.get(f"/stream/{film}/hls/480p/0.ts")
    body = await first.read()
    cached = client.server.app[MEDIA].movie_dir(film) / "480p" / "0.ts"
    assert cached.read_bytes() == body
    again = await client.get(f"/stream/{film}/hls/480p/0.ts")
    assert await again.read() == body  # served from the file, not cut again
    for path in ("/hls/1080p/index.m3u8", "/hls/240p/0.ts", "/hls/480p/999.ts"):
        resp = await client.get(f"/stream/{film}{path}")
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found", path


async def test_transcodes_beyond_the_limit_wait_their_turn(client, film):
    app = client.server.app
    renditions = RenditionSegments(app[MEDIA], max_transcodes=1)
    info = await app[MEDIA].info(film)
    small, medium = find(info, "480p"), find(info, "720p")
    assert small is not None and medium is not None
    running = [asyncio.create_task(renditions.segment(film, info, r, 0, prefetch=0)) for r in (small, medium)]
    for _ in range(100):
        if renditions.waiting:
            break
        await asyncio.sleep(0.01)
    assert renditions.waiting == 1  # one transcode runs, the other waits for the slot
    paths = await asyncio.gather(*running)
    assert renditions.waiting == 0 and all(p.exists() for p in paths)


async def test_a_film_that_plays_directly_has_renditions_to_step_down_to(client, db, make_user, tmp_path):
    """Direct play stays the plan; the master playlist lists the file's video copied into segments and
    the smaller renditions, for the player to step down to when the file comes too slowly."""
    mp4 = await asyncio.to_thread(
        generate_film, tmp_path / "direct.mp4", duration_s=4, width=1280, height=720, fps=10
    )
    movie_id = await db.fetchval("INSERT INTO movies (title) VALUES ('Direct') RETURNING id")
    client.server.app[MEDIA].register_file(movie_id, mp4)
    login_as(client, await make_user())
    plan = await (await client.get(f"/stream/{movie_id}")).json()
    assert plan["kind"] == "direct" and plan["url"] == f"/stream/{movie_id}/file"
    assert plan["master"] == f"/stream/{movie_id}/hls/master.m3u8"
    variants = _variants(await (await client.get(plan["master"])).text())
    assert [(a["NAME"], a["RESOLUTION"]) for a, _ in variants] == [
        ("source", "1280x720"),
        ("480p", "854x480"),
    ]
    for (_attributes, uri), expected in zip(variants, ((1280, 720), (854, 480)), strict=True):
        base = uri.rpartition("/")[0]
        resp = await client.get(f"/stream/{movie_id}/hls/{base + '/' if base else ''}0.ts")
        assert resp.status == 200, await resp.text()
        width, height, frames = await asyncio.to_thread(_decoded_size, await resp.read())
        assert (width, height) == expected and frames >= 10


async def test_renditions_carry_the_chosen_audio_track(client, db, make_user, tmp_path):
    shape = Shape(audio=(AudioSpec("en", tone_hz=300), AudioSpec("fr", default=True, tone_hz=1200)))
    path = generate_shaped(tmp_path / "two.mkv", shape, duration_s=2, width=864, height=486)
    movie_id = await db.fetchval("INSERT INTO movies (title) VALUES ('Two tracks') RETURNING id")
    client.server.app[MEDIA].register_file(movie_id, path)
    login_as(client, await make_user())
    plan = await (await client.get(f"/stream/{movie_id}")).json()
    english, french = plan["audio_tracks"]
    assert english["lang"] == "en" and english["master"] == f"/stream/{movie_id}/hls/master.m3u8?audio=1"
    assert french["master"] == f"/stream/{movie_id}/hls/master.m3u8"  # the film's default track
    assert plan["master"] == english["master"]  # the user's language, English
    variants = _variants(await (await client.get(english["master"])).text())
    assert [uri for _, uri in variants] == ["index.m3u8?audio=1", "480p/index.m3u8?audio=1"]
    playlist = await (await client.get(f"/stream/{movie_id}/hls/{variants[1][1]}")).text()
    assert [line for line in playlist.splitlines() if line.endswith(".ts?audio=1")]
    resp = await client.get(f"/stream/{movie_id}/hls/480p/0.ts?audio=1")
    assert resp.status == 200
    data = await resp.read()
    assert await asyncio.to_thread(_pitch, data) < 600  # the English track (300 Hz), not the default
    assert (client.server.app[MEDIA].movie_dir(movie_id) / "480p" / "0.a1.ts").read_bytes() == data
    french = await (await client.get(f"/stream/{movie_id}/hls/480p/0.ts")).read()
    assert await asyncio.to_thread(_pitch, french) > 900
    bad = await client.get(f"/stream/{movie_id}/hls/480p/0.ts?audio=7")
    assert bad.status == 404 and (await bad.json())["error"]["code"] == "not_found"


async def test_transcodes_waiting_for_a_slot_are_shown_in_the_status(
    aiohttp_client, make_app, db, make_user, full_hd
):
    """With one transcode slot, a second rendition segment asked at once waits; the film's status says
    so (the player shows "Waiting for the converter…"), and both segments arrive."""
    client = await aiohttp_client(make_app(max_transcodes=1))
    movie_id = await db.fetchval("INSERT INTO movies (title) VALUES ('Full HD') RETURNING id")
    client.server.app[MEDIA].register_file(movie_id, full_hd)
    login_as(client, await make_user())
    idle = await (await client.get(f"/stream/{movie_id}/status")).json()
    assert idle["converter"] == {"waiting": 0, "running": 0, "slots": 1}
    asked = [
        asyncio.create_task(client.get(f"/stream/{movie_id}/hls/{name}/1.ts")) for name in ("480p", "720p")
    ]
    seen = []
    for _ in range(300):
        status = await (await client.get(f"/stream/{movie_id}/status")).json()
        seen.append(status["converter"])
        if status["converter"]["waiting"]:
            break
        await asyncio.sleep(0.02)
    assert {"waiting": 1, "running": 1, "slots": 1} in seen, seen
    for resp in await asyncio.gather(*asked):
        assert resp.status == 200 and resp.headers["Content-Type"] == "video/mp2t"
    # The next segment of each rendition is cut ahead, one after the other; then the converter is idle.
    for _ in range(600):
        done = (await (await client.get(f"/stream/{movie_id}/status")).json())["converter"]
        if done == {"waiting": 0, "running": 0, "slots": 1}:
            break
        await asyncio.sleep(0.1)
    assert done == {"waiting": 0, "running": 0, "slots": 1}
    cached = client.server.app[MEDIA].movie_dir(movie_id)
    assert (cached / "480p" / "2.ts").is_file() and (cached / "720p" / "2.ts").is_file()
