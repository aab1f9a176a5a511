"""The film page: details fetched on first view (and enrichment), torrents, 404s, and comments."""

from __future__ import annotations

import re

import pytest

from hypertube.keys import CATALOG, EVENTS
from tests.conftest import csrf_for, login_as
from tests.fixtures.catalog import archive_doc, archive_metadata, omdb_movie, tmdb_movie, yts_movie


@pytest.fixture
async def film_client(aiohttp_client, make_app, make_user, upstreams):
    async def build(keys: bool = False, **overrides):
        client = await aiohttp_client(make_app(**{**upstreams.settings(keys=keys), **overrides}))
        client.user = await make_user()
        login_as(client, client.user)
        return client

    return build


async def stored_id(db, title: str) -> int:
    return await db.fetchval("SELECT id FROM movies WHERE title = $1", title)


async def test_details_fetched_on_first_view_with_enrichment(film_client, upstreams, db):
    upstreams.yts_movies = [yts_movie(7, "The Matrix", year=1999, imdb="tt0133093")]
    upstreams.yts_cast[7] = [{"name": "Keanu Reeves", "character_name": "Neo", "imdb_code": "0000206"}]
    upstreams.tmdb["tt0133093"] = tmdb_movie(603, "tt0133093", "The Matrix")
    upstreams.omdb["tt0133093"] = omdb_movie("tt0133093", "The Matrix")
    client = await film_client(keys=True)
    await client.get("/", params={"q": "matrix"})
    movie_id = await stored_id(db, "The Matrix")
    resp = await client.get(f"/movies/{movie_id}")
    assert resp.status == 200
    html = await resp.text()
    for text in (
        "The Matrix",
        "1999",
        "Lana Wachowski",
        "Joel Silver",
        "Keanu Reeves",
        "Carrie-Anne Moss",
        "720p",
        "800.0 MiB",
        "as Neo",
    ):
        assert text in html
    row = await db.fetchrow("SELECT details_at, summary, backdrop_url FROM movies WHERE id = $1", movie_id)
    # Enrichment fills gaps only: the source's own summary stays.
    assert row["details_at"] is not None and row["summary"] == "The Matrix summary."
    hits = dict(upstreams.hits)
    # Second view: nothing fetched again.
    assert (await client.get(f"/movies/{movie_id}")).status == 200
    assert upstreams.hits == hits


async def test_archive_details_give_the_torrent_file_and_hash(film_client, upstreams, db):
    doc = archive_doc("sherlock_jr_1924", "Sherlock Jr.", year="1924")
    upstreams.archive_docs = [doc]
    upstreams.archive_meta[doc["identifier"]] = archive_metadata(doc, btih="cd" * 20)
    client = await film_client(sources=("archive",))
    await client.get("/", params={"q": "sherlock"})
    movie_id = await stored_id(db, "Sherlock Jr.")
    html = await (await client.get(f"/movies/{movie_id}")).text()
    assert "Buster Keaton" in html and "67 min" in html and "<td>Internet Archive</td>" in html
    rows = await db.fetch(
        "SELECT info_hash, torrent_url, magnet, size_bytes FROM torrents WHERE movie_id = $1", movie_id
    )
    assert len(rows) == 1
    assert rows[0]["info_hash"] == "cd" * 20
    assert rows[0]["torrent_url"].endswith("/download/sherlock_jr_1924/sherlock_jr_1924_archive.torrent")
    assert rows[0]["magnet"].startswith("magnet:?xt=urn:btih:" + "cd" * 20)
    assert rows[0]["size_bytes"] == 734003200


async def test_film_page_works_while_its_source_is_down(film_client, upstreams, db):
    upstreams.yts_movies = [yts_movie(3, "Metropolis", year=1927)]
    client = await film_client(sources=("yts",))
    await client.get("/", params={"q": "metropolis"})
    upstreams.mode["yts"] = "error500"
    movie_id = await stored_id(db, "Metropolis")
    resp = await client.get(f"/movies/{movie_id}")
    assert resp.status == 200
    html = await resp.text()
    assert "Metropolis" in html and "could not be loaded" in html and "YTS" in html


@pytest.mark.parametrize(
    "path",
    [
        "/movies/999999",
        "/movies/abc",
        "/movies/-1",
        "/movies/1.5",
        "/movies/99999999999999999999999",
        "/movies/%D9%A3",
    ],
)
async def test_unknown_or_odd_film_ids_are_404(film_client, path):
    client = await film_client(sources=())
    resp = await client.get(path)
    assert resp.status == 404
    assert "does not exist" in await resp.text()


