-- Catalog search: a full-text vector on titles, keyset-friendly sort indexes, when details were fetched,
-- and one uniqueness rule for torrents known only by their .torrent URL.
ALTER TABLE movies
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'B')
    ) STORED,
    ADD COLUMN details_at timestamptz;

CREATE INDEX movies_search_vector ON movies USING gin (search_vector);
CREATE INDEX movies_name_key ON movies (lower(title), id);
CREATE INDEX movies_year_key ON movies ((coalesce(year, 0)), id);
CREATE INDEX movies_rating_key ON movies ((coalesce(rating, 0)), id);
CREATE INDEX movies_popularity_key ON movies (popularity, id);

CREATE UNIQUE INDEX torrents_movie_url ON torrents (movie_id, torrent_url) WHERE info_hash IS NULL;
