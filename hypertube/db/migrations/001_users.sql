-- Accounts: users and what the sign-in machinery needs.
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email citext NOT NULL UNIQUE CHECK (length(email) <= 254),
    email_verified boolean NOT NULL DEFAULT false,
    username citext NOT NULL UNIQUE CHECK (length(username) BETWEEN 3 AND 30),
    first_name text NOT NULL CHECK (length(first_name) BETWEEN 1 AND 60),
    last_name text NOT NULL CHECK (length(last_name) BETWEEN 1 AND 60),
    password_hash text,
    language text NOT NULL DEFAULT 'en',
    picture text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