async def test_film_page_includes_player_and_live_panel(film_client, db):
    client = await film_client(sources=())
    movie_id = await db.fetchval(
        "INSERT INTO movies (title, details_at) VALUES ('Local', now()) RETURNING id"
    )
    html = await (await client.get(f"/movies/{movie_id}")).text()
    assert "No copy of this film is known yet" in html
    assert 'name="comment"' in html and f'action="/movies/{movie_id}/comments"' in html


async def test_comments_post_edit_delete_and_permissions(film_client, make_user, db, aiohttp_client):
    client = await film_client(sources=())
    movie_id = await db.fetchval(
        "INSERT INTO movies (title, details_at) VALUES ('Talkie', now()) RETURNING id"
    )
    events = []

    async def listen(event, payload, room):
        events.append((event, room))

    client.app[EVENTS].subscribe(listen)
    token = await csrf_for(client, f"/movies/{movie_id}")
    resp = await client.post(
        f"/movies/{movie_id}/comments",
        data={"comment": "<script>alert('x')</script> great film", "csrf_token": token},
        allow_redirects=False,
    )
    assert resp.status == 303
    html = await (await client.get(f"/movies/{movie_id}")).text()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; great film" in html
    assert "<script>alert('x')</script>" not in html
    comment_id = await db.fetchval("SELECT id FROM comments")
    assert events == [("comment:new", f"movie:{movie_id}")]

    # Newest first.
    await client.post(f"/movies/{movie_id}/comments", data={"comment": "second", "csrf_token": token})
    html = await (await client.get(f"/movies/{movie_id}")).text()
    assert html.index("second") < html.index("great film")

    # Edit own.
    resp = await client.post(
        f"/movies/{movie_id}/comments/{comment_id}",
        data={"comment": "changed my mind", "csrf_token": token},
        allow_redirects=False,
    )
    assert resp.status == 303
    assert await db.fetchval("SELECT body FROM comments WHERE id = $1", comment_id) == "changed my mind"

    # Someone else can neither edit nor delete it, and sees no buttons for it.
    other = client
    intruder = await make_user()
    login_as(other, intruder)
    html = await (await other.get(f"/movies/{movie_id}")).text()
    assert f'action="/movies/{movie_id}/comments/{comment_id}/delete"' not in html
    for path in (
        f"/movies/{movie_id}/comments/{comment_id}",
        f"/movies/{movie_id}/comments/{comment_id}/delete",
    ):
        resp = await other.post(path, data={"comment": "hijack", "csrf_token": token})
        assert resp.status == 403
    assert await db.fetchval("SELECT body FROM comments WHERE id = $1", comment_id) == "changed my mind"

    # Back as the author: delete.
    login_as(client, client.user)
    resp = await client.post(
        f"/movies/{movie_id}/comments/{comment_id}/delete", data={"csrf_token": token}, allow_redirects=False
    )
    assert resp.status == 303
    assert await db.fetchval("SELECT count(*) FROM comments WHERE id = $1", comment_id) == 0
    assert [e for e, _ in events] == ["comment:new", "comment:new", "comment:update", "comment:delete"]


@pytest.mark.parametrize(
    "body, message",
    [
        ("", "cannot be empty"),
        ("   \n  ", "cannot be empty"),
        ("x" * 2001, "at most 2000"),
        ("\x00", "cannot be empty"),
    ],
)
async def test_bad_comments_get_an_inline_message(film_client, db, body, message):
    client = await film_client(sources=())
    movie_id = await db.fetchval(
        "INSERT INTO movies (title, details_at) VALUES ('Quiet', now()) RETURNING id"
    )
    token = await csrf_for(client, f"/movies/{movie_id}")
    resp = await client.post(f"/movies/{movie_id}/comments", data={"comment": body, "csrf_token": token})
    assert resp.status == 422
    html = await resp.text()
    assert message in html and 'role="alert"' in html
    assert await db.fetchval("SELECT count(*) FROM comments") == 0


