"""Search and browse over stored films: the query-string contract, typo-tolerant matching (full text +
trigram word similarity), sorting and keyset pagination with opaque cursors."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg
import orjson

from hypertube.catalog.genres import known_name
from hypertube.catalog.records import SearchFilters
from hypertube.i18n import N_
from hypertube.i18n import gettext as _

MAX_QUERY = 200
PAGE_SIZE = 24
SORTS = ("name", "year", "rating", "popularity", "relevance")
# How close a misspelt title must be (pg_trgm word similarity, 0..1).
WORD_SIMILARITY = 0.4
# Below this many full-text matches, titles spelt nearly like the query are searched as well.
FUZZY_BELOW = 30

# Each sort's natural direction: names A to Z, the newest, best rated, most popular and best matching first.
NATURAL_ORDER = {"name": "asc", "year": "desc", "rating": "desc", "popularity": "desc", "relevance": "desc"}

SORT_KEYS = {
    "name": "lower(m.title)",
    "year": "coalesce(m.year, 0)",
    "rating": "coalesce(m.rating, 0)",
    "popularity": "m.popularity",
    "relevance": "rank",
}


@dataclass(frozen=True)
class LibraryQuery:
    q: str = ""
    filters: SearchFilters = field(default_factory=SearchFilters)
    problems: tuple[str, ...] = ()

    def cache_key(self) -> str:
        f = self.filters
        return orjson.dumps(
            [self.q.lower(), f.genre, f.year_min, f.year_max, f.rating_min, f.sort, f.order]
        ).decode()

    @property
    def default_sort(self) -> str:
        """Best match when searching, most popular first when browsing."""
        return default_sort(self.q)

    @property
    def is_home(self) -> bool:
        """Browsing everything in the usual order: the library's home, with its rows."""
        f = self.filters
        return (
            not self.q
            and not f.genre
            and f.year_min is None
            and f.year_max is None
            and (f.rating_min is None and f.sort == self.default_sort and f.order == NATURAL_ORDER[f.sort])
        )

    def params(self) -> dict[str, str]:
        """The canonical query string (what a shared URL needs): the default sort and each sort's natural
        order are left out, so that choosing another sort never carries an order meant for the last one."""
        f = self.filters
        out = {
            "q": self.q,
            "genre": f.genre or "",
            "sort": "" if f.sort == self.default_sort else f.sort,
            "order": "" if f.order == NATURAL_ORDER[f.sort] else f.order,
        }
        if f.year_min is not None:
            out["year_min"] = str(f.year_min)
        if f.year_max is not None:
            out["year_max"] = str(f.year_max)
        if f.rating_min is not None:
            out["rating_min"] = f"{f.rating_min:g}"
        return {k: v for k, v in out.items() if v}


def _number(raw: str | None, kind: type, low: float, high: float, label: str, problems: list[str]) -> Any:
    if raw is None or not raw.strip():
        return None
    try:
        value = kind(raw.strip()[:20])
    except ValueError:
        problems.append(_("“%(field)s” must be a number; it was ignored.", field=label))
        return None
    if value != value or not low <= value <= high:
        problems.append(
            _(
                "“%(field)s” must be between %(low)s and %(high)s; it was ignored.",
                field=label,
                low=f"{low:g}",
                high=f"{high:g}",
            )
        )
        return None
    return value


def parse_query(args: Any) -> LibraryQuery:
    """Reads the library query string. Odd values fall back to defaults with a message (in the language
    of the current request), never an error."""
    problems: list[str] = []

    def get(name: str) -> str | None:
        value = args.get(name)
        return value if isinstance(value, str) else None

    q = " ".join((get("q") or "").replace("\x00", "").split())
    if len(q) > MAX_QUERY:
        q = q[:MAX_QUERY]
        problems.append(_("The search was shortened to %(max)s characters.", max=MAX_QUERY))
    genre = known_name(" ".join((get("genre") or "").replace("\x00", "").split())[:60] or None)
    year_min = _number(get("year_min"), int, 1870, 2100, _("From year"), problems)
    year_max = _number(get("year_max"), int, 1870, 2100, _("To year"), problems)
    if year_min is not None and year_max is not None and year_min > year_max:
        year_min, year_max = year_max, year_min
        problems.append(_("The year range was upside down; it was swapped."))
    rating_min = _number(get("rating_min"), float, 0, 10, _("Minimum rating"), problems)
    sort = (get("sort") or "").lower()
    if sort and sort not in SORTS:
        problems.append(
            _("Unknown sort order; best matches first.")
            if q
            else _("Unknown sort order; most popular first.")
        )
        sort = ""
    if sort == "relevance" and not q:
        sort = ""
    sort = sort or default_sort(q)
    order = (get("order") or "").lower()
    if order not in ("asc", "desc"):
        order = NATURAL_ORDER[sort]
    filters = SearchFilters(genre, year_min, year_max, rating_min, sort, order)
    return LibraryQuery(q, filters, tuple(problems))


