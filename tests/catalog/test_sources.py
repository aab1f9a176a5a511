"""Sources against the fake services: normalised records, retries, error shapes, merge and dedup, the demo
manifest, enrichment, and the cache (in memory and in the real Redis)."""

from __future__ import annotations

import asyncio
import os
import secrets
import time

import aiohttp
import orjson
import pytest

from hypertube.cache import MemoryCache, RedisCache
from hypertube.catalog.enrich import OmdbEnricher, TmdbEnricher
from hypertube.catalog.fetch import JsonFetcher
from hypertube.catalog.records import FilmRecord, SearchFilters, SourceUnavailable, TorrentRecord
from hypertube.catalog.sources import ArchiveSource, DemoSource, YtsSource
from hypertube.catalog.store import store_records
from hypertube.db import connect_pool
from tests.fixtures.catalog import archive_doc, omdb_movie, tmdb_movie, yts_movie


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def fetcher(http):
    return JsonFetcher(http, MemoryCache(), timeout=0.3, retries=2, backoff=0.01)


@pytest.fixture
async def pool(database_url, db):
    pool = await connect_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


async def test_yts_records_are_normalised(fetcher, upstreams):
    upstreams.yts_movies = [
        yts_movie(5, "Seven Samurai", year=1954, imdb="tt0047478", rating=8.6, info_hash="AB" * 20)
    ]
    yts = YtsSource(fetcher, upstreams.url("yts"))
    [film] = await yts.search("samurai", 1, SearchFilters())
    assert film.source == "yts" and film.external_id == "5" and film.imdb_id == "tt0047478"
    assert (film.title, film.year, film.rating, film.runtime) == ("Seven Samurai", 1954, 8.6, 95)
    [t] = film.torrents
    assert t.info_hash == "ab" * 20 and t.size_bytes == 838860800 and t.seeders == 10
    assert t.magnet.startswith("magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=Seven%20Samurai&tr=udp%3A%2F%2F")
    assert await yts.search("nothing like it", 1, SearchFilters()) == []  # YTS omits "movies" when empty


async def test_yts_details_unknown_id_is_none(fetcher, upstreams):
    yts = YtsSource(fetcher, upstreams.url("yts"))
    assert await yts.details("123456") is None
    assert await yts.details("not-a-number") is None


async def test_archive_query_is_restricted_to_feature_films(fetcher, upstreams):
    upstreams.archive_docs = [
        archive_doc("nosferatu", "Nosferatu", year="1922", subject=["Horror", "Silent"])
    ]
    archive = ArchiveSource(fetcher, upstreams.url("archive"))
    [film] = await archive.search('nosferatu") OR ("*', 1, SearchFilters(genre="Horror"))
    assert film.external_id == "nosferatu" and film.year == 1922 and film.genres == ["Horror", "Silent"]
    assert film.summary == "Nosferatu, a feature film."
    assert film.torrents[0].torrent_url.endswith("/download/nosferatu/nosferatu_archive.torrent")
    assert await archive.details("unknown_item") is None  # the Archive answers {}


@pytest.mark.parametrize(
    "mode, attempts, reason",
    [
        ("error500", 3, "server error 503"),
        ("slow", 3, "timed out"),
        ("garbage", 1, "not JSON"),
        ("refuse", 1, "refused the request (403)"),
        ("error_shape", 1, "said: Invalid parameter"),
    ],
)
async def test_failures_are_retried_only_when_it_can_help(fetcher, upstreams, mode, attempts, reason):
    upstreams.mode["yts"] = mode
    yts = YtsSource(fetcher, upstreams.url("yts"))
    started = time.monotonic()
    with pytest.raises(SourceUnavailable) as err:
        await yts.search("x", 1, SearchFilters())
    assert reason in str(err.value)
    assert upstreams.hits["yts"] == attempts
    assert time.monotonic() - started < 2.5
    # Only a service that could not be reached is left alone for a while; an answer that was wrong for
    # this one request hides the source from no other search.
    assert (await fetcher.problem("yts") is not None) == (mode in ("error500", "slow"))


async def test_retry_succeeds_after_a_transient_error(fetcher, upstreams, http):
    upstreams.yts_movies = [yts_movie(1, "Back Again")]
    yts = YtsSource(fetcher, upstreams.url("yts"))
    calls = {"n": 0}
    original = upstreams._misbehave

    async def flaky(name, request):
        calls["n"] += 1
        upstreams.mode["yts"] = "error500" if calls["n"] == 1 else "ok"
        return await original(name, request)

    upstreams._misbehave = flaky  # the fake server changes behaviour, not our code
    [film] = await yts.search("back", 1, SearchFilters())
    assert film.title == "Back Again" and upstreams.hits["yts"] == 2


