-- One list of genres: the sources' words ("Science Fiction", "Sci-Fi", "sci fi", "Action & Adventure")
-- map to the canonical names below (hypertube/catalog/genres.py gives their labels and translations);
-- words that are no genre (Archive subjects such as "Public Domain") are left out. canonical_genres()
-- gives the canonical genres of a source's list, sorted, each once ("Sci-Fi & Fantasy" gives both):
-- each word is compared in lower case, letters only, with the aliases it holds.
CREATE FUNCTION canonical_genres(raw text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT a.genre ORDER BY a.genre), '{}')
    FROM unnest(coalesce(raw, '{}')) AS g
    CROSS JOIN regexp_split_to_table(g, '\s*(&|/|,|\s+and\s+)\s*', 'i') AS part
    JOIN (VALUES
        ('action', 'Action'),
        ('adventure', 'Adventure'), ('adventures', 'Adventure'),
        ('animation', 'Animation'), ('animated', 'Animation'), ('cartoon', 'Animation'),
        ('cartoons', 'Animation'), ('anime', 'Animation'),
        ('biography', 'Biography'), ('biographical', 'Biography'), ('biopic', 'Biography'),
        ('comedy', 'Comedy'), ('comedies', 'Comedy'),
        ('crime', 'Crime'),
        ('documentary', 'Documentary'), ('documentaries', 'Documentary'),
        ('drama', 'Drama'), ('dramas', 'Drama'),
        ('family', 'Family'), ('kids', 'Family'), ('children', 'Family'),
        ('fantasy', 'Fantasy'),
        ('filmnoir', 'Film-Noir'), ('noir', 'Film-Noir'),
        ('history', 'History'), ('historical', 'History'),
        ('horror', 'Horror'),
        ('music', 'Music'),
        ('musical', 'Musical'), ('musicals', 'Musical'),
        ('mystery', 'Mystery'),
        ('romance', 'Romance'), ('romantic', 'Romance'),
        ('scifi', 'Sci-Fi'), ('sciencefiction', 'Sci-Fi'),
        ('sport', 'Sport'), ('sports', 'Sport'),
        ('thriller', 'Thriller'), ('suspense', 'Thriller'),
        ('war', 'War'),
        ('western', 'Western'), ('westerns', 'Western')
    ) AS a (alias, genre) ON a.alias = regexp_replace(lower(part), '[^a-z]', '', 'g')
$$;

UPDATE movies SET genres = canonical_genres(genres) WHERE genres <> canonical_genres(genres);

-- Watching: how long the film is (as the player's file says) and when it was finished; a row without
-- `finished_at` is a film in progress.
ALTER TABLE watches ADD COLUMN duration_s double precision, ADD COLUMN finished_at timestamptz;
UPDATE watches w SET finished_at = w.watched_at
FROM film_interactions f
WHERE f.user_id = w.user_id AND f.movie_id = w.movie_id AND f.finished;
