"""Each awkward kind of film as a user reaches it (published by a fake YTS, found by a library search,
peers from the tracker its torrent names) and played through the HTTP routes: plan kind, output codec,
profile and bit depth, display size, duration, a 70 % seek, audio and subtitle menus, image subtitles
listed apart, accents intact."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import pytest

from bench.swarm import library_cards
from hypertube.media.generate import write_srt
from hypertube.media.generate_kinds import AudioSpec, Shape, generate_shaped, write_vobsub_pair
from tests.conftest import login_as

# kind: (shape, video conversion, display size, title); each title one word no other film shares, so
# the search that finds it asks the source rather than stopping at films already stored.
KINDS = {
    "high10": (Shape(container="mp4", pix_fmt="yuv420p10le"), "transcode", (192, 108), "Amber"),
    "phone": (Shape(container="mp4", video_codec="hevc", rotation=90), "transcode", (108, 192), "Cobalt"),
    "pal": (Shape(sar=Fraction(16, 11)), "copy", (278, 108), "Crimson"),
    "nocues": (Shape(cues=False), "copy", (192, 108), "Indigo"),
    "far": (Shape(container="ts", start_s=20_000), "copy", (192, 108), "Ochre"),
    "jump": (Shape(container="ts", start_s=5, jump_at_s=4.0, jump_s=50), "copy", (192, 108), "Umber"),
}
EXTENSIONS = {"mp4": "mp4", "mkv": "mkv", "ts": "ts"}


async def _found(aiohttp_client, make_app, make_user, swarm, title: str, language: str = "en"):
    """A signed-in client on an app whose catalog asks the fake sources, and the id of the film the
    library search for `title` shows."""
    client = await aiohttp_client(make_app(**swarm.settings("yts")))
    login_as(client, await make_user(language=language))
    resp = await client.get("/", params={"q": title})
    assert resp.status == 200, await resp.text()
    return client, library_cards(await resp.text())[title]


async def _playlist(client, url: str) -> tuple[list[str], list[float]]:
    text = await (await client.get(url)).text()
    names = [line for line in text.splitlines() if line and not line.startswith("#")]
    durations = [float(line[8:].rstrip(",")) for line in text.splitlines() if line.startswith("#EXTINF:")]
    return names, durations


async def _segment(client, movie_id: int, name: str) -> bytes:
    resp = await client.get(f"/stream/{movie_id}/hls/{name}")
    assert resp.status == 200, await resp.text()
    return await resp.read()


@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_kind_plays_through_the_swarm(
    aiohttp_client, make_app, make_user, source_swarm, tmp_path, kind
):
    shape, action, size, title = KINDS[kind]
    film = generate_shaped(tmp_path / kind / f"{kind}.{EXTENSIONS[shape.container]}", shape, duration_s=10)
    source_swarm.publish_yts(1, title, film, piece_size=16 * 1024)
    client, movie_id = await _found(aiohttp_client, make_app, make_user, source_swarm, title)
    resp = await client.get(f"/stream/{movie_id}")
    assert resp.status == 200, await resp.text()
    plan = await resp.json()
    assert (plan["kind"], plan["conversion"]["video"]) == ("hls", action)
    assert (plan["video"]["width"], plan["video"]["height"]) == size
    assert abs(plan["duration"] - 10) <= 1.0 and plan["missing"] is None
    names, durations = await _playlist(client, plan["url"])
    assert abs(sum(durations) - 10) <= 1.0
    starts = [sum(durations[:i]) for i in range(len(durations))]
    index = max(i for i, start in enumerate(starts) if start <= 0.7 * plan["duration"])
    with av.open(io.BytesIO(await _segment(client, movie_id, names[index]))) as c:  # the 70 % seek
        stream = c.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.profile in ("Constrained Baseline", "Main", "High")
        first = next(c.decode(video=0))
        assert first.format.name == "yuv420p"  # 8-bit 4:2:0
        shown = round(first.width * float(stream.sample_aspect_ratio or 1)) // 2 * 2, first.height
        assert shown == size
        assert abs(float(first.pts * first.time_base) - 1.0 - starts[index]) < 0.05


async def test_audio_and_subtitle_menus_over_http(
    aiohttp_client, make_app, make_user, source_swarm, tmp_path
):
    folder = tmp_path / "Le Film"
    folder.mkdir()
    shape = Shape(
        audio=(AudioSpec("en", "ac3", tone_hz=300), AudioSpec("fr", "aac", default=True, tone_hz=1200)),
        image_subtitles=("de",),
    )
    generate_shaped(folder / "film.mkv", shape, duration_s=8)
    write_srt(folder / "film.fr.srt", [(1.0, 3.0, "{\\an8}Déjà vu à l'été, garçon !")])
    write_srt(folder / "film.en.srt", [(1.0, 3.0, "Hello")])
    write_srt(folder / "film.es.srt", [(1.0, 3.0, "{\\an8}")])  # converts to no cue at all
    write_vobsub_pair(folder, "film.it", "it")
    source_swarm.publish_yts(1, "Scarlet", folder, piece_size=16 * 1024)
    client, movie_id = await _found(aiohttp_client, make_app, make_user, source_swarm, "Scarlet", "fr")
    plan = await (await client.get(f"/stream/{movie_id}")).json()
    assert plan["kind"] == "hls" and plan["audio"]["lang"] == "fr" and plan["audio"]["index"] == 2
    assert plan["url"] == f"/stream/{movie_id}/hls/index.m3u8"
    assert [(a["lang"], a["selected"]) for a in plan["audio_tracks"]] == [("en", False), ("fr", True)]
    english = plan["audio_tracks"][0]["url"]
    assert english == f"/stream/{movie_id}/hls/index.m3u8?audio=1"
    names, _ = await _playlist(client, english)
    assert names[0] == "0.ts?audio=1"
    with av.open(io.BytesIO(await _segment(client, movie_id, names[0]))) as c:
        assert c.streams.audio[0].codec_context.name == "aac"  # AC3 re-encoded for the browser
    bad = await client.get(f"/stream/{movie_id}/hls/index.m3u8?audio=7")
    assert bad.status == 404
    # Spanish became an empty track: a request finds nothing, and the plan stops offering it.
    assert (await client.get(f"/stream/{movie_id}/subtitles/es.vtt")).status == 404
    plan = await (await client.get(f"/stream/{movie_id}")).json()
    assert [s["lang"] for s in plan["subtitles"]] == ["fr", "en"]
    assert sorted((s["lang"], s["source"]) for s in plan["image_subtitles"]) == [
        ("de", "dvdsub"),
        ("it", "film.it.sub"),
    ]
    vtt = await (await client.get(plan["subtitles"][0]["url"])).text()
    assert "Déjà vu à l'été, garçon !" in vtt and "an8" not in vtt
