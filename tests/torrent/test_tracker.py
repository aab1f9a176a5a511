"""The HTTP tracker the demo swarm announces to: peers for the torrents it knows, a bencoded failure
for any other torrent and for every query it cannot read, never an HTTP error."""

from __future__ import annotations

from urllib.parse import quote_from_bytes

import aiohttp
import libtorrent as lt

from hypertube.torrent.tracker import MAX_PEERS, Tracker, TrackerServer

KNOWN = bytes(range(20))


def _query(info_hash: bytes = KNOWN, peer_id: bytes = b"-XX0001-" + b"a" * 12, **fields: str) -> str:
    params = {"port": "6881", "uploaded": "0", "downloaded": "0", "left": "0", "compact": "1"} | fields
    return f"info_hash={quote_from_bytes(info_hash)}&peer_id={quote_from_bytes(peer_id)}&" + "&".join(
        f"{k}={v}" for k, v in params.items()
    )


async def test_the_tracker_hands_out_peers_of_the_torrents_it_knows_and_refuses_the_rest():
    server = TrackerServer(Tracker(torrents=frozenset({KNOWN})))
    await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:

            async def announce(query: str) -> dict:
                async with http.get(f"{server.url}?{query}") as resp:
                    assert resp.status == 200
                    answer = lt.bdecode(await resp.read())
                assert isinstance(answer, dict), answer
                return answer

            seeder = await announce(_query(port="7001", event="started"))
            assert seeder[b"peers"] == b"" and seeder[b"complete"] == 1
            client = await announce(_query(peer_id=b"-YY0001-" + b"b" * 12, port="7002", left="100"))
            assert client[b"peers"] == bytes([127, 0, 0, 1]) + (7001).to_bytes(2, "big")
            assert (client[b"complete"], client[b"incomplete"]) == (1, 1)
            await announce(_query(port="7001", event="stopped"))
            again = await announce(_query(peer_id=b"-YY0001-" + b"b" * 12, port="7002", left="100"))
            assert again[b"peers"] == b"" and again[b"complete"] == 0

            bad = {
                _query(info_hash=b"\xff" * 20): b"unknown torrent",
                _query(info_hash=b"short"): b"info_hash must be 20 bytes",
                "": b"info_hash must be 20 bytes",
                _query(peer_id=b"x"): b"peer_id must be 20 bytes",
                _query(port="0"): b"port must be",
                _query(port="70000"): b"port must be",
                _query(port="%F0%9F%8E%AC"): b"port must be",
                _query(left="-1"): b"left must be",
                _query(left="1e9"): b"left must be",
                _query(numwant="9999"): b"numwant must be",
                _query(event="exploded"): b"unknown event",
                _query() + "".join(f"&x{i}=1" for i in range(40)): b"too many query fields",
                "info_hash=%%%&&&==": b"info_hash must be 20 bytes",
            }
            for query, reason in bad.items():
                answer = await announce(query)
                assert set(answer) == {b"failure reason"}, (query, answer)
                assert answer[b"failure reason"].startswith(reason), (query, answer)
    finally:
        await server.close()
    assert [a.event for a in server.tracker.announces] == ["started", "", "stopped", ""]


def test_a_client_that_leaves_out_left_is_a_leecher():
    tracker = Tracker(torrents=frozenset({KNOWN}))
    query = _query()
    without_left = "&".join(part for part in query.split("&") if not part.startswith("left="))
    answer = tracker.answer(without_left, "127.0.0.1")
    assert (answer["complete"], answer["incomplete"]) == (0, 1)
    assert tracker.announces[-1].left is None


def test_a_pinned_seeder_is_never_evicted_and_comes_first():
    tracker = Tracker(torrents=frozenset({KNOWN}), pinned=frozenset({("127.0.0.1", 7001)}))
    tracker.answer(_query(port="7001", event="started"), "127.0.0.1")
    for i in range(MAX_PEERS + 50):
        tracker.answer(_query(peer_id=b"%020d" % i, port="7002", left="100"), "127.0.0.1")
    assert len(tracker.swarms[KNOWN]) == MAX_PEERS
    viewer = tracker.answer(_query(peer_id=b"-YY0001-" + b"v" * 12, left="100"), "127.0.0.1")
    seeder = bytes([127, 0, 0, 1]) + (7001).to_bytes(2, "big")
    assert isinstance(viewer["peers"], bytes) and viewer["peers"][:6] == seeder
    assert viewer["complete"] == 1
