-- What a signed-in browser looks like and when it was last seen, for the sessions page.
ALTER TABLE session_families
    ADD COLUMN user_agent text CHECK (length(user_agent) <= 512),
    ADD COLUMN last_used_at timestamptz;
