"""The stream guard on two in-process nodes sharing Redis: stream requests go to the film's node; the
URLs a node hands out name it. (The whole path through Traefik is in test_local_cluster.py.)"""

from __future__ import annotations

from yarl import URL

from hypertube.cluster import Node, owner
from hypertube.http.affinity import pin_plan, pin_playlist
from hypertube.keys import NODES, PLACEMENT


async def _two_nodes(aiohttp_client, make_app, redis_settings):
    one = await aiohttp_client(make_app(node_id="one", **redis_settings))
    two = await aiohttp_client(make_app(node_id="two", **redis_settings))
    nodes = [one.server.app[NODES].node, two.server.app[NODES].node]
    return {"one": one, "two": two}, nodes


def _film_of(node_id: str, nodes: list[Node]) -> int:
    return next(i for i in range(1, 100) if owner(str(i), nodes).id == node_id)


async def test_a_stream_request_on_another_node_is_redirected_to_the_films_node(
    aiohttp_client, make_app, redis_settings
):
    clients, nodes = await _two_nodes(aiohttp_client, make_app, redis_settings)
    for holder, other in (("one", "two"), ("two", "one")):
        film = _film_of(holder, nodes)
        for path in (
            f"/stream/{film}",
            f"/stream/{film}/file",
            f"/stream/{film}/status",
            f"/stream/{film}/hls/master.m3u8?audio=2",
            f"/stream/{film}/hls/720p/3.ts?audio=2",
            f"/stream/{film}/subtitles/fr.vtt?node={other}",
        ):
            resp = await clients[other].get(path, allow_redirects=False)
            assert resp.status == 307, path
            assert resp.headers["X-Hypertube-Node"] == other
            location = URL(resp.headers["Location"])
            asked = URL(path)
            assert location.path == asked.path
            assert dict(location.query) == {**asked.query, "node": holder}
            # On the film's node the request reaches its handler (which wants a signed-in user).
            resp = await clients[holder].get(str(location), allow_redirects=False)
            assert resp.status == 401 and resp.headers["X-Hypertube-Node"] == holder, path


async def test_what_any_node_can_answer_is_not_redirected(aiohttp_client, make_app, redis_settings):
    clients, nodes = await _two_nodes(aiohttp_client, make_app, redis_settings)
    film = _film_of("one", nodes)
    for method, path in (
        ("POST", f"/stream/{film}/position"),
        ("GET", f"/movies/{film}"),
        ("GET", "/healthz"),
    ):
        resp = await clients["two"].request(method, path, allow_redirects=False)
        assert resp.status != 307, path
    # Pinned to its node yet delivered here (a proxy that could not reach it): served, not bounced back.
    resp = await clients["two"].get(f"/stream/{film}/file?node=one", allow_redirects=False)
    assert resp.status == 401


async def test_a_lone_node_serves_every_film(aiohttp_client, make_app, redis_settings):
    alone = await aiohttp_client(make_app(node_id="alone", **redis_settings))
    for film in range(1, 20):
        resp = await alone.get(f"/stream/{film}/file", allow_redirects=False)
        assert resp.status == 401
    assert not alone.server.app[PLACEMENT].shared


async def test_a_node_that_left_hands_its_films_to_the_next_node(aiohttp_client, make_app, redis_settings):
    clients, nodes = await _two_nodes(aiohttp_client, make_app, redis_settings)
    film = _film_of("two", nodes)
    resp = await clients["one"].get(f"/stream/{film}/file", allow_redirects=False)
    assert resp.status == 307
    await clients["two"].close()
    resp = await clients["one"].get(f"/stream/{film}/file?node=two", allow_redirects=False)
    assert resp.status == 401 and resp.headers["X-Hypertube-Node"] == "one"


def test_playlists_and_plans_name_the_node():
    master = (
        '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",URI="audio/index.m3u8?audio=2"\n'
        "#EXT-X-STREAM-INF:BANDWIDTH=800000\n360p/index.m3u8?audio=2\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=2000000\nindex.m3u8\n"
    )
    assert pin_playlist(master, "n2") == (
        '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",URI="audio/index.m3u8?audio=2&node=n2"\n'
        "#EXT-X-STREAM-INF:BANDWIDTH=800000\n360p/index.m3u8?audio=2&node=n2\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=2000000\nindex.m3u8?node=n2\n"
    )
    plan = {
        "url": "/stream/7/hls/index.m3u8",
        "urls": ["/stream/7/hls/index.m3u8"],
        "subtitles": [{"lang": "fr", "label": "Français", "url": "/stream/7/subtitles/fr.vtt"}],
        "audio_tracks": [{"url": "/stream/7/hls/index.m3u8?audio=2", "master": None, "label": "/stream"}],
        "duration": 12.5,
    }
    pinned = pin_plan(plan, "n2")
    assert pinned["url"] == "/stream/7/hls/index.m3u8?node=n2" and pinned["urls"] == [pinned["url"]]
    assert pinned["subtitles"][0]["url"] == "/stream/7/subtitles/fr.vtt?node=n2"
    assert pinned["audio_tracks"][0] == {
        "url": "/stream/7/hls/index.m3u8?audio=2&node=n2",
        "master": None,
        "label": "/stream",
    }
    assert pinned["duration"] == 12.5
