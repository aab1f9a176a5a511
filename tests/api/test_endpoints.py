"""Users, films and comments through the API, including authorization between two users."""

from __future__ import annotations

import io
import os
import re

import pytest
from aiohttp import web
from PIL import Image

from hypertube.accounts.passwords import hash_password, verify_password
from hypertube.keys import EVENTS, PICTURE_FETCH
from hypertube.netfetch import FetchPolicy
from tests.fixtures.api import Api

CURRENT = "Velvet-Harbor-Quartz-58"  # alice's password: changing her email or password needs it


async def with_password(db, user) -> None:
    await db.execute(
        "UPDATE users SET password_hash = $2 WHERE id = $1", user.id, await hash_password(CURRENT, 4)
    )


@pytest.fixture
async def two(api, make_user, api_token, db):
    """Two users, each with an `Api` acting as them; alice has the password CURRENT."""
    alice, bob = await make_user("alice"), await make_user("bob")
    await with_password(db, alice)
    return (
        alice,
        bob,
        api.as_(await api_token(api.client, alice)),
        api.as_(await api_token(api.client, bob)),
    )


# ---- users ----------------------------------------------------------------------------------------


async def test_users_are_listed_with_a_cursor(api, make_user, api_token):
    users = [await make_user(f"person{i}") for i in range(5)]
    me = api.as_(await api_token(api.client, users[0]))
    first = await me.get("/api/v1/users?limit=2")
    assert first.status == 200
    assert first.data["data"] == [{"id": u.id, "username": u.username} for u in users[:2]]
    second = await me.get(f"/api/v1/users?limit=2&cursor={first.data['next_cursor']}")
    third = await me.get(f"/api/v1/users?limit=2&cursor={second.data['next_cursor']}")
    assert [u["id"] for u in second.data["data"] + third.data["data"]] == [u.id for u in users[2:]]
    assert third.data["next_cursor"] is None


async def test_email_is_shown_only_on_your_own_account(two):
    alice, bob, as_alice, _ = two
    mine = await as_alice.get(f"/api/v1/users/{alice.id}")
    theirs = await as_alice.get(f"/api/v1/users/{bob.id}")
    assert mine.data == {
        "id": alice.id,
        "username": "alice",
        "first_name": "Test",
        "last_name": "User",
        "picture_url": "/static/img/avatar.svg",
        "email": alice.email,
    }
    assert "email" not in theirs.data and theirs.data["username"] == "bob"
    assert (await as_alice.get("/api/v1/users/999999")).status == 404
    assert (await as_alice.get("/api/v1/users/abc", check=False)).status == 404
    assert (await as_alice.get("/api/v1/users/99999999999999999999999")).status == 404