async def test_comment_writes_need_csrf_login_and_a_real_film(film_client, db, aiohttp_client, make_app):
    client = await film_client(sources=())
    movie_id = await db.fetchval(
        "INSERT INTO movies (title, details_at) VALUES ('Guarded', now()) RETURNING id"
    )
    resp = await client.post(f"/movies/{movie_id}/comments", data={"comment": "no token"})
    assert resp.status == 403
    token = await csrf_for(client, f"/movies/{movie_id}")
    resp = await client.post("/movies/424242/comments", data={"comment": "hello", "csrf_token": token})
    assert resp.status == 404
    resp = await client.post(f"/movies/{movie_id}/comments/77/delete", data={"csrf_token": token})
    assert resp.status == 404
    client.session.cookie_jar.clear(lambda c: c.key == "access_token")
    resp = await client.post(f"/movies/{movie_id}/comments", data={"comment": "anon", "csrf_token": token})
    assert resp.status == 401
    assert await db.fetchval("SELECT count(*) FROM comments") == 0


async def test_details_are_fetched_once_even_with_many_viewers(film_client, upstreams, db):
    upstreams.yts_movies = [yts_movie(9, "Crowded")]
    client = await film_client(sources=("yts",))
    await client.get("/", params={"q": "crowded"})
    movie_id = await stored_id(db, "Crowded")
    before = upstreams.hits["yts"]
    import asyncio

    pages = await asyncio.gather(*(client.get(f"/movies/{movie_id}") for _ in range(5)))
    assert all(p.status == 200 for p in pages)
    await client.app[CATALOG].settle()
    assert upstreams.hits["yts"] == before + 1
    assert re.search(r"Crowded", await pages[0].text())


@pytest.mark.parametrize("broken", ["tmdb", "omdb"])
async def test_enrichment_down_still_shows_the_film(film_client, upstreams, db, broken):
    upstreams.yts_movies = [yts_movie(8, "Alien", year=1979, imdb="tt0078748")]
    upstreams.tmdb["tt0078748"] = tmdb_movie(348, "tt0078748", "Alien")
    upstreams.omdb["tt0078748"] = omdb_movie("tt0078748", "Alien")
    upstreams.mode[broken] = "garbage"
    client = await film_client(keys=True, sources=("yts",))
    await client.get("/", params={"q": "alien"})
    movie_id = await stored_id(db, "Alien")
    resp = await client.get(f"/movies/{movie_id}")
    assert resp.status == 200
    html = await resp.text()
    assert (
        "Alien" in html and {"tmdb": "TMDB", "omdb": "OMDb"}[broken] in html and "could not be loaded" in html
    )
    # What the working enricher said is kept; the film is tried again later.
    row = await db.fetchrow("SELECT director, details_at FROM movies WHERE id = $1", movie_id)
    assert row["director"] and row["details_at"] is None


async def test_a_flood_of_comments_is_refused_on_the_page_and_in_the_api(
    film_client, make_user, db, api_token
):
    client = await film_client(sources=())
    movie_id = await db.fetchval(
        "INSERT INTO movies (title, details_at) VALUES ('Flooded', now()) RETURNING id"
    )
    token = await csrf_for(client, f"/movies/{movie_id}")
    for n in range(10):
        resp = await client.post(
            f"/movies/{movie_id}/comments",
            data={"comment": f"comment {n}", "csrf_token": token},
            allow_redirects=False,
        )
        assert resp.status == 303
    resp = await client.post(
        f"/movies/{movie_id}/comments", data={"comment": "one too many", "csrf_token": token}
    )
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) > 0
    html = await resp.text()
    assert 'id="comment-new-error"' in html and "commenting too fast" in html
    assert ">one too many</textarea>" in html  # the draft is kept
    # Editing counts too, and the API shares the same count.
    comment_id = await db.fetchval("SELECT min(id) FROM comments")
    resp = await client.post(
        f"/movies/{movie_id}/comments/{comment_id}", data={"comment": "edited", "csrf_token": token}
    )
    assert resp.status == 429
    assert f'id="comment-edit-error-{comment_id}"' in await resp.text()
    headers = await api_token(client, client.user)
    resp = await client.post(
        f"/api/v1/movies/{movie_id}/comments", json={"comment": "by script"}, headers=headers
    )
    assert resp.status == 429
    assert (await resp.json())["error"]["code"] == "rate_limited"
    assert await db.fetchval("SELECT count(*) FROM comments") == 10
    assert await db.fetchval("SELECT body FROM comments WHERE id = $1", comment_id) == "comment 0"
    # Someone else still comments.
    login_as(client, await make_user())
    resp = await client.post(
        f"/movies/{movie_id}/comments",
        data={"comment": "my turn", "csrf_token": token},
        allow_redirects=False,
    )
    assert resp.status == 303


