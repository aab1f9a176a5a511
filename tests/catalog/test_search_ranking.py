"""Search over a few thousand stored films: typo tolerance, ranking, name order, filters and keyset pages."""

from __future__ import annotations

import asyncpg
import pytest
import pytest_asyncio

from hypertube.catalog.search import LibraryQuery, decode_cursor, parse_query, search_page
from hypertube.db import connect_pool
from tests.fixtures.catalog import insert_generated_films

COUNT = 3000
# The generated catalog is read-only here: built once for the module, emptied at its end.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool(database_url):
    conn = await asyncpg.connect(database_url)
    await conn.execute("TRUNCATE movies RESTART IDENTITY CASCADE")
    await insert_generated_films(conn, COUNT)
    pool = await connect_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()
    await conn.execute("TRUNCATE movies RESTART IDENTITY CASCADE")
    await conn.close()


async def titles(pool, **params) -> list[str]:
    page = await search_page(pool, parse_query(params), limit=10)
    return [m["title"] for m in page.movies]


@pytest.mark.parametrize(
    "q, expected",
    [
        ("the matrix", "The Matrix"),
        ("matrix", "The Matrix"),
        ("matirx", "The Matrix"),
        ("teh matrix", "The Matrix"),
        ("godfathr", "The Godfather"),
        ("jurasic park", "Jurassic Park"),
        ("star wors", "Star Wars"),
        ("NOSFERATU", "Nosferatu"),
        ("metropolis", "Metropolis"),
    ],
)
async def test_best_match_first_even_with_typos(pool, q, expected):
    found = await titles(pool, q=q, sort="relevance")
    assert found and found[0] == expected, found


async def test_whole_words_rank_all_parts_of_a_series(pool):
    found = await titles(pool, q="matrix", sort="relevance")
    assert found[:3] == ["The Matrix", "The Matrix Reloaded", "The Matrix Revolutions"]
    found = await titles(pool, q="godfather part", sort="relevance")
    assert found[0] == "The Godfather Part II"


async def test_search_results_are_best_match_first_by_default(pool):
    query = parse_query({"q": "the matrix"})
    assert query.filters.sort == "relevance" and query.filters.order == "desc"
    assert (await titles(pool, q="the matrix"))[0] == "The Matrix"


async def test_search_results_sorted_by_name_go_from_a_to_z(pool):
    query = parse_query({"q": "silent river", "sort": "name"})
    assert query.filters.sort == "name" and query.filters.order == "asc"
    page = await search_page(pool, query, limit=50)
    names = [m["title"].lower() for m in page.movies]
    assert len(names) >= 5 and names == sorted(names)
    assert all("silent" in n or "river" in n for n in names)


@pytest.mark.parametrize(
    "params, sort, order",
    [
        ({"sort": "name"}, "name", "asc"),
        ({"sort": "year"}, "year", "desc"),
        ({"sort": "rating"}, "rating", "desc"),
        ({"sort": "popularity"}, "popularity", "desc"),
        ({}, "popularity", "desc"),
        ({"q": "x"}, "relevance", "desc"),
        ({"q": "x", "sort": "name", "order": "desc"}, "name", "desc"),
        ({"sort": "relevance"}, "popularity", "desc"),  # nothing to match without a search
    ],
)
async def test_each_sort_has_its_natural_order(params, sort, order):
    query = parse_query(params)
    assert (query.filters.sort, query.filters.order) == (sort, order)
    # The shared address leaves out what goes without saying.
    assert "order" not in query.params() or params.get("order")
    assert query.params().get("sort") == (None if sort in ("relevance", "popularity") else sort)


async def test_unrelated_words_find_nothing(pool):
    assert await titles(pool, q="xylophone quartz") == []


async def test_browse_is_by_popularity(pool):
    page = await search_page(pool, parse_query({}), limit=30)
    pops = [m["id"] for m in page.movies]
    assert len(pops) == 30
    found = await pool.fetch("SELECT id FROM movies ORDER BY popularity DESC, id DESC LIMIT 30")
    assert pops == [r["id"] for r in found]


@pytest.mark.parametrize(
    "params, order_sql",
    [
        ({"sort": "name"}, "lower(title), id"),
        ({"sort": "name", "order": "desc"}, "lower(title) DESC, id DESC"),
        ({"sort": "year", "genre": "Comedy"}, "coalesce(year, 0) DESC, id DESC"),
        (
            {"sort": "rating", "order": "asc", "year_min": "1990", "year_max": "2000"},
            "coalesce(rating, 0), id",
        ),
        ({"sort": "popularity", "rating_min": "8"}, "popularity DESC, id DESC"),
        ({"q": "iron", "sort": "relevance"}, None),
    ],
)
async def test_keyset_pages_cover_everything_once(pool, params, order_sql):
    query: LibraryQuery = parse_query(params)
    seen: list[int] = []
    after = None
    for _ in range(200):
        page = await search_page(pool, query, after, limit=97)
        seen += [m["id"] for m in page.movies]
        if page.next_cursor is None:
            break
        after = decode_cursor(page.next_cursor, query.filters.sort)
    assert len(seen) == len(set(seen)) and seen
    if order_sql:
        f = query.filters
        where = ["TRUE"]
        if f.genre:
            where.append(f"'{f.genre}' = ANY(genres)")
        if f.year_min:
            where.append(f"year BETWEEN {f.year_min} AND {f.year_max}")
        if f.rating_min:
            where.append(f"rating >= {f.rating_min}")
        expected = await pool.fetch(f"SELECT id FROM movies WHERE {' AND '.join(where)} ORDER BY {order_sql}")
        assert seen == [r["id"] for r in expected]
