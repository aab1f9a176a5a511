-- Films stored apart and merged later (an IMDb id turned up): the old id keeps leading to the film.
CREATE TABLE movie_aliases (
    old_id bigint PRIMARY KEY,
    movie_id bigint NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    merged_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX movie_aliases_movie ON movie_aliases (movie_id);
