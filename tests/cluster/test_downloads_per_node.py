"""Downloads per node: two nodes on one database (two apps in this process, nodes n1 and n2, each with
its own data folder) play the same film the user's way (found by a library search, its torrent from
the fake YTS, peers from the tracker). Each restores, updates and sweeps only its own copy."""

from __future__ import annotations

from pathlib import Path

from bench.swarm import library_cards
from hypertube.keys import TORRENTS
from hypertube.torrent.storage import sweep
from tests.conftest import login_as


async def _node(aiohttp_client, make_app, swarm, user, root: Path, node_id: str):
    client = await aiohttp_client(make_app(node_id=node_id, data_dir=root / node_id, **swarm.settings("yts")))
    login_as(client, user)
    return client


async def _plays(client, title: str, data: bytes) -> int:
    resp = await client.get("/", params={"q": title})
    movie_id = library_cards(await resp.text())[title]
    resp = await client.get(f"/stream/{movie_id}/file")
    assert resp.status == 200, await resp.text()
    assert await resp.read() == data
    return movie_id


async def _rows(db, info_hash: str) -> dict[str, str]:
    rows = await db.fetch("SELECT node_id, save_path FROM downloads WHERE info_hash = $1", info_hash)
    return {r["node_id"]: r["save_path"] for r in rows}


async def test_each_node_restores_and_sweeps_only_its_own_copy(
    aiohttp_client, make_app, make_user, source_swarm, generated_films, db, tmp_path
):
    film = generated_films["mp4"]
    data = film.read_bytes()
    published = source_swarm.publish_yts(3, "Two Shores", film)
    user = await make_user()
    root = tmp_path / "nodes"
    one = await _node(aiohttp_client, make_app, source_swarm, user, root, "n1")
    movie_id = await _plays(one, "Two Shores", data)
    # The film moved: n2 plays it too, into its own folder, with its own row.
    two = await _node(aiohttp_client, make_app, source_swarm, user, root, "n2")
    assert await _plays(two, "Two Shores", data) == movie_id
    info_hash = published.info_hash
    folders = {n: root / n / "downloads" / info_hash for n in ("n1", "n2")}
    assert await _rows(db, info_hash) == {n: str(folder) for n, folder in folders.items()}

    # n1's row as written before nodes had ids (what migration 021 leaves it as): a restarted node
    # takes back such rows in its own folder only, and adds back its own copy, not the other node's.
    await db.execute("UPDATE downloads SET node_id = '' WHERE node_id = 'n1'")
    await two.close()
    two = await _node(aiohttp_client, make_app, source_swarm, user, root, "n2")
    assert await _rows(db, info_hash) == {"": str(folders["n1"]), "n2": str(folders["n2"])}
    assert two.app[TORRENTS].downloads[info_hash].save_path == folders["n2"]
    await one.close()
    one = await _node(aiohttp_client, make_app, source_swarm, user, root, "n1")
    assert await _rows(db, info_hash) == {n: str(folder) for n, folder in folders.items()}
    assert one.app[TORRENTS].downloads[info_hash].save_path == folders["n1"]

    # Nobody watched it for 40 days: n2's janitor deletes n2's copy and row, nothing of n1's.
    await db.execute("UPDATE downloads SET last_watched_at = now() - interval '40 days'")
    await db.execute("UPDATE watches SET watched_at = now() - interval '40 days'")
    assert await sweep(two.app[TORRENTS], two.app[TORRENTS].pool, unwatched_days=30) == [info_hash]
    assert not folders["n2"].exists() and info_hash not in two.app[TORRENTS].downloads
    assert await _rows(db, info_hash) == {"n1": str(folders["n1"])}
    assert (folders["n1"] / film.name).read_bytes() == data
    # n2's status of the film is its own: nothing here, whatever n1 holds.
    resp = await two.get(f"/stream/{movie_id}/status")
    assert resp.status == 200 and (await resp.json())["state"] == "idle", await resp.text()
    # n1's own janitor deletes n1's copy.
    assert await sweep(one.app[TORRENTS], one.app[TORRENTS].pool, unwatched_days=30) == [info_hash]
    assert not folders["n1"].exists() and await _rows(db, info_hash) == {}
