-- Recommendations: which films each user finished or commented on, how many users share each pair of
-- such films (item-to-item co-watch counts, kept up to date as users interact), and the people in each
-- film (directors and leading cast) for content similarity.
CREATE TABLE film_interactions (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    movie_id bigint NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    finished boolean NOT NULL DEFAULT false,
    commented boolean NOT NULL DEFAULT false,
    first_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, movie_id)
);
CREATE INDEX film_interactions_user_recent ON film_interactions (user_id, first_at DESC, movie_id);

-- How many users interacted with each film.
CREATE TABLE film_audience (
    movie_id bigint PRIMARY KEY REFERENCES movies (id) ON DELETE CASCADE,
    users int NOT NULL CHECK (users > 0)
);

-- Both directions are stored, so a film's neighbours are one index range.
CREATE TABLE co_watch_counts (
    movie_id bigint NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    other_id bigint NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    users int NOT NULL CHECK (users > 0),
    PRIMARY KEY (movie_id, other_id)
);
CREATE INDEX co_watch_counts_top ON co_watch_counts (movie_id, users DESC, other_id);
-- Deleting a film (merges do) finds the pairs where it is the other film.
CREATE INDEX co_watch_counts_other ON co_watch_counts (other_id);

-- Directors (a comma-separated list) and the first six cast members, lower-cased, as one set of names.
CREATE FUNCTION film_people(director text, cast_members jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT name), '{}')
    FROM (
        SELECT lower(btrim(d)) AS name FROM unnest(string_to_array(coalesce(director, ''), ',')) AS d
        UNION ALL
        SELECT lower(btrim(c.member ->> 'name'))
        FROM jsonb_array_elements(
            CASE jsonb_typeof(cast_members) WHEN 'array' THEN cast_members ELSE '[]'::jsonb END
        ) WITH ORDINALITY AS c(member, n)
        WHERE c.n <= 6 AND jsonb_typeof(c.member) = 'object'
    ) names
    WHERE name <> ''
$$;

-- Stored, so that comparing two films' people costs no more than comparing their genres; the index finds
-- the films that share a director or an actor with a given film without reading every film.
ALTER TABLE movies ADD COLUMN people text[] GENERATED ALWAYS AS (film_people(director, cast_members)) STORED;
CREATE INDEX movies_people ON movies USING gin (people) WITH (fastupdate = off);