async def test_merge_by_imdb_and_no_duplicates_on_refetch(pool, db):
    common = dict(imdb_id="tt0017136", title="Metropolis", year=1927)
    yts = FilmRecord(source="yts", external_id="11", rating=8.3, popularity=40,
                     torrents=[TorrentRecord(quality="720p", info_hash="a" * 40, magnet="magnet:?xt=urn:btih:" + "a" * 40, seeders=40)],
                     **common)  # fmt: skip
    archive = FilmRecord(source="archive", external_id="Metropolis1927", summary="A city of the future.",
                         popularity=9000, torrents=[TorrentRecord(quality="Archive", torrent_url="http://a/x_archive.torrent")],
                         **common)  # fmt: skip
    first = await store_records(pool, [yts, archive])
    again = await store_records(pool, [yts, archive, yts])
    assert len(set(first + again)) == 1
    movie = await db.fetchrow("SELECT * FROM movies")
    assert await db.fetchval("SELECT count(*) FROM movies") == 1
    assert (
        movie["summary"] == "A city of the future."
        and float(movie["rating"]) == 8.3
        and movie["popularity"] == 9000
    )
    assert await db.fetchval("SELECT count(*) FROM movie_sources") == 2
    assert await db.fetchval("SELECT count(*) FROM torrents") == 2
    # New figures replace old ones; the hash-less torrent becomes the hashed one once its hash is known.
    yts.torrents[0].seeders = 99
    archive.torrents[0].info_hash = "b" * 40
    await store_records(pool, [yts, archive])
    assert await db.fetchval("SELECT max(seeders) FROM torrents") == 99
    assert await db.fetchval("SELECT count(*) FROM torrents") == 2
    assert await db.fetchval("SELECT count(*) FROM torrents WHERE info_hash IS NULL") == 0


async def test_archive_film_without_imdb_joins_the_same_title_and_year(pool, db):
    yts = FilmRecord("yts", "5", "Nosferatu", imdb_id="tt0013442", year=1922, popularity=3)
    archive = FilmRecord("archive", "nosferatu", "NOSFERATU", year=1922, popularity=900)
    remake = FilmRecord("archive", "nosferatu1979", "Nosferatu", year=1979)
    ids = await store_records(pool, [archive, yts, remake])
    assert ids[0] == ids[1] != ids[2]
    row = await db.fetchrow("SELECT imdb_id, popularity FROM movies WHERE id = $1", ids[0])
    assert row["imdb_id"] == "tt0013442" and row["popularity"] == 900
    # A film with another IMDb id is another film, even with the same title and year.
    other = await store_records(pool, [FilmRecord("yts", "6", "Nosferatu", imdb_id="tt9999999", year=1922)])
    assert other[0] not in ids


async def test_a_film_stored_twice_is_merged_when_its_imdb_id_turns_up(
    pool, db, make_user, aiohttp_client, make_app
):
    from tests.conftest import login_as

    hashed = TorrentRecord(quality="720p", info_hash="c" * 40, magnet="magnet:?xt=urn:btih:" + "c" * 40)
    archive = FilmRecord("archive", "notld", "Night of the Living Dead (1968)", year=1968, popularity=50,
                         summary="They keep coming.", torrents=[hashed,
                         TorrentRecord(quality="Archive", torrent_url="http://a/notld_archive.torrent")])  # fmt: skip
    yts = FilmRecord("yts", "77", "Night of the Living Dead", imdb_id="tt0063350", year=1968, rating=7.8,
                     popularity=20, torrents=[hashed])  # fmt: skip
    old, kept = await store_records(pool, [archive, yts])
    assert old != kept  # the titles differ: two films for now
    alice, bob = await make_user("alice"), await make_user("bob")
    await db.execute(
        "INSERT INTO comments (movie_id, user_id, body) VALUES ($1, $2, 'seen it')", old, alice.id
    )
    await db.execute("INSERT INTO chat_messages (movie_id, user_id, body) VALUES ($1, $2, 'hi')", old, bob.id)
    await db.execute(
        """INSERT INTO watches (user_id, movie_id, position_s, watched_at) VALUES
           ($1, $2, 100, now() - interval '1 day'), ($1, $3, 1200, now()), ($4, $2, 42, now())""",
        alice.id, old, kept, bob.id,
    )  # fmt: skip
    await db.execute(
        """INSERT INTO downloads (info_hash, node_id, movie_id, source, save_path)
           VALUES ($1, 'n1', $2, 'x', '/tmp/x')""",
        "c" * 40,
        old,
    )
    # The Archive item now names its IMDb id: the two are one film.
    archive.imdb_id = "tt0063350"
    [merged] = await store_records(pool, [archive])
    assert merged == kept
    assert await db.fetchval("SELECT count(*) FROM movies") == 1
    movie = await db.fetchrow("SELECT * FROM movies")
    assert movie["summary"] == "They keep coming." and float(movie["rating"]) == 7.8
    assert movie["popularity"] == 50 and movie["title"] == "Night of the Living Dead"
    assert await db.fetchval("SELECT count(*) FROM movie_sources WHERE movie_id = $1", kept) == 2
    torrents = await db.fetch("SELECT info_hash, torrent_url FROM torrents WHERE movie_id = $1", kept)
    assert sorted((t["info_hash"] or "", t["torrent_url"] or "") for t in torrents) == [
        ("", "http://a/notld_archive.torrent"),
        ("c" * 40, ""),
    ]
    assert await db.fetchval("SELECT count(*) FROM comments WHERE movie_id = $1", kept) == 1
    assert await db.fetchval("SELECT count(*) FROM chat_messages WHERE movie_id = $1", kept) == 1
    assert await db.fetchval("SELECT movie_id FROM downloads") == kept
    positions = dict(await db.fetch("SELECT user_id, position_s FROM watches WHERE movie_id = $1", kept))
    assert positions == {alice.id: 1200, bob.id: 42}  # the most recent position of each viewer
    # Fetching both again changes nothing; the old address leads to the film.
    assert await store_records(pool, [archive, yts]) == [kept, kept]
    client = await aiohttp_client(make_app())
    login_as(client, alice)
    resp = await client.get(f"/movies/{old}", allow_redirects=False)
    assert resp.status == 301 and resp.headers["Location"] == f"/movies/{kept}"
    assert (await client.get(f"/movies/{old}")).status == 200


