"""Recommendations from planted histories: watch positions posted by the player, comments, the API with
a Bearer token, and the rows on the library home."""

from __future__ import annotations

import asyncio
import itertools
import json

import asyncpg
import pytest

from hypertube.catalog.interactions import record_interaction
from hypertube.catalog.recommendations import recommendation_rows
from hypertube.catalog.records import FilmRecord
from hypertube.catalog.store import store_records
from hypertube.db import connect_pool
from tests.conftest import csrf_for, login_as

RUNTIME_MIN = 100
FINISHED_S = 92 * 60  # past 90 % of a 100-minute film
STARTED_S = 10 * 60

_numbers = itertools.count(1)


@pytest.fixture
def film(db):
    """Inserts a film (100 minutes) straight into the database; returns its id."""

    async def create(title: str, genres: list[str], popularity: float = 1.0, **fields) -> int:
        return await db.fetchval(
            """INSERT INTO movies (title, year, runtime, genres, popularity, director, cast_members)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
            title,
            1990 + next(_numbers) % 30,
            RUNTIME_MIN,
            genres,
            popularity,
            fields.get("director"),
            json.dumps([{"name": n, "character": None} for n in fields.get("cast", [])]),
        )

    return create


@pytest.fixture
async def pool(database_url):
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


async def _watch(client, user, movie_id: int, position_s: float) -> None:
    """The player's own request: the position, posted with the page's CSRF token."""
    login_as(client, user)
    token = await csrf_for(client, "/")
    resp = await client.post(
        f"/stream/{movie_id}/position", json={"position": position_s}, headers={"X-CSRF-Token": token}
    )
    assert resp.status == 200, await resp.text()


async def _planted(film):
    """Two tastes: space films and period romances, plus a blockbuster every kind of viewer sees."""
    space = [await film(f"Space {i}", ["Sci-Fi"], popularity=10 + i) for i in range(4)]
    romance = [await film(f"Romance {i}", ["Romance"], popularity=20 + i) for i in range(4)]
    blockbuster = await film("Blockbuster", ["Action"], popularity=100)
    return space, romance, blockbuster


def _ids(row) -> list[int]:
    return [m["id"] for m in row.movies]


async def test_planted_tastes_come_back_through_the_players_positions(client, make_user, film, pool):
    space, romance, blockbuster = await _planted(film)
    for taste in [space, space, space, romance, romance, romance]:
        fan = await make_user()
        for movie_id in [*taste, blockbuster]:
            await _watch(client, fan, movie_id, FINISHED_S)

    reader = await make_user()
    await _watch(client, reader, space[0], FINISHED_S)
    await _watch(client, reader, romance[3], STARTED_S)  # started, not finished: not a taste yet

    rows = await recommendation_rows(pool, reader.id)
    kinds = [r.kind for r in rows]
    assert kinds[0] == "because_you_watched" and rows[0].seed == {"id": space[0], "title": "Space 0"}
    because = _ids(rows[0])
    assert set(because[:3]) == set(space[1:]), because  # co-watched films of the same taste first
    shown = [movie_id for row in rows for movie_id in _ids(row)]
    assert space[0] not in shown and romance[3] not in shown  # finished and started films left out
    assert len(shown) == len(set(shown))  # a film appears in one row only
    finished = await pool.fetch(
        "SELECT movie_id, finished FROM film_interactions WHERE user_id = $1", reader.id
    )
    assert [tuple(r) for r in finished] == [(space[0], True)]


async def test_co_watch_counts_are_kept_as_users_finish_films(client, make_user, film, pool):
    space, romance, _ = await _planted(film)
    alice, bob = await make_user(), await make_user()
    for user in (alice, bob):
        await _watch(client, user, space[0], FINISHED_S)
        await _watch(client, user, space[1], FINISHED_S)
        await _watch(client, user, space[1], FINISHED_S + 60)  # saving again changes nothing
    await _watch(client, bob, romance[0], FINISHED_S)
    counts = {
        (r["movie_id"], r["other_id"]): r["users"]
        for r in await pool.fetch("SELECT movie_id, other_id, users FROM co_watch_counts")
    }
    assert counts == {
        (space[0], space[1]): 2,
        (space[1], space[0]): 2,
        (space[0], romance[0]): 1,
        (romance[0], space[0]): 1,
        (space[1], romance[0]): 1,
        (romance[0], space[1]): 1,
    }
    audience = dict(await pool.fetch("SELECT movie_id, users FROM film_audience"))
    assert audience == {space[0]: 2, space[1]: 2, romance[0]: 1}


async def test_films_finished_at_the_same_moment_still_count_as_a_pair(make_user, film, pool):
    user = await make_user()
    movies = [await film(f"Burst {i}", ["Drama"]) for i in range(6)]
    await asyncio.gather(*(record_interaction(pool, user.id, m, finished=True) for m in movies))
    assert await pool.fetchval("SELECT count(*) FROM co_watch_counts") == 6 * 5
    assert await pool.fetchval("SELECT max(users) FROM co_watch_counts") == 1


async def test_a_comment_is_an_interaction(client, make_user, film, pool):
    space, _, _ = await _planted(film)
    user = await make_user()
    await _watch(client, user, space[0], FINISHED_S)
    token = await csrf_for(client, f"/movies/{space[1]}")
    resp = await client.post(
        f"/movies/{space[1]}/comments",
        data={"comment": "Loved it", "csrf_token": token},
        allow_redirects=False,
    )
    assert resp.status in (302, 303), await resp.text()
    rows = await pool.fetch("SELECT movie_id, finished, commented FROM film_interactions ORDER BY first_at")
    assert [tuple(r) for r in rows] == [(space[0], True, False), (space[1], False, True)]
    assert await pool.fetchval("SELECT users FROM co_watch_counts WHERE movie_id = $1", space[0]) == 1


async def test_content_similarity_finds_films_nobody_watched_yet(client, make_user, film, pool):
    seed = await film(
        "Heat", ["Crime", "Drama"], director="Michael Mann", cast=["Al Pacino", "Robert De Niro"]
    )
    same_director = await film("Collateral", ["Crime"], director="Michael Mann", cast=["Tom Cruise"])
    same_actor = await film("Ronin", ["Action"], director="John Frankenheimer", cast=["Robert De Niro"])
    same_genres = await film("Crime Story", ["Crime", "Drama"], popularity=50)
    await film("Cartoon", ["Animation"], popularity=90)
    user = await make_user()
    await _watch(client, user, seed, FINISHED_S)
    rows = await recommendation_rows(pool, user.id)
    assert rows[0].kind == "because_you_watched"
    assert _ids(rows[0]) == [same_director, same_genres, same_actor]


async def test_a_new_user_gets_popular_films_in_the_genres_of_their_first_picks(
    client, make_user, film, pool
):
    western = await film("High Noon", ["Western"], popularity=5)
    others = [await film(f"Western {i}", ["Western"], popularity=10 + i) for i in range(3)]
    await film("Popular comedy", ["Comedy"], popularity=1000)
    user = await make_user()
    assert await recommendation_rows(pool, user.id) == []  # nothing started: the library's popular films
    await _watch(client, user, western, STARTED_S)
    rows = await recommendation_rows(pool, user.id)
    assert [r.kind for r in rows] == ["popular_in_genres"]
    assert rows[0].genres == ["Western"] and _ids(rows[0]) == others[::-1]


async def test_api_gives_your_own_recommendations_only(client, make_user, film, api, api_token):
    space, romance, blockbuster = await _planted(film)
    fan = await make_user()
    for movie_id in space:
        await _watch(client, fan, movie_id, FINISHED_S)
    reader, other = await make_user(), await make_user()
    await _watch(client, reader, space[0], FINISHED_S)
    mine = api.as_(await api_token(client, reader))
    resp = await mine.get(f"/api/v1/users/{reader.id}/recommendations")  # checked against the spec
    assert resp.status == 200
    rows = resp.data["rows"]
    assert rows[0]["kind"] == "because_you_watched" and rows[0]["seed"] == {"id": space[0], "name": "Space 0"}
    assert {m["id"] for m in rows[0]["movies"][:3]} == set(space[1:])
    assert all(set(m) == {"id", "name", "year", "rating"} for row in rows for m in row["movies"])
    resp = await mine.get(f"/api/v1/users/{other.id}/recommendations")
    assert resp.status == 403 and resp.data["error"]["code"] == "forbidden"
    resp = await api.get(f"/api/v1/users/{reader.id}/recommendations")
    assert resp.status == 401


async def test_the_library_home_shows_the_rows(client, make_user, film):
    space, _, _ = await _planted(film)
    fan, reader = await make_user(), await make_user()
    for movie_id in space:
        await _watch(client, fan, movie_id, FINISHED_S)
    await _watch(client, reader, space[0], FINISHED_S)
    login_as(client, reader)
    html = await (await client.get("/")).text()
    assert "data-recommendations" in html and "Because you watched Space 0" in html
    assert f'data-movie-id="{space[1]}"' in html.split("data-recommendation-row")[1]
    searched = await (await client.get("/?q=space")).text()
    assert "data-recommendations" not in searched  # rows only on the home, not on results


async def _comment(client, pool, user, movie_id: int, text: str) -> int:
    """Posts a comment with the film page's form; returns its id."""
    login_as(client, user)
    token = await csrf_for(client, f"/movies/{movie_id}")
    resp = await client.post(
        f"/movies/{movie_id}/comments", data={"comment": text, "csrf_token": token}, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    return await pool.fetchval(
        "SELECT max(id) FROM comments WHERE user_id = $1 AND movie_id = $2", user.id, movie_id
    )


async def _delete_comment(client, user, movie_id: int, comment_id: int) -> None:
    login_as(client, user)
    token = await csrf_for(client, f"/movies/{movie_id}")
    resp = await client.post(
        f"/movies/{movie_id}/comments/{comment_id}/delete", data={"csrf_token": token}, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()


async def _counts(pool) -> tuple[dict, dict, set]:
    pairs = {
        (r[0], r[1]): r[2] for r in await pool.fetch("SELECT movie_id, other_id, users FROM co_watch_counts")
    }
    audience = dict(await pool.fetch("SELECT movie_id, users FROM film_audience"))
    marks = {
        tuple(r)
        for r in await pool.fetch("SELECT user_id, movie_id, finished, commented FROM film_interactions")
    }
    return pairs, audience, marks


async def test_deleting_a_comment_undoes_its_interaction(client, make_user, film, pool):
    space, _, _ = await _planted(film)
    alice, bob = await make_user(), await make_user()
    for user in (alice, bob):
        await _watch(client, user, space[0], FINISHED_S)
    alice_on_1 = await _comment(client, pool, alice, space[1], "Loved it")
    await _comment(client, pool, bob, space[1], "Loved it too")
    first = await _comment(client, pool, alice, space[2], "Twice")
    await _comment(client, pool, alice, space[2], "Twice again")
    on_finished = await _comment(client, pool, alice, space[0], "Seen it")
    before = await _counts(pool)
    assert before[0][(space[0], space[1])] == 2 and before[1][space[1]] == 2

    await _delete_comment(client, alice, space[1], alice_on_1)
    await _delete_comment(client, alice, space[2], first)  # another comment on that film is left
    await _delete_comment(client, alice, space[0], on_finished)  # finished: the film still counts
    pairs, audience, marks = await _counts(pool)
    assert marks == {
        (alice.id, space[0], True, False),
        (alice.id, space[2], False, True),
        (bob.id, space[0], True, False),
        (bob.id, space[1], False, True),
    }
    assert pairs == {
        (space[0], space[1]): 1, (space[1], space[0]): 1,  # bob's pair only
        (space[0], space[2]): 1, (space[2], space[0]): 1,
    }  # fmt: skip
    assert audience == {space[0]: 2, space[1]: 1, space[2]: 1}
    # Alice's rows are as if she had never commented on that film: it can be recommended to her again.
    rows = await recommendation_rows(pool, alice.id)
    assert space[1] in {m["id"] for row in rows for m in row.movies}


async def test_a_film_merge_keeps_what_its_viewers_did(client, make_user, film, pool, database_url):
    """The catalog folds a film stored twice into one when its IMDb id turns up: the viewers' marks move
    to the film kept, and the counts are what they would be had everybody watched that one."""

    other = await film("Other", ["Horror"])
    archive = FilmRecord(
        "archive", "notld", "Night of the Living Dead (1968)", year=1968, runtime=RUNTIME_MIN
    )
    yts = FilmRecord(
        "yts", "77", "Night of the Living Dead", imdb_id="tt0063350", year=1968, runtime=RUNTIME_MIN
    )
    catalog = await connect_pool(database_url, min_size=1, max_size=2)  # with the app's type codecs
    try:
        old, kept = await store_records(catalog, [archive, yts])
        await _watch_and_merge(client, make_user, pool, catalog, archive, old, kept, other)
    finally:
        await catalog.close()


async def _watch_and_merge(client, make_user, pool, catalog, archive, old: int, kept: int, other: int):
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    for user, films in ((alice, [old, other]), (bob, [old, kept, other]), (carol, [kept])):
        for movie_id in films:
            await _watch(client, user, movie_id, FINISHED_S)
    await _comment(client, pool, bob, old, "The first cut")
    archive.imdb_id = "tt0063350"
    assert await store_records(catalog, [archive]) == [kept]

    pairs, audience, marks = await _counts(pool)
    assert {(u, m, f, c) for u, m, f, c in marks if m == kept} == {
        (alice.id, kept, True, False), (bob.id, kept, True, True), (carol.id, kept, True, False),
    }  # fmt: skip
    assert audience == {kept: 3, other: 2}
    assert pairs == {(kept, other): 2, (other, kept): 2}
