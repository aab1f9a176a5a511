-- Torrent downloads: one row per torrent the engine holds, so a restart picks them up again and the
-- janitor knows what it may delete.
CREATE TABLE downloads (
    info_hash text PRIMARY KEY CHECK (info_hash ~ '^[0-9a-f]{40}$'),
    movie_id bigint NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    source text,
    save_path text NOT NULL,
    file_index int,
    file_path text,
    size_bytes bigint,
    progress real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    state text NOT NULL DEFAULT 'metadata',
    error text,
    added_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_watched_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);
CREATE INDEX downloads_movie ON downloads (movie_id);
CREATE INDEX downloads_last_watched ON downloads (last_watched_at);
