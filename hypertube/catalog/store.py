"""Stores source records: one `movies` row per film (merged by IMDb id, else title and year), one
`movie_sources` row per record, torrents deduplicated by info hash (or .torrent URL); re-fetching never duplicates."""

from __future__ import annotations

from typing import Any

import asyncpg

from hypertube.catalog.interactions import merge_interactions
from hypertube.catalog.records import FilmDetails, FilmRecord, TorrentRecord


def _source_data(record: FilmRecord) -> dict[str, Any]:
    return {"title": record.title, "year": record.year, "popularity": record.popularity}


async def store_records(pool: asyncpg.Pool, records: list[FilmRecord]) -> list[int]:
    """Upserts each record; returns the movie ids in the same order."""
    ids: list[int] = []
    if not records:
        return ids
    async with pool.acquire() as conn:
        for record in records:
            async with conn.transaction():
                # One writer per film at a time (across processes too), so two answers about the same
                # new film cannot both insert it.
                key = record.imdb_id or f"{record.source}:{record.external_id}"
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", key)
                ids.append(await _store_one(conn, record))
    return ids


async def _find_movie(conn: asyncpg.Connection, r: FilmRecord) -> int | None:
    """The stored film this record is about: by source id, then IMDb id, then title and year."""
    movie_id = await conn.fetchval(
        "SELECT movie_id FROM movie_sources WHERE source = $1 AND external_id = $2", r.source, r.external_id
    )
    if movie_id is None and r.imdb_id:
        movie_id = await conn.fetchval("SELECT id FROM movies WHERE imdb_id = $1", r.imdb_id)
    if movie_id is None and r.year:
        # Sources without IMDb ids (most Archive items): the same title in the same year is the same
        # film, unless two stored films already share them, or the stored one has another IMDb id.
        same = await conn.fetch(
            """SELECT id, imdb_id FROM movies WHERE lower(title) = lower($1) AND year = $2 LIMIT 2""",
            r.title[:500],
            r.year,
        )
        if len(same) == 1 and (same[0]["imdb_id"] is None or r.imdb_id is None):
            movie_id = same[0]["id"]
    return movie_id


async def _save_movie(conn: asyncpg.Connection, r: FilmRecord, movie_id: int | None) -> int:
    """Inserts the film, or fills in the stored one; its id (another one when it turns out to be a twin)."""
    values = (
        r.title[:500],
        r.year,
        r.rating,
        r.runtime,
        r.genres,
        r.summary,
        r.director,
        r.producer,
        r.cast,
        r.cover_url,
        r.backdrop_url,
        r.language,
        r.popularity,
    )
    if movie_id is None:
        movie_id = await conn.fetchval(
            """INSERT INTO movies (title, year, rating, runtime, genres, summary, director, producer,
                   cast_members, cover_url, backdrop_url, language, popularity, imdb_id)
               VALUES ($1, $2, $3, $4, canonical_genres($5::text[]), $6, $7, $8, $9, $10, $11, $12, $13, $14)
               ON CONFLICT (imdb_id) DO UPDATE SET updated_at = now()
               RETURNING id""",
            *values,
            r.imdb_id,
        )
    else:
        if r.imdb_id:
            # The IMDb id turned up for a film stored apart from the one that already has it: one film.
            twin = await conn.fetchval(
                """SELECT o.id FROM movies o JOIN movies m ON m.id = $2 AND m.imdb_id IS NULL
                   WHERE o.imdb_id = $1 AND o.id <> $2""",
                r.imdb_id,
                movie_id,
            )
            if twin is not None:
                await merge_movies(conn, movie_id, twin)
                movie_id = twin
        # Known film: keep what it has, fill what is missing, take fresh figures (rating, popularity).
        await conn.execute(
            """UPDATE movies SET
                   year = coalesce(year, $2), rating = coalesce($3, rating),
                   runtime = coalesce(runtime, $4),
                   genres = CASE WHEN cardinality(genres) = 0 THEN canonical_genres($5::text[]) ELSE genres END,
                   summary = coalesce(summary, $6), director = coalesce(director, $7),
                   producer = coalesce(producer, $8),
                   cast_members = CASE WHEN cast_members = '[]'::jsonb THEN $9 ELSE cast_members END,
                   cover_url = coalesce(cover_url, $10), backdrop_url = coalesce(backdrop_url, $11),
                   language = coalesce(language, $12), popularity = greatest(popularity, $13),
                   imdb_id = coalesce(imdb_id, $14), updated_at = now()
               WHERE id = $1""",
            movie_id,
            *values[1:],
            r.imdb_id if r.imdb_id and not await _imdb_taken(conn, r.imdb_id, movie_id) else None,
        )
    return movie_id