async def test_comments_lose_controls_and_bidi_overrides_but_keep_emoji_sequences(film_client, db):
    client = await film_client(sources=())
    movie_id = await db.fetchval(
        "INSERT INTO movies (title, details_at) VALUES ('Tricks', now()) RETURNING id"
    )
    token = await csrf_for(client, f"/movies/{movie_id}")
    body = "see \u202egnp.exe\u202c \u2067x\u2069 \x1b[31mred\x85 👩\u200d💻 خانه\u200cها\r\nline\rthree"
    resp = await client.post(
        f"/movies/{movie_id}/comments", data={"comment": body, "csrf_token": token}, allow_redirects=False
    )
    assert resp.status == 303
    stored = await db.fetchval("SELECT body FROM comments")
    assert stored == "see gnp.exe x [31mred 👩\u200d💻 خانه\u200cها\nline\nthree"
    # A comment of nothing but such characters is empty.
    resp = await client.post(
        f"/movies/{movie_id}/comments", data={"comment": "\u202e\u2066\x1b", "csrf_token": token}
    )
    assert resp.status == 422 and "cannot be empty" in await resp.text()


async def test_editing_with_bad_text_shows_the_message_at_that_comment(film_client, db):
    client = await film_client(sources=())
    movie_id = await db.fetchval(
        "INSERT INTO movies (title, details_at) VALUES ('Edits', now()) RETURNING id"
    )
    token = await csrf_for(client, f"/movies/{movie_id}")
    await client.post(f"/movies/{movie_id}/comments", data={"comment": "first", "csrf_token": token})
    comment_id = await db.fetchval("SELECT id FROM comments")
    resp = await client.post(
        f"/movies/{movie_id}/comments/{comment_id}", data={"comment": "y" * 2001, "csrf_token": token}
    )
    assert resp.status == 422
    html = await resp.text()
    assert f'id="comment-edit-error-{comment_id}"' in html and "at most 2000" in html
    assert await db.fetchval("SELECT body FROM comments") == "first"


@pytest.mark.parametrize("comment_path", ["abc", "0", "99999999999999999999999", "1.0"])
async def test_odd_comment_ids_are_404(film_client, db, comment_path):
    client = await film_client(sources=())
    movie_id = await db.fetchval("INSERT INTO movies (title, details_at) VALUES ('Ids', now()) RETURNING id")
    token = await csrf_for(client, f"/movies/{movie_id}")
    for suffix in ("", "/delete"):
        resp = await client.post(
            f"/movies/{movie_id}/comments/{comment_path}{suffix}", data={"comment": "x", "csrf_token": token}
        )
        assert resp.status == 404


async def test_comment_on_another_films_comment_path_is_404(film_client, db):
    client = await film_client(sources=())
    first = await db.fetchval("INSERT INTO movies (title, details_at) VALUES ('One', now()) RETURNING id")
    second = await db.fetchval("INSERT INTO movies (title, details_at) VALUES ('Two', now()) RETURNING id")
    token = await csrf_for(client, f"/movies/{first}")
    await client.post(f"/movies/{first}/comments", data={"comment": "on one", "csrf_token": token})
    comment_id = await db.fetchval("SELECT id FROM comments")
    resp = await client.post(f"/movies/{second}/comments/{comment_id}/delete", data={"csrf_token": token})
    assert resp.status == 404
    assert await db.fetchval("SELECT count(*) FROM comments") == 1


async def test_archive_film_unknown_to_the_archive_keeps_what_is_known(film_client, upstreams, db):
    doc = archive_doc("gone_item", "Gone Film")
    upstreams.archive_docs = [doc]  # listed by search, but metadata/{id} answers {}
    client = await film_client(sources=("archive",))
    await client.get("/", params={"q": "gone"})
    movie_id = await stored_id(db, "Gone Film")
    resp = await client.get(f"/movies/{movie_id}")
    assert resp.status == 200 and "Gone Film" in await resp.text()
    assert await db.fetchval("SELECT count(*) FROM torrents WHERE movie_id = $1", movie_id) == 1


async def test_watch_position_keeps_fractions_of_a_second(db, database_url, make_user):
    """A resume position of 12.5 s comes back as 12.5 s, not rounded to a whole second."""
    import asyncpg

    from hypertube.catalog.watch import last_position, mark_watched

    user = await make_user()
    movie_id = await db.fetchval("INSERT INTO movies (title) VALUES ('Fractions') RETURNING id")
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        await mark_watched(pool, user.id, movie_id, 12.5)
        assert await last_position(pool, user.id, movie_id) == 12.5
        await mark_watched(pool, user.id, movie_id)
        assert await last_position(pool, user.id, movie_id) == 12.5
    finally:
        await pool.close()
