"""The download state the player words ("Downloading 12 % · 3 peers · 2.1 MB/s · starts in about 4 s"):
for a film found by a library search, `/stream/{id}/status` gives the size of the film's file once the
torrent's metadata is here, which the player's estimate of the start divides by the rate."""

from __future__ import annotations

from tests.media.test_kinds_swarm import _found


async def test_status_gives_the_films_size_once_the_metadata_is_here(
    aiohttp_client, make_app, make_user, source_swarm, films
):
    film = films["mp4-h264-aac"]
    source_swarm.publish_yts(1, "Quartz", film)
    client, movie_id = await _found(aiohttp_client, make_app, make_user, source_swarm, "Quartz")
    plan = await client.get(f"/stream/{movie_id}")  # the plan waits for the metadata and the probe
    assert plan.status == 200, await plan.text()
    resp = await client.get(f"/stream/{movie_id}/status")
    assert resp.status == 200
    status = await resp.json()
    assert status["size"] == film.stat().st_size
    assert 0 <= status["progress"] <= 1 and status["rate"] >= 0 and status["peers"] >= 0
    assert status["state"] in ("downloading", "finished", "waiting_for_peers")
