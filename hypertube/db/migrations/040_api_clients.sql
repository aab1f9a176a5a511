-- API clients: OAuth2 client-credentials pairs owned by a user; only a hash of the secret is kept.
CREATE TABLE api_clients (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id text NOT NULL UNIQUE CHECK (length(client_id) BETWEEN 8 AND 64),
    secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_clients_user ON api_clients (user_id, created_at DESC);
