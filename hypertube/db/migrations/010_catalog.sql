-- Catalog: films from every source merged into one row (by IMDb id when known), their torrents,
-- comments and what each user watched.
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TABLE movies (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    imdb_id text UNIQUE CHECK (imdb_id ~ '^tt[0-9]{5,10}$'),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    year int CHECK (year BETWEEN 1870 AND 2100),
    rating numeric(3, 1) CHECK (rating BETWEEN 0 AND 10),
    runtime int CHECK (runtime BETWEEN 0 AND 2000),
    genres text[] NOT NULL DEFAULT '{}',
    summary text,
    director text,
    producer text,
    cast_members jsonb NOT NULL DEFAULT '[]',
    cover_url text,
    backdrop_url text,
    language text,
    popularity double precision NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX movies_title_trgm ON movies USING gin (lower(title) gin_trgm_ops);
CREATE INDEX movies_genres ON movies USING gin (genres);
CREATE INDEX movies_popularity ON movies (popularity DESC, id);

-- Where a film came from: one row per source record, so a film seen in two sources merges into one.
CREATE TABLE movie_sources (
    source text NOT NULL,
    external_id text NOT NULL,
    movie_id bigint NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    data jsonb NOT NULL DEFAULT '{}',
    fetched_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, external_id)
);
CREATE INDEX movie_sources_movie ON movie_sources (movie_id);

CREATE TABLE torrents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    movie_id bigint NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    source text NOT NULL,
    quality text,
    size_bytes bigint,
    seeders int NOT NULL DEFAULT 0,
    leechers int NOT NULL DEFAULT 0,
    info_hash text CHECK (info_hash ~ '^[0-9a-f]{40}$'),
    magnet text,
    torrent_url text,
    CHECK (magnet IS NOT NULL OR torrent_url IS NOT NULL),
    UNIQUE (movie_id, info_hash)
);
CREATE INDEX torrents_movie ON torrents (movie_id);

CREATE TABLE comments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    movie_id bigint NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_movie ON comments (movie_id, created_at DESC, id DESC);
CREATE INDEX comments_recent ON comments (created_at DESC, id DESC);

CREATE TABLE watches (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    movie_id bigint NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    position_s double precision NOT NULL DEFAULT 0,
    watched_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, movie_id)
);
CREATE INDEX watches_movie ON watches (movie_id, watched_at DESC);
