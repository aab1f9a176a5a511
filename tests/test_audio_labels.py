"""The audio menu of a play plan names a track without a language "Track 1" (in the user's language), not
by the code `und` its file gives: a film published by the fake YTS, found by a search, played over HTTP."""

from __future__ import annotations

from bench.swarm import library_cards
from hypertube.media.generate_kinds import AudioSpec, Shape, generate_shaped
from tests.conftest import login_as


async def test_audio_tracks_without_a_language_are_numbered(
    aiohttp_client, make_app, make_user, source_swarm, tmp_path
):
    folder = tmp_path / "Nameless"
    folder.mkdir()
    shape = Shape(audio=(AudioSpec("und", tone_hz=300), AudioSpec("fr", default=True, tone_hz=900)))
    generate_shaped(folder / "film.mkv", shape, duration_s=4)
    source_swarm.publish_yts(1, "Nameless", folder, piece_size=16 * 1024)
    client = await aiohttp_client(make_app(**source_swarm.settings("yts")))
    login_as(client, await make_user(language="fr"))
    resp = await client.get("/", params={"q": "Nameless"})
    movie_id = library_cards(await resp.text())["Nameless"]
    plan = await (await client.get(f"/stream/{movie_id}")).json()
    assert [(a["lang"], a["label"]) for a in plan["audio_tracks"]] == [("und", "Piste 1"), ("fr", "Français")]