def default_sort(q: str) -> str:
    return "relevance" if q else "popularity"


def encode_cursor(key: Any, movie_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([key, movie_id])).decode().rstrip("=")


class BadCursor(ValueError):
    pass


BROKEN_CURSOR = N_("This page link is broken; start again from the first page.")
MAX_ROW_ID = 2**63 - 1  # bigint
MAX_SORT_NUMBER = 1e300  # well inside double precision


def decode_cursor(raw: str, sort: str) -> tuple[Any, int]:
    """The (sort key, film id) a cursor from `encode_cursor` carries; BadCursor for anything we could not
    have given out (a key of the wrong type, a NUL the database refuses, an id outside its 64 bits)."""
    try:
        if len(raw) > 800:
            raise ValueError
        key, movie_id = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise BadCursor(BROKEN_CURSOR) from None
    expected: tuple[type, ...] = (str,) if sort == "name" else (int, float)
    if not isinstance(key, expected) or isinstance(key, bool) or not _storable(key):
        raise BadCursor(BROKEN_CURSOR)
    if not isinstance(movie_id, int) or isinstance(movie_id, bool) or not 0 < movie_id <= MAX_ROW_ID:
        raise BadCursor(BROKEN_CURSOR)
    return key, movie_id


def _storable(key: Any) -> bool:
    """Whether PostgreSQL can compare against the key (text without NUL, a double precision number)."""
    if isinstance(key, str):
        return "\x00" not in key
    return abs(key) <= MAX_SORT_NUMBER


@dataclass
class Page:
    movies: list[dict[str, Any]]
    next_cursor: str | None


CARD_COLUMNS = "m.id, m.title, m.year, m.rating, m.cover_url, m.popularity"


