-- Search indexes without a pending list: with fastupdate, new films wait in an unsorted list that every
-- search reads from start to end until a vacuum merges it (milliseconds per search after a big import,
-- and much more under load). Films are stored a few at a time, so writing them straight into the
-- index costs little.
ALTER INDEX movies_search_vector SET (fastupdate = off);
ALTER INDEX movies_title_trgm SET (fastupdate = off);
ALTER INDEX movies_genres SET (fastupdate = off);
SELECT gin_clean_pending_list('movies_search_vector'::regclass);
SELECT gin_clean_pending_list('movies_title_trgm'::regclass);
SELECT gin_clean_pending_list('movies_genres'::regclass);
