-- Accounts linked to an OAuth provider's user (42, GitHub, Google).
CREATE TABLE oauth_identities (
    provider text NOT NULL CHECK (provider IN ('ft', 'github', 'google')),
    subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject)
);
CREATE INDEX oauth_identities_user_idx ON oauth_identities (user_id);