async def test_films_without_imdb_stay_apart(pool, db):
    await store_records(
        pool, [FilmRecord("archive", "a1", "Same Name"), FilmRecord("archive", "a2", "Same Name")]
    )
    assert await db.fetchval("SELECT count(*) FROM movies") == 2


async def test_concurrent_stores_of_the_same_film_do_not_duplicate(pool, db):
    import asyncio

    record = FilmRecord("yts", "77", "Twin", imdb_id="tt7777777")
    await asyncio.gather(*(store_records(pool, [record]) for _ in range(5)))
    assert await db.fetchval("SELECT count(*) FROM movies") == 1


async def test_demo_manifest(tmp_path):
    demo = DemoSource(tmp_path / "demo" / "manifest.json")
    assert await demo.search("", 1, SearchFilters()) == []  # no manifest: nothing, no error
    (tmp_path / "demo").mkdir()
    entry = {
        "id": "demo-mp4", "title": "Big Buck Demo", "year": 2008, "runtime": 1, "genres": ["Animation"],
        "summary": "A test film.", "rating": 7.5, "director": "Hypertube", "cast": ["A Rabbit"],
        "quality": "720p", "size": 1048576, "info_hash": "c" * 40, "magnet": "magnet:?xt=urn:btih:" + "c" * 40,
        "cover_url": None,
    }  # fmt: skip
    (tmp_path / "demo" / "manifest.json").write_bytes(orjson.dumps([entry, {"id": "broken"}]))
    [film] = await demo.search("buck", 1, SearchFilters())
    assert film.torrents[0].info_hash == "c" * 40 and film.torrents[0].size_bytes == 1048576
    # No cover of its own: its poster is made from one of its frames.
    assert film.cast == [{"name": "A Rabbit", "character": None}] and film.cover_url == "demo-frame:demo-mp4"
    assert (await demo.details("demo-mp4")).title == "Big Buck Demo"
    (tmp_path / "demo" / "manifest.json").write_text("{garbage")
    assert await demo.search("", 1, SearchFilters()) == []


async def test_demo_films_show_in_the_library(aiohttp_client, make_app, make_user, tmp_path, settings):
    from tests.conftest import login_as

    folder = settings.data_dir / "demo"
    folder.mkdir(parents=True)
    entry = {"id": "demo-mp4", "title": "Demo Film", "year": 2024, "info_hash": "d" * 40,
             "magnet": "magnet:?xt=urn:btih:" + "d" * 40, "cover_url": None}  # fmt: skip
    (folder / "manifest.json").write_bytes(orjson.dumps([entry]))
    client = await aiohttp_client(make_app(sources=("demo",)))
    login_as(client, await make_user())
    html = await (await client.get("/")).text()
    assert "Demo Film" in html and "movie-cover-placeholder" in html


