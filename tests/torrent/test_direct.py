"""Direct play over a real loopback swarm: byte ranges match the source file byte for byte. The film
is published by the fake YTS, found by a library search, its peer found through its tracker."""

from __future__ import annotations

import asyncio
import random


async def _seeded_mp4(source_films, generated_films, upload_rate: int = 0):
    """The MP4 test film published and seeded on loopback: its bytes, id and a signed-in client."""
    source = generated_films["mp4"]
    film = source_films.publish(source, upload_rate=upload_rate)
    client = await source_films.client()
    movie_id = await source_films.find(client, film.title)
    return source.read_bytes(), movie_id, client, film


async def test_byte_ranges_match_source(source_films, generated_films, db):
    data, movie_id, client, _ = await _seeded_mp4(source_films, generated_films)
    user = client.user
    size = len(data)

    resp = await client.get(f"/stream/{movie_id}/file", headers={"Range": "bytes=0-99"})
    assert resp.status == 206
    assert resp.headers["Content-Range"] == f"bytes 0-99/{size}"
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["Content-Type"] == "video/mp4"
    assert await resp.read() == data[:100]

    rng = random.Random(4)
    for _ in range(5):
        a = rng.randrange(size)
        b = min(size - 1, a + rng.randrange(1, 300_000))
        resp = await client.get(f"/stream/{movie_id}/file", headers={"Range": f"bytes={a}-{b}"})
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes {a}-{b}/{size}"
        assert await resp.read() == data[a : b + 1]

    a = size - 12345
    resp = await client.get(f"/stream/{movie_id}/file", headers={"Range": f"bytes={a}-"})
    assert resp.status == 206 and await resp.read() == data[a:]
    resp = await client.get(f"/stream/{movie_id}/file", headers={"Range": "bytes=-500"})
    assert resp.status == 206 and resp.headers["Content-Range"] == f"bytes {size - 500}-{size - 1}/{size}"
    assert await resp.read() == data[-500:]
    resp = await client.get(f"/stream/{movie_id}/file", headers={"Range": f"bytes=10-{size * 2}"})
    assert resp.status == 206 and await resp.read() == data[10:]

    resp = await client.get(f"/stream/{movie_id}/file")
    assert resp.status == 200 and int(resp.headers["Content-Length"]) == size
    assert await resp.read() == data

    for bad in (
        f"bytes={size}-",
        f"bytes={size + 10}-{size + 20}",
        "bytes=50-10",
        "bytes=-0",
        "bytes=abc",
        "bytes=-",
        "bytes=99999999999999999999999-",
    ):
        resp = await client.get(f"/stream/{movie_id}/file", headers={"Range": bad})
        assert resp.status == 416, bad
        assert resp.headers["Content-Range"] == f"bytes */{size}"
        assert (await resp.json())["error"]["code"] == "range_not_satisfiable"

    assert (
        await db.fetchval(
            "SELECT count(*) FROM watches WHERE user_id = $1 AND movie_id = $2", user.id, movie_id
        )
        == 1
    )


async def test_client_disconnect_frees_the_reader(source_films, generated_films):
    from hypertube.keys import TORRENTS
    from tests.fixtures.torrent import wait_until

    data, movie_id, client, film = await _seeded_mp4(source_films, generated_films, 96 * 1024)
    engine = client.app[TORRENTS]
    resp = await client.get(f"/stream/{movie_id}/file")
    assert resp.status == 200
    first = await resp.content.readany()
    assert first == data[: len(first)]
    assert engine.open_readers(movie_id) == 1
    resp.close()  # the browser navigates away mid-film
    await wait_until(lambda: engine.open_readers(movie_id) == 0, 10)
    assert not engine.downloads[film.info_hash]._deadlines


async def test_finished_film_is_sent_from_its_file(source_films, generated_films, db):
    from hypertube.keys import TORRENTS

    data, movie_id, client, _ = await _seeded_mp4(source_films, generated_films)
    user = client.user
    size = len(data)
    engine = client.app[TORRENTS]
    url = f"/stream/{movie_id}/file"

    resp = await client.get(url)  # downloads the film through the piece reader
    assert resp.status == 200 and await resp.read() == data
    assert "ETag" not in resp.headers
    piece_headers = set(resp.headers) - {"Set-Cookie"}  # cookies are set on the first response only

    # Once whole on disk, FileResponse answers: it dates and labels the file (Last-Modified, ETag)
    # and honours a dated If-Range, which the piece reader does not.
    for _ in range(100):
        resp = await client.head(url)
        if "ETag" in resp.headers:
            break
        await asyncio.sleep(0.1)
    assert resp.status == 200 and "ETag" in resp.headers and "Last-Modified" in resp.headers
    assert int(resp.headers["Content-Length"]) == size and await resp.read() == b""
    assert piece_headers <= set(resp.headers) | {"Transfer-Encoding"}
    modified = resp.headers["Last-Modified"]

    for a, b in ((0, 99), (size // 3, size // 3 + 300_000), (size - 500, size - 1)):
        resp = await client.get(url, headers={"Range": f"bytes={a}-{b}"})
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes {a}-{b}/{size}"
        assert resp.headers["Content-Type"] == "video/mp4"
        assert resp.headers["Cache-Control"] == "private, no-transform"
        assert await resp.read() == data[a : b + 1]
    resp = await client.get(url, headers={"Range": "bytes=-500"})
    assert resp.status == 206 and await resp.read() == data[-500:]
    resp = await client.get(url, headers={"Range": "bytes=10-", "If-Range": modified})
    assert resp.status == 206 and await resp.read() == data[10:]
    resp = await client.get(url, headers={"Range": "bytes=10-", "If-Range": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert resp.status == 200 and await resp.read() == data
    resp = await client.get(url, headers={"Range": f"bytes={size}-"})
    assert resp.status == 416 and (await resp.json())["error"]["code"] == "range_not_satisfiable"
    assert resp.headers["Content-Range"] == f"bytes */{size}"

    assert engine.open_readers(movie_id) == 0
    assert (
        await db.fetchval(
            "SELECT count(*) FROM watches WHERE user_id = $1 AND movie_id = $2", user.id, movie_id
        )
        == 1
    )