@pytest.fixture
async def picture_server(aiohttp_server):
    """A fake image host: /me.png is a real PNG, /text is not a picture, /gone is a 404."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, format="PNG")
    png = buf.getvalue()

    async def image(request):
        return web.Response(body=png, content_type="image/png")

    async def text(request):
        return web.Response(text="<html>not a picture</html>", content_type="text/html")

    noise = io.BytesIO()
    Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3)).save(noise, format="PNG")

    async def big(request):  # about 1.5 MB: arrives in many reads
        return web.Response(body=noise.getvalue(), content_type="image/png")

    async def huge(request):
        return web.Response(body=os.urandom(6 * 1024 * 1024), content_type="image/png")

    app = web.Application()
    app.router.add_get("/me.png", image)
    app.router.add_get("/big.png", big)
    app.router.add_get("/huge.png", huge)
    app.router.add_get("/text", text)
    return await aiohttp_server(app)


async def test_you_can_change_your_own_account(
    aiohttp_client, make_app, make_user, api_token, api_spec, db, picture_server, settings
):
    app = make_app()
    # The fake image host is on loopback over plain HTTP, which the default policy refuses.
    app[PICTURE_FETCH] = FetchPolicy(5 * 1024 * 1024, allowed_hosts=frozenset({"127.0.0.1"}))
    client = await aiohttp_client(app)
    alice = await make_user("alice")
    await with_password(db, alice)
    as_alice = Api(client, api_spec).as_(await api_token(client, alice))
    resp = await as_alice.patch(
        f"/api/v1/users/{alice.id}",
        json={
            "username": "alice2",
            "email": "new@example.org",
            "password": "correct horse 9",
            "current_password": CURRENT,
            "picture_url": str(picture_server.make_url("/me.png")),
        },
    )
    assert resp.status == 200, resp.data
    assert resp.data["username"] == "alice2" and resp.data["email"] == "new@example.org"
    picture = resp.data["picture_url"]
    assert re.fullmatch(r"/media/avatars/[0-9a-f]{32}\.webp", picture)
    stored = settings.data_dir / "avatars" / picture.rsplit("/", 1)[1]
    with Image.open(stored) as img:
        assert img.format == "WEBP" and img.size == (256, 256)
    row = await db.fetchrow("SELECT password_hash, email_verified FROM users WHERE id = $1", alice.id)
    assert await verify_password("correct horse 9", row["password_hash"], 4)
    assert row["email_verified"] is False
    resp = await as_alice.patch(f"/api/v1/users/{alice.id}", json={"picture_url": None})
    assert resp.data["picture_url"] == "/static/img/avatar.svg"
    assert not stored.exists()
    resp = await as_alice.patch(
        f"/api/v1/users/{alice.id}", json={"picture_url": str(picture_server.make_url("/big.png"))}
    )
    assert resp.status == 200, resp.data
    for path in ("/text", "/gone", "/huge.png"):
        resp = await as_alice.patch(
            f"/api/v1/users/{alice.id}", json={"picture_url": str(picture_server.make_url(path))}
        )
        assert resp.status == 422 and resp.data["error"]["field"] == "picture_url"


async def test_pictures_are_never_fetched_from_private_addresses(two):
    alice, _, as_alice, _ = two
    for url in (
        "https://127.0.0.1/a.png",
        "https://[::1]/a.png",
        "https://10.0.0.1/a.png",
        "https://localhost/a.png",
    ):
        resp = await as_alice.patch(f"/api/v1/users/{alice.id}", json={"picture_url": url})
        assert resp.status == 422, url
        assert resp.data["error"]["field"] == "picture_url"


async def test_someone_elses_account_is_403_and_a_missing_one_404(two):
    _, bob, as_alice, _ = two
    resp = await as_alice.patch(f"/api/v1/users/{bob.id}", json={"username": "hijacked"})
    assert resp.status == 403 and resp.data["error"]["code"] == "forbidden"
    assert (await as_alice.patch("/api/v1/users/999999", json={"username": "ghost"})).status == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"username": "a b"}, "username"),
        ({"username": "x"}, "username"),
        ({"username": "<script>"}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"password": "short1"}, "password"),
        ({"password": "password123"}, "password"),
        ({"password": "my name is alice!"}, "password"),
        ({"password": "x" * 129}, "password"),
        ({"picture_url": "http://insecure.example/a.png"}, "picture_url"),
        ({"picture_url": "javascript:alert(1)"}, "picture_url"),
        ({"username": 42}, "username"),
        ({"is_admin": True}, "is_admin"),
        ({"username": "'; DROP TABLE users; --"}, "username"),
    ],
)
async def test_bad_account_changes_name_the_field(two, body, field):
    alice, _, as_alice, _ = two
    resp = await as_alice.patch(f"/api/v1/users/{alice.id}", json=body | {"current_password": CURRENT})
    assert resp.status == 422, resp.data
    assert resp.data["error"]["field"] == field and resp.data["error"]["code"] == "validation_error"


async def test_taken_username_or_email_is_a_conflict(two):
    alice, bob, as_alice, _ = two
    resp = await as_alice.patch(f"/api/v1/users/{alice.id}", json={"username": "BOB"})
    assert resp.status == 409 and resp.data["error"]["field"] == "username"
    resp = await as_alice.patch(
        f"/api/v1/users/{alice.id}", json={"email": bob.email, "current_password": CURRENT}
    )
    assert resp.status == 409 and resp.data["error"]["field"] == "email"


async def test_an_email_changed_through_the_api_is_confirmed_by_mail(two, settings, db):
    """The API changes an address like the profile page does: unconfirmed, with a link mailed to it."""
    from tests.accounts.test_reset import wait_for
    from tests.accounts.test_verification import verify_links

    alice, _, as_alice, _ = two
    await db.execute("UPDATE users SET email_verified = true WHERE id = $1", alice.id)
    resp = await as_alice.patch(
        f"/api/v1/users/{alice.id}", json={"email": "moved@example.org", "current_password": CURRENT}
    )
    assert resp.status == 200, resp.data
    [(to, link)] = await wait_for(lambda: verify_links(settings.mail_dir))
    assert to == "moved@example.org"
    assert await db.fetchval("SELECT email_verified FROM users WHERE id = $1", alice.id) is False
    resp = await as_alice.client.get(link, allow_redirects=False)
    assert resp.status == 303
    assert await db.fetchval("SELECT email_verified FROM users WHERE id = $1", alice.id) is True


async def test_empty_patch_is_refused(two):
    alice, _, as_alice, _ = two
    resp = await as_alice.patch(f"/api/v1/users/{alice.id}", json={})
    assert resp.status == 422


# ---- movies ---------------------------------------------------------------------------------------


async def test_movies_front_page_sorts_filters_and_pages(api, make_user, api_movie, api_token):
    me = api.as_(await api_token(api.client, await make_user()))
    a = await api_movie("Alien", year=1979, rating=8.5, popularity=10)
    b = await api_movie("Blade Runner", year=1982, rating=8.1, popularity=30, genres=["Sci-Fi"])
    c = await api_movie("Casablanca", year=1942, rating=8.5, popularity=20)
    resp = await me.get("/api/v1/movies")
    assert [m["id"] for m in resp.data["data"]] == [b, c, a]
    assert resp.data["data"][0] == {"id": b, "name": "Blade Runner", "year": 1982, "rating": 8.1}
    assert [m["name"] for m in (await me.get("/api/v1/movies?sort=name")).data["data"]] == [
        "Alien",
        "Blade Runner",
        "Casablanca",
    ]
    assert [m["id"] for m in (await me.get("/api/v1/movies?sort=year&order=asc")).data["data"]] == [c, a, b]
    assert [m["id"] for m in (await me.get("/api/v1/movies?q=RUNNER")).data["data"]] == [b]
    assert [m["id"] for m in (await me.get("/api/v1/movies?genre=Sci-Fi")).data["data"]] == [b]
    assert [m["id"] for m in (await me.get("/api/v1/movies?year_min=1950&year_max=1980")).data["data"]] == [a]
    assert [m["id"] for m in (await me.get("/api/v1/movies?rating_min=8.4&sort=name")).data["data"]] == [a, c]
    page1 = await me.get("/api/v1/movies?limit=2")
    page2 = await me.get(f"/api/v1/movies?limit=2&cursor={page1.data['next_cursor']}")
    assert [m["id"] for m in page1.data["data"] + page2.data["data"]] == [b, c, a]
    assert page2.data["next_cursor"] is None
    # Nasty text is data, never SQL or a pattern.
    for q in ["%", "_", "' OR 1=1 --", "\\", "<script>alert(1)</script>", "日本語", "zz\x00zz"]:
        resp = await me.get("/api/v1/movies", params={"q": q})
        assert resp.status == 200 and resp.data["data"] == []


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("sort=random", "sort"),
        ("order=up", "order"),
        ("year_min=1200", "year_min"),
        ("rating_min=nan", "rating_min"),
        ("cursor=abc", "cursor"),
        ("limit=1&limit=2", "limit"),
        ("q=" + "x" * 201, "q"),
    ],
)
async def test_bad_movie_queries_are_400_with_the_parameter(api, make_user, api_token, query, field):
    me = api.as_(await api_token(api.client, await make_user()))
    resp = await me.get(f"/api/v1/movies?{query}")
    assert resp.status == 400 and resp.data["error"]["field"] == field


async def test_movie_details(two, api_movie, db):
    alice, bob, as_alice, _ = two
    movie = await api_movie("Metropolis", year=1927, rating=8.3, runtime=153, genres=["Drama", "Sci-Fi"])
    for user in (alice, bob):
        await db.execute(
            "INSERT INTO comments (movie_id, user_id, body) VALUES ($1, $2, 'ok')", movie, user.id
        )
    resp = await as_alice.get(f"/api/v1/movies/{movie}")
    assert resp.data == {
        "id": movie,
        "name": "Metropolis",
        "year": 1927,
        "rating": 8.3,
        "length": 153,
        "genres": ["Drama", "Sci-Fi"],
        "subtitles": [],
        "comments_count": 2,
    }
    assert (await as_alice.get("/api/v1/movies/424242")).status == 404


# ---- comments -------------------------------------------------------------------------------------


@pytest.fixture
def live_events(api):
    seen: list[tuple[str, dict, str | None]] = []

    async def record(event, payload, room):
        seen.append((event, payload, room))

    api.client.app[EVENTS].subscribe(record)
    return seen


async def test_comment_lifecycle_with_live_events(two, api_movie, live_events):
    alice, _, as_alice, _ = two
    movie = await api_movie()
    created = await as_alice.post(
        "/api/v1/comments", json={"comment": "<b>Great</b> film", "movie_id": movie}
    )
    assert created.status == 201
    cid = created.data["id"]
    assert created.headers["Location"] == f"/api/v1/comments/{cid}"
    assert created.data["content"] == "<b>Great</b> film"
    assert created.data["author"] == {"id": alice.id, "username": "alice"}
    assert created.headers["Content-Type"].startswith("application/json")
    got = await as_alice.get(created.headers["Location"])
    assert got.data == created.data
    edited = await as_alice.patch(f"/api/v1/comments/{cid}", json={"comment": "Edited"})
    assert edited.status == 200 and edited.data["content"] == "Edited"
    gone = await as_alice.delete(f"/api/v1/comments/{cid}")
    assert gone.status == 204
    assert (await as_alice.get(f"/api/v1/comments/{cid}")).status == 404
    assert (await as_alice.delete(f"/api/v1/comments/{cid}")).status == 404
    assert [(e, room) for e, _, room in live_events] == [
        ("comment:new", f"movie:{movie}"),
        ("comment:update", f"movie:{movie}"),
        ("comment:delete", f"movie:{movie}"),
    ]
    assert live_events[0][1]["author"] == "alice" and live_events[0][1]["content"] == "<b>Great</b> film"


async def test_comment_on_a_film_by_its_path(two, api_movie, live_events):
    _, _, as_alice, _ = two
    movie = await api_movie()
    assert (await as_alice.get(f"/api/v1/movies/{movie}")).data["comments_count"] == 0
    resp = await as_alice.post(f"/api/v1/movies/{movie}/comments", json={"comment": "Nice"})
    assert resp.status == 201 and resp.data["movie_id"] == movie
    assert (await as_alice.get(f"/api/v1/movies/{movie}")).data["comments_count"] == 1
    assert (await as_alice.delete(resp.headers["Location"])).status == 204
    assert (await as_alice.get(f"/api/v1/movies/{movie}")).data["comments_count"] == 0
    assert [e for e, _, _ in live_events] == ["comment:new", "comment:delete"]
    missing = await as_alice.post("/api/v1/movies/999999/comments", json={"comment": "Nice"})
    assert missing.status == 404
    missing = await as_alice.post("/api/v1/comments", json={"comment": "Nice", "movie_id": 999999})
    assert missing.status == 404 and missing.data["error"]["field"] == "movie_id"


async def test_only_the_author_edits_or_deletes(two, api_movie, live_events):
    _, _, as_alice, as_bob = two
    movie = await api_movie()
    cid = (await as_alice.post("/api/v1/comments", json={"comment": "mine", "movie_id": movie})).data["id"]
    resp = await as_bob.patch(f"/api/v1/comments/{cid}", json={"comment": "now mine"})
    assert resp.status == 403 and resp.data["error"]["code"] == "forbidden"
    assert (await as_bob.delete(f"/api/v1/comments/{cid}")).status == 403
    assert (await as_bob.get(f"/api/v1/comments/{cid}")).data["content"] == "mine"
    assert [e for e, _, _ in live_events] == ["comment:new"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"comment": ""}, "comment"),
        ({"comment": "   \n "}, "comment"),
        ({"comment": "x" * 2001}, "comment"),
        ({"comment": 12}, "comment"),
        ({"comment": None}, "comment"),
        ({}, "comment"),
        ({"comment": "ok", "movie_id": "1"}, "movie_id"),
        ({"comment": "ok", "movie_id": 0}, "movie_id"),
        ({"comment": "ok", "movie_id": 2**70}, "movie_id"),
        ({"comment": "ok", "movie_id": 1, "author_id": 1}, "author_id"),
    ],
)
async def test_bad_comment_bodies_name_the_field(two, api_movie, body, field):
    _, _, as_alice, _ = two
    body = {"movie_id": await api_movie(), **body} if "movie_id" not in body else body
    resp = await as_alice.post("/api/v1/comments", json=body)
    assert resp.status == 422, resp.data
    assert resp.data["error"]["field"] == field


async def test_latest_comments_newest_first_with_a_cursor(two, api_movie):
    _, _, as_alice, as_bob = two
    m1, m2 = await api_movie(), await api_movie()
    ids = []
    for i, (who, movie) in enumerate([(as_alice, m1), (as_bob, m2), (as_alice, m2)]):
        ids.append(
            (await who.post("/api/v1/comments", json={"comment": f"c{i}", "movie_id": movie})).data["id"]
        )
    page = await as_bob.get("/api/v1/comments?limit=2")
    assert [c["id"] for c in page.data["data"]] == ids[::-1][:2]
    rest = await as_bob.get(f"/api/v1/comments?limit=2&cursor={page.data['next_cursor']}")
    assert [c["id"] for c in rest.data["data"]] == [ids[0]] and rest.data["next_cursor"] is None
    only_m2 = await as_bob.get(f"/api/v1/comments?movie_id={m2}")
    assert [c["id"] for c in only_m2.data["data"]] == [ids[2], ids[1]]
    first = page.data["data"][0]
    assert set(first) == {"id", "movie_id", "author", "content", "created_at", "updated_at"}


async def test_movie_subtitles_come_from_the_media_area_once_the_film_is_known(two, api_movie, tmp_path):
    from hypertube.keys import MEDIA
    from hypertube.media.generate import generate_film, sample_cues

    _, _, as_alice, _ = two
    video = generate_film(
        tmp_path / "subs.mkv",
        container="mkv",
        video_codec="h264",
        audio_codec="aac",
        duration_s=2,
        width=160,
        height=90,
        fps=10,
        subtitles={"en": sample_cues(2, "en"), "fr": sample_cues(2, "fr")},
        subtitle_codec="srt",
    )
    media = as_alice.client.app[MEDIA]
    played, unplayed = await api_movie(), await api_movie()
    media.register_file(played, video)
    media.register_file(unplayed, video)
    await media.info(played)  # what playing the film does first
    assert (await as_alice.get(f"/api/v1/movies/{played}")).data["subtitles"] == ["en", "fr"]
    # Never opened: looking its tracks up would start the download, so none are listed yet.
    assert (await as_alice.get(f"/api/v1/movies/{unplayed}")).data["subtitles"] == []


async def test_unplayed_films_list_the_subtitles_found_without_opening_them(
    aiohttp_client, make_app, api_spec, api_token, make_user, fake_opensubtitles, source_films,
    generated_films, tmp_path,
):  # fmt: skip
    import shutil

    from hypertube.keys import TORRENTS
    from tests.conftest import login_as
    from tests.fixtures.api import Api
    from tests.fixtures.catalog import yts_movie
    from tests.fixtures.torrent import wait_until

    client = await aiohttp_client(make_app(**source_films.settings(**fake_opensubtitles.settings())))
    carol = await make_user("carol")
    login_as(client, carol)  # to search the library as a user does
    me = Api(client, api_spec).as_(await api_token(client, carol))
    engine = client.app[TORRENTS]
    # OpenSubtitles knows the film by its IMDb id: asked without touching the film itself.
    source_films.swarm.upstreams.yts_movies.append(yts_movie(990, "Online", imdb="tt0012345"))
    online = await source_films.find(client, "Online")
    assert (await me.get(f"/api/v1/movies/{online}")).data["subtitles"] == ["en", "fr"]
    assert fake_opensubtitles.seen == [("search", {"imdb_id": "12345", "languages": "en,fr"})]
    # A torrent whose metadata is here (its page was opened) lists its subtitle files, and nothing
    # of it is downloaded for that (a magnet: a `.torrent` would want its first piece until a peer).
    folder = tmp_path / "Film with subtitles"
    folder.mkdir()
    shutil.copy(generated_films["mp4"], folder / "film.mp4")
    (folder / "film.de.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHallo\n")
    seeded = source_films.publish(folder, "Shipped", torrent_url=False)
    shipped = await source_films.find(client, "Shipped")
    assert engine.known_files(shipped) is None  # nothing known: nothing listed, nothing started
    engine.warm(shipped)
    await wait_until(lambda: engine.known_files(shipped) is not None, 10)
    # The torrent's German file, besides what OpenSubtitles knows by the film's IMDb id.
    assert (await me.get(f"/api/v1/movies/{shipped}")).data["subtitles"] == ["de", "en", "fr"]
    dl = engine.downloads[seeded.info_hash]
    assert dl.warm and not any(dl.has(p) for p in range(dl.num_pieces))
