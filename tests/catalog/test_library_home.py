"""The library over HTTP: each sort's natural order, best match first when searching, one translated list
of genres whatever the sources call them, and the home's rows (continue watching, popular, genres)."""

from __future__ import annotations

import re

import pytest

from hypertube.catalog.genres import GENRES
from tests.conftest import login_as
from tests.fixtures.catalog import archive_doc, position_saver, yts_movie


def titles(html: str) -> list[str]:
    """The film titles of the result grid, in order (the home's rows left out)."""
    return re.findall(r'class="movie-card-title">([^<]+)<', html.split("data-movie-grid", 1)[-1])


def options(html: str, select_id: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of each option of a <select>."""
    select = re.search(rf'<select id="{select_id}".*?</select>', html, re.S)
    assert select, select_id
    return [
        (value, label.strip(), "selected" in attrs)
        for value, attrs, label in re.findall(
            r'<option value="([^"]*)"([^>]*)>([^<]*)</option>', select.group(0)
        )
    ]


async def test_each_sort_comes_in_its_natural_order(signed_in, upstreams):
    upstreams.yts_movies = [
        yts_movie(1, "Bravo", year=1990, rating=5.0, seeds=30),
        yts_movie(2, "Alpha", year=2015, rating=6.5, seeds=10),
        yts_movie(3, "Charlie", year=2005, rating=8.0, seeds=20),
    ]
    client = await signed_in(sources=("yts",))
    await client.get("/")

    async def page(**params) -> str:
        resp = await client.get("/", params=params)
        assert resp.status == 200
        return await resp.text()

    assert titles(await page(sort="name")) == ["Alpha", "Bravo", "Charlie"]
    assert titles(await page(sort="year")) == ["Alpha", "Charlie", "Bravo"]  # newest first
    assert titles(await page(sort="rating")) == ["Charlie", "Alpha", "Bravo"]  # highest first
    assert titles(await page()) == ["Bravo", "Charlie", "Alpha"]  # most popular first
    # An order chosen for another sort is only ever an explicit reversal: the menus say which.
    html = await page(sort="name")
    assert options(html, "lib-order") == [("", "A to Z", True), ("desc", "Z to A", False)]
    html = await page(sort="year", order="asc")
    assert titles(html) == ["Bravo", "Charlie", "Alpha"]
    assert options(html, "lib-order") == [("", "Newest first", False), ("asc", "Oldest first", True)]
    assert ("year", "Year", True) in options(html, "lib-sort")
    # The next page's address keeps the choices and leaves out what goes without saying.
    assert (
        re.search(r'data-next="/library/page\?sort=year&amp;order=asc&amp;after=', html)
        or "data-next" not in html
    )


async def test_a_search_lists_the_best_match_first(signed_in, upstreams):
    upstreams.yts_movies = [
        yts_movie(1, "A Matrix Story"),
        yts_movie(2, "Matrix Reloaded"),
        yts_movie(3, "The Matrix"),
    ]
    client = await signed_in(sources=("yts",))
    html = await (await client.get("/", params={"q": "the matrix"})).text()
    assert titles(html)[0] == "The Matrix"
    assert options(html, "lib-sort")[0] == ("", "Best match", True)
    assert titles(await (await client.get("/", params={"q": "matrix", "sort": "name"})).text()) == [
        "A Matrix Story",
        "Matrix Reloaded",
        "The Matrix",
    ]
    # "Best match" needs words to match: browsing falls back to the most popular first.
    html = await (await client.get("/", params={"sort": "relevance"})).text()
    assert options(html, "lib-sort")[0] == ("", "Popularity", True)


async def test_genres_are_one_list_whatever_the_sources_call_them(signed_in, upstreams, db, make_user):
    upstreams.yts_movies = [
        yts_movie(1, "Orbit One", genres=("Sci-Fi",)),
        yts_movie(2, "Orbit Two", genres=("Science Fiction", "Drama")),
        yts_movie(3, "Orbit Three", genres=("Action & Adventure",)),
    ]
    upstreams.archive_docs = [
        archive_doc("orbit_four", "Orbit Four", subject=["science fiction", "Public Domain", "Feature Film"])
    ]
    client = await signed_in()
    await client.get("/", params={"q": "orbit"})
    stored = dict(await db.fetch("SELECT title, genres FROM movies"))
    assert stored == {
        "Orbit One": ["Sci-Fi"],
        "Orbit Two": ["Drama", "Sci-Fi"],
        "Orbit Three": ["Action", "Adventure"],
        "Orbit Four": ["Sci-Fi"],
    }
    html = await (await client.get("/")).text()
    genres = options(html, "lib-genre")
    assert [value for value, _, _ in genres[1:]] == sorted(GENRES, key=lambda g: GENRES[g].casefold())
    assert ("Sci-Fi", "Science fiction", False) in genres and all(
        v != "Science Fiction" for v, _, _ in genres
    )
    found = titles(await (await client.get("/", params={"genre": "Sci-Fi", "sort": "name"})).text())
    assert found == ["Orbit Four", "Orbit One", "Orbit Two"]
    # Another spelling of a genre in the address finds the same films.
    found = titles(await (await client.get("/", params={"genre": "science fiction", "sort": "name"})).text())
    assert found == ["Orbit Four", "Orbit One", "Orbit Two"]

    # In French: the genre menu and the film page.
    french = await make_user(language="fr")
    login_as(client, french)
    html = await (await client.get("/", params={"genre": "Sci-Fi"})).text()
    assert ("Sci-Fi", "Science-fiction", True) in options(html, "lib-genre")
    assert ("Drama", "Drame", False) in options(html, "lib-genre")
    two = await db.fetchval("SELECT id FROM movies WHERE title = 'Orbit Two'")
    film = await (await client.get(f"/movies/{two}")).text()
    assert re.search(r"<dd>Drame, Science-fiction</dd>", film)


async def test_the_home_has_popular_and_genre_rows_and_results_have_none(signed_in, upstreams):
    # More films than a page: the home offers rows. Comedies and westerns: too few thrillers for a row.
    upstreams.yts_movies = [
        yts_movie(
            i,
            f"Film {i:02d}",
            seeds=i,
            genres=("Comedy",) if i <= 5 else ("Western",) if i < 28 else ("Thriller",),
        )
        for i in range(1, 31)
    ]
    client = await signed_in(sources=("yts",))
    html = await (await client.get("/")).text()
    rows = re.findall(r'<section class="home-row" data-row="(\w+)"', html)
    assert rows == ["popular", "genre", "genre"]
    popular = html.split('data-row="popular"')[1].split("</section>")[0]
    assert re.findall(r'movie-card-title">([^<]+)<', popular)[:3] == ["Film 30", "Film 29", "Film 28"]
    western, comedy = html.split('data-row="genre"')[1:]
    assert ">Western</h2>" in western and 'href="/?genre=Western"' in western
    assert ">Comedy</h2>" in comedy and 'href="/?genre=Comedy"' in comedy
    comedies = re.findall(r'movie-card-title">([^<]+)<', comedy.split("</section>")[0])
    assert comedies == ["Film 05", "Film 04", "Film 03", "Film 02", "Film 01"]
    for params in ({"q": "film"}, {"genre": "Comedy"}, {"sort": "name"}, {"year_min": "1990"}):
        html = await (await client.get("/", params=params)).text()
        assert "data-row=" not in html, params


async def test_a_library_that_fits_one_page_has_no_popular_rows(signed_in, upstreams):
    upstreams.yts_movies = [yts_movie(i, f"Film {i:02d}", genres=("Comedy",)) for i in range(1, 9)]
    client = await signed_in(sources=("yts",))
    html = await (await client.get("/")).text()
    assert "data-row=" not in html and len(titles(html)) == 8


async def test_continue_watching_lists_films_in_progress_latest_first(signed_in, upstreams, db):
    upstreams.yts_movies = [yts_movie(i, f"Film {i}") for i in range(1, 5)]  # 95 minutes each
    client = await signed_in(sources=("yts",))
    await client.get("/")
    play_to = await position_saver(client, db)
    await play_to("Film 1", 19)
    await play_to("Film 2", 50)
    await play_to("Film 3", 94)  # nearly the end: watched
    await play_to("Film 4", 0)  # opened, not started
    html = await (await client.get("/")).text()
    row = html.split('data-row="continue"')[1].split("</section>")[0]
    assert re.findall(r'movie-card-title">([^<]+)<', row) == ["Film 2", "Film 1"]
    assert re.findall(r'<progress[^>]*value="(\d+)"', row) == ["53", "20"]
    assert 'aria-label="53% watched"' in row
    await play_to("Film 1", 30)
    html = await (await client.get("/")).text()
    row = html.split('data-row="continue"')[1].split("</section>")[0]
    assert re.findall(r'movie-card-title">([^<]+)<', row) == ["Film 1", "Film 2"]
    await play_to("Film 1", 95)
    await play_to("Film 2", 95)
    assert 'data-row="continue"' not in await (await client.get("/")).text()


async def test_a_finished_film_watched_again_comes_back_into_continue_watching(signed_in, upstreams, db):
    upstreams.yts_movies = [yts_movie(i, f"Film {i}") for i in range(1, 3)]  # 95 minutes each
    client = await signed_in(sources=("yts",))
    await client.get("/")
    ids = dict(await db.fetch("SELECT title, id FROM movies"))
    play_to = await position_saver(client, db)

    def continue_row(html: str) -> str | None:
        return (
            html.split('data-row="continue"')[1].split("</section>")[0]
            if 'data-row="continue"' in html
            else None
        )

    await play_to("Film 1", 94)  # finished
    await play_to("Film 2", 30)
    row = continue_row(await (await client.get("/")).text())
    assert row is not None and re.findall(r'movie-card-title">([^<]+)<', row) == ["Film 2"]
    # Watched again from the start (the player starts a finished film at 0): back in the row, first,
    # with the bar of the new viewing.
    await play_to("Film 1", 0)
    await play_to("Film 1", 19)
    row = continue_row(await (await client.get("/")).text())
    assert row is not None and re.findall(r'movie-card-title">([^<]+)<', row) == ["Film 1", "Film 2"]
    assert re.findall(r'<progress[^>]*value="(\d+)"', row) == ["20", "32"]
    assert f'class="movie-card is-started" data-movie-id="{ids["Film 1"]}"' in row
    # It stays finished for everything else (the "Watched" mark on other pages, recommendations).
    assert await db.fetchval("SELECT finished_at IS NOT NULL FROM watches WHERE movie_id = $1", ids["Film 1"])
    # Finished again: out of the row.
    await play_to("Film 1", 90)
    row = continue_row(await (await client.get("/")).text())
    assert row is not None and re.findall(r'movie-card-title">([^<]+)<', row) == ["Film 2"]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (["Sci-Fi"], ["Sci-Fi"]),
        (["Science Fiction", "SCI FI", "science-fiction"], ["Sci-Fi"]),
        (["Action & Adventure"], ["Action", "Adventure"]),
        (["Sci-Fi & Fantasy", "War & Politics"], ["Fantasy", "Sci-Fi", "War"]),
        (["Film Noir", "Biopic", "Sports", "Kids"], ["Biography", "Family", "Film-Noir", "Sport"]),
        (["Public Domain", "Feature Film", ""], []),
        (
            ["comedie", "COMÉDIE", "Comédie dramatique", "Guerre et histoire"],
            ["Comedy", "Drama", "History", "War"],
        ),
        ([], []),
    ],
)
async def test_canonical_genres(db, raw, expected):
    assert await db.fetchval("SELECT canonical_genres($1::text[])", raw) == expected


async def test_every_canonical_genre_is_its_own_name_and_has_a_label(db):
    for name in GENRES:
        assert await db.fetchval("SELECT canonical_genres(ARRAY[$1])", name) == [name]