async def search_page(
    pool: asyncpg.Pool, query: LibraryQuery, after: tuple[Any, int] | None = None, limit: int = PAGE_SIZE
) -> Page:
    f = query.filters
    args: list[Any] = []
    async with pool.acquire() as conn:
        # Settings for this connection only: the pool resets them (RESET ALL) when it takes the
        # connection back, and setting them costs one round trip where a transaction costs three.
        # Plans made for these values: a generic plan (what a prepared statement falls back to after a
        # few runs) cannot see how many films a word or a filter matches; for a rare word it reads the
        # whole table and calls websearch_to_tsquery on every row.
        await conn.execute(
            "SET plan_cache_mode = force_custom_plan;"
            f" SET pg_trgm.word_similarity_threshold = {WORD_SIMILARITY}"
        )
        fuzzy = bool(spelled_words(query.q)) and await _few_word_matches(conn, query.q.lower())
        sql = _page_sql(query, fuzzy, after, limit, args)
        if fuzzy:
            # The planner underrates the trigram index; reading every title costs far more.
            await conn.execute("SET enable_seqscan = off")
        rows = await conn.fetch(sql, *args)
    movies = [film_card(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        sort_key = last["sort_key"]
        next_cursor = encode_cursor(float(sort_key) if f.sort != "name" else sort_key, last["id"])
    return Page(movies, next_cursor)


def _page_sql(
    query: LibraryQuery, fuzzy: bool, after: tuple[Any, int] | None, limit: int, args: list[Any]
) -> str:
    f = query.filters

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ["TRUE"]
    rank = "0::float8"
    if query.q:
        q = arg(query.q.lower())
        tsq = f"websearch_to_tsquery('english', {q})"
        if fuzzy:
            # Few films have these words: look for titles spelt nearly like them too. Two index scans
            # joined by UNION (with OR the planner reads the whole table).
            spelled = arg(spelled_words(query.q).lower())
            where.append(
                f"m.id IN (SELECT id FROM movies WHERE search_vector @@ {tsq}"
                f" UNION SELECT id FROM movies WHERE {spelled} <% lower(title))"
            )
        else:
            where.append(f"m.search_vector @@ {tsq}")
        if f.sort == "relevance":
            # Exact titles first, then full-text rank and closeness of spelling; whole-title similarity
            # puts "The Matrix" before its sequels for "matrix".
            rank = (
                f"(CASE WHEN lower(m.title) = {q} THEN 2 ELSE 0 END + ts_rank(m.search_vector, {tsq})"
                f" + word_similarity({q}, lower(m.title)) + similarity({q}, lower(m.title)))::float8"
            )
    if f.genre:
        # The sources' other words for it ("Science Fiction" for "Sci-Fi") name the same genre.
        where.append(f"m.genres && canonical_genres(ARRAY[{arg(f.genre)}]::text[])")
    if f.year_min is not None:
        where.append(f"m.year >= {arg(f.year_min)}")
    if f.year_max is not None:
        where.append(f"m.year <= {arg(f.year_max)}")
    if f.rating_min is not None:
        where.append(f"m.rating >= {arg(f.rating_min)}")
    key = SORT_KEYS[f.sort]
    direction = "ASC" if f.order == "asc" else "DESC"
    # Films of equal rank in the order they were stored: those a source sends while the reader scrolls
    # come after the cursor, not before it (where the reader would never see them).
    id_direction = ("DESC" if direction == "ASC" else "ASC") if f.sort == "relevance" else direction
    outer_where = ""
    if after is not None:
        op = ">" if f.order == "asc" else "<"
        cast = "text" if f.sort == "name" else "float8"
        key_arg, id_arg = f"{arg(after[0])}::{cast}", f"{arg(after[1])}::bigint"
        if id_direction == direction:
            outer_where = f"WHERE (sort_key, id) {op} ({key_arg}, {id_arg})"
        else:
            id_op = "<" if op == ">" else ">"
            outer_where = f"WHERE (sort_key {op} {key_arg} OR (sort_key = {key_arg} AND id {id_op} {id_arg}))"
    sort_key = rank if f.sort == "relevance" else key
    inner = f"""SELECT {CARD_COLUMNS}, {sort_key} AS sort_key
                FROM movies m WHERE {" AND ".join(where)}"""
    # A search matches few films: find them all first, then sort. Browsing reads a sort index in order.
    source = (
        f"WITH hits AS MATERIALIZED ({inner}) SELECT * FROM hits"
        if query.q
        else f"SELECT * FROM ({inner}) hits"
    )
    sql = f"""{source} {outer_where}
        ORDER BY sort_key {direction}, id {id_direction}
        LIMIT {arg(limit + 1)}"""
    return sql


def spelled_words(q: str) -> str:
    """The words of `q` that can be misspelt: those with a letter. Numbers match exactly (full text);
    left in, they would only dilute the spelling similarity, so that which films match would depend
    on unrelated numbers typed beside a title."""
    return " ".join(word for word in q.split() if any(ch.isalpha() for ch in word))


async def _few_word_matches(conn: asyncpg.Connection, q: str) -> bool:
    """True when fewer than FUZZY_BELOW films contain the words of `q` (so typos are worth looking for)."""
    found = await conn.fetchval(
        """SELECT count(*) FROM (SELECT 1 FROM movies
               WHERE search_vector @@ websearch_to_tsquery('english', $1) LIMIT $2) hits""",
        q,
        FUZZY_BELOW,
    )
    return found < FUZZY_BELOW


def film_card(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "year": row["year"],
        "rating": float(row["rating"]) if row["rating"] is not None else None,
        "cover_url": row["cover_url"],
        "initial": initial(row["title"]),
        "watched": False,
    }


ARTICLES = {"the", "a", "an", "le", "la", "les", "l'", "un", "une", "der", "die", "das", "el", "il"}


def initial(title: str) -> str:
    """The letter shown on a card without a cover: the first of the title, past a leading article."""
    words = title.split()
    if len(words) > 1 and words[0].lower() in ARTICLES:
        words = words[1:]
    return (words[0][:1] if words else title[:1]).upper()


async def local_count(pool: asyncpg.Pool, query: LibraryQuery, cap: int) -> int:
    """How many stored films match (counting stops at `cap`): tells whether the sources should be asked."""
    page = await search_page(
        pool, replace(query, filters=replace(query.filters, sort="popularity")), None, cap
    )
    return len(page.movies)


async def known_genres(pool: asyncpg.Pool) -> list[str]:
    """The stored films' genres, the most common first."""
    rows = await pool.fetch(
        """SELECT g, count(*) AS n FROM movies, unnest(genres) AS g
           GROUP BY g ORDER BY n DESC, g LIMIT 40"""
    )
    return [r["g"] for r in rows]