async def _store_one(conn: asyncpg.Connection, r: FilmRecord) -> int:
    movie_id = await _save_movie(conn, r, await _find_movie(conn, r))
    await conn.execute(
        """INSERT INTO movie_sources (source, external_id, movie_id, data) VALUES ($1, $2, $3, $4)
           ON CONFLICT (source, external_id) DO UPDATE SET data = EXCLUDED.data, fetched_at = now()""",
        r.source,
        r.external_id,
        movie_id,
        _source_data(r),
    )
    for t in r.torrents:
        await _store_torrent(conn, movie_id, r.source, t)
    if r.withdrawn:
        await conn.execute(
            "DELETE FROM torrents WHERE movie_id = $1 AND source = $2 AND torrent_url = ANY($3::text[])",
            movie_id,
            r.source,
            r.withdrawn,
        )
    return movie_id


async def _store_torrent(conn: asyncpg.Connection, movie_id: int, source: str, t: TorrentRecord) -> None:
    """One torrent of the film: known by its info hash, or (Archive) only by its .torrent URL so far."""
    counts = (movie_id, source, t.quality, t.size_bytes, t.seeders, t.leechers)
    if t.info_hash:
        await conn.execute(
            """INSERT INTO torrents (movie_id, source, quality, size_bytes, seeders, leechers,
                   info_hash, magnet, torrent_url)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (movie_id, info_hash) DO UPDATE SET
                   seeders = EXCLUDED.seeders, leechers = EXCLUDED.leechers,
                   size_bytes = coalesce(EXCLUDED.size_bytes, torrents.size_bytes),
                   quality = coalesce(EXCLUDED.quality, torrents.quality),
                   magnet = coalesce(EXCLUDED.magnet, torrents.magnet),
                   torrent_url = coalesce(EXCLUDED.torrent_url, torrents.torrent_url)""",
            *counts,
            t.info_hash,
            t.magnet,
            t.torrent_url,
        )
        # The same torrent first seen without its hash is now known by it.
        if t.torrent_url:
            await conn.execute(
                "DELETE FROM torrents WHERE movie_id = $1 AND info_hash IS NULL AND torrent_url = $2",
                movie_id,
                t.torrent_url,
            )
    elif t.torrent_url:
        if await conn.fetchval(
            "SELECT 1 FROM torrents WHERE movie_id = $1 AND torrent_url = $2", movie_id, t.torrent_url
        ):
            return
        await conn.execute(
            """INSERT INTO torrents (movie_id, source, quality, size_bytes, seeders, leechers,
                   torrent_url)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (movie_id, torrent_url) WHERE info_hash IS NULL DO UPDATE SET
                   seeders = EXCLUDED.seeders, leechers = EXCLUDED.leechers,
                   size_bytes = coalesce(EXCLUDED.size_bytes, torrents.size_bytes)""",
            *counts,
            t.torrent_url,
        )