async def test_tmdb_and_omdb_enrichment_and_their_errors(fetcher, upstreams):
    upstreams.tmdb["tt0133093"] = tmdb_movie(603, "tt0133093", "The Matrix")
    upstreams.omdb["tt0133093"] = omdb_movie("tt0133093", "The Matrix")
    tmdb = TmdbEnricher(fetcher, upstreams.url("tmdb"), upstreams.tmdb_key)
    omdb = OmdbEnricher(fetcher, upstreams.url("omdb"), upstreams.omdb_key)
    found = await tmdb.enrich("tt0133093")
    assert found.director == "Lana Wachowski" and found.producer == "Joel Silver"
    assert found.cover_url == "https://image.tmdb.org/t/p/w500/poster603.jpg"
    assert [c["name"] for c in found.cast] == ["Keanu Reeves", "Carrie-Anne Moss"]
    o = await omdb.enrich("tt0133093")
    assert o.rating == 8.7 and o.director == "Lana Wachowski, Lilly Wachowski" and o.producer is None
    assert len(o.cast) == 3
    assert await tmdb.enrich("tt9999999") is None
    assert await omdb.enrich("tt9999999") is None  # {"Response":"False","Error":"Incorrect IMDb ID."}
    with pytest.raises(SourceUnavailable, match="401"):
        await TmdbEnricher(fetcher, upstreams.url("tmdb"), "wrong").enrich("tt0133093")
    with pytest.raises(SourceUnavailable, match="401"):
        await OmdbEnricher(fetcher, upstreams.url("omdb"), "wrong").enrich("tt0133093")
    bearer = TmdbEnricher(fetcher, upstreams.url("tmdb"), "a.b.c")
    upstreams.tmdb_key = "a.b.c"
    assert (await bearer.enrich("tt0133093")).director == "Lana Wachowski"


async def test_source_answers_are_cached_with_a_ttl(fetcher, upstreams):
    upstreams.yts_movies = [yts_movie(1, "Cached")]
    yts = YtsSource(fetcher, upstreams.url("yts"))
    await yts.search("cached", 1, SearchFilters())
    await yts.search("cached", 1, SearchFilters())
    assert upstreams.hits["yts"] == 1
    short = JsonFetcher(fetcher.session, MemoryCache(), timeout=0.3)
    await short.get("yts", upstreams.url("yts") + "/list_movies.json", {"query_term": "c"}, ttl=0.05)
    await asyncio.sleep(0.06)
    await short.get("yts", upstreams.url("yts") + "/list_movies.json", {"query_term": "c"}, ttl=0.05)
    assert upstreams.hits["yts"] == 3


async def test_redis_cache_serves_sources_and_stale_copies(http, upstreams):
    url = os.environ.get("HYPERTUBE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    cache = RedisCache(url, prefix=f"ht-test-{secrets.token_hex(4)}:")
    try:
        fetcher = JsonFetcher(http, cache, timeout=0.3, retries=0)
        upstreams.yts_movies = [yts_movie(1, "Redis Film")]
        yts = YtsSource(fetcher, upstreams.url("yts"))
        [film] = await yts.search("redis", 1, SearchFilters())
        assert film.title == "Redis Film"
        # A second process with its own fetcher on the same Redis gets the answer without asking.
        other = YtsSource(JsonFetcher(http, cache, timeout=0.3), upstreams.url("yts"))
        assert (await other.search("redis", 1, SearchFilters()))[0].title == "Redis Film"
        assert upstreams.hits["yts"] == 1
        # Fresh entry gone, source down: the stale copy answers, and the problem is noted.
        key = (
            "src:"
            + __import__("hashlib")
            .sha1(
                (
                    upstreams.url("yts")
                    + "/list_movies.json?limit=50&order_by=asc&page=1&query_term=redis&sort_by=title"
                ).encode()
            )
            .hexdigest()
        )
        assert await cache.get(key) is not None
        await cache.delete(key)
        upstreams.mode["yts"] = "error500"
        assert (await yts.search("redis", 1, SearchFilters()))[0].title == "Redis Film"
        assert await fetcher.problem("yts") == "server error 503"
    finally:
        r = cache._redis  # type: ignore[attr-defined]
        keys = [k async for k in r.scan_iter(match=cache._prefix + "*")]  # type: ignore[attr-defined]
        if keys:
            await r.delete(*keys)
        await cache.close()


async def test_demo_films_are_stored_as_soon_as_the_manifest_appears(aiohttp_client, make_app, settings, db):
    client = await aiohttp_client(make_app(sources=("demo",)))
    assert await db.fetchval("SELECT count(*) FROM movies") == 0
    folder = settings.data_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    entry = {
        "id": "demo-late",
        "title": "Late Demo",
        "info_hash": "e" * 40,
        "magnet": "magnet:?xt=urn:btih:" + "e" * 40,
    }
    (folder / "manifest.json").write_bytes(orjson.dumps([entry]))
    for _ in range(40):
        if await db.fetchval("SELECT count(*) FROM movies"):
            break
        await asyncio.sleep(0.1)
    assert await db.fetchval("SELECT title FROM movies") == "Late Demo"
    assert client.app is not None