async def merge_movies(conn: asyncpg.Connection, old: int, into: int) -> None:
    """Folds film `old` into film `into` (in the caller's transaction): its sources, torrents,
    comments, chat, downloads and viewers' positions move over, what `into` lacks is filled in from
    it, and `old` stays reachable as an alias."""
    await conn.execute("UPDATE movie_sources SET movie_id = $2 WHERE movie_id = $1", old, into)
    # The same torrent on both: the copy on `into` stays.
    await conn.execute(
        """DELETE FROM torrents t WHERE t.movie_id = $1 AND EXISTS (
               SELECT 1 FROM torrents k WHERE k.movie_id = $2
               AND (k.info_hash = t.info_hash OR (t.info_hash IS NULL AND k.info_hash IS NULL
                                                  AND k.torrent_url = t.torrent_url)))""",
        old,
        into,
    )
    for table in ("torrents", "comments", "chat_messages", "downloads"):
        await conn.execute(f"UPDATE {table} SET movie_id = $2 WHERE movie_id = $1", old, into)  # noqa: S608
    # A viewer of both keeps the most recent position.
    await conn.execute(
        """INSERT INTO watches (user_id, movie_id, position_s, watched_at)
           SELECT user_id, $2, position_s, watched_at FROM watches WHERE movie_id = $1
           ON CONFLICT (user_id, movie_id) DO UPDATE SET
               position_s = CASE WHEN EXCLUDED.watched_at > watches.watched_at
                                 THEN EXCLUDED.position_s ELSE watches.position_s END,
               watched_at = greatest(EXCLUDED.watched_at, watches.watched_at)""",
        old,
        into,
    )
    await conn.execute(
        """UPDATE movies t SET
               year = coalesce(t.year, o.year), rating = coalesce(t.rating, o.rating),
               runtime = coalesce(t.runtime, o.runtime),
               genres = CASE WHEN cardinality(t.genres) = 0 THEN o.genres ELSE t.genres END,
               summary = coalesce(t.summary, o.summary), director = coalesce(t.director, o.director),
               producer = coalesce(t.producer, o.producer),
               cast_members = CASE WHEN t.cast_members = '[]'::jsonb THEN o.cast_members ELSE t.cast_members END,
               cover_url = coalesce(t.cover_url, o.cover_url),
               backdrop_url = coalesce(t.backdrop_url, o.backdrop_url),
               language = coalesce(t.language, o.language),
               popularity = greatest(t.popularity, o.popularity), updated_at = now()
           FROM movies o WHERE t.id = $2 AND o.id = $1""",
        old,
        into,
    )
    await merge_interactions(conn, old, into)  # what recommendations learnt from `old`
    await conn.execute("UPDATE movie_aliases SET movie_id = $2 WHERE movie_id = $1", old, into)
    await conn.execute("DELETE FROM movies WHERE id = $1", old)
    await conn.execute("INSERT INTO movie_aliases (old_id, movie_id) VALUES ($1, $2)", old, into)


async def alias_of(db: asyncpg.Pool | asyncpg.Connection, movie_id: int) -> int | None:
    """The film an old id was merged into, if it was."""
    return await db.fetchval("SELECT movie_id FROM movie_aliases WHERE old_id = $1", movie_id)


async def _imdb_taken(conn: asyncpg.Connection, imdb_id: str, movie_id: int) -> bool:
    return bool(
        await conn.fetchval("SELECT 1 FROM movies WHERE imdb_id = $1 AND id <> $2", imdb_id, movie_id)
    )


async def store_details(
    pool: asyncpg.Pool, movie_id: int, records: list[FilmRecord], extra: FilmDetails | None, done: bool = True
) -> None:
    """Stores what a film page fetched: source details first, then enrichment fills the gaps (it never
    replaces what a source said; its cast adds the people the source did not name)."""
    if records:
        await store_records(pool, records)
    if extra is not None:
        known = await pool.fetchval("SELECT cast_members FROM movies WHERE id = $1", movie_id) or []
        names = {str(c.get("name", "")).lower() for c in known if isinstance(c, dict)}
        cast = known + [c for c in extra.cast if str(c.get("name", "")).lower() not in names]
        await pool.execute(
            """UPDATE movies SET
                   summary = coalesce(summary, $2), director = coalesce(director, $3),
                   producer = coalesce(producer, $4), cast_members = $5,
                   cover_url = coalesce(cover_url, $6), backdrop_url = coalesce(backdrop_url, $7),
                   rating = coalesce(rating, $8), runtime = coalesce(runtime, $9),
                   genres = CASE WHEN cardinality(genres) = 0 THEN canonical_genres($10::text[]) ELSE genres END
               WHERE id = $1""",
            movie_id,
            extra.summary,
            extra.director,
            extra.producer,
            cast,
            extra.cover_url,
            extra.backdrop_url,
            extra.rating,
            extra.runtime,
            extra.genres,
        )
    if done:
        await pool.execute("UPDATE movies SET details_at = now() WHERE id = $1", movie_id)
