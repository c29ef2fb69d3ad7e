-- Sessions keep when their sign-in started across refreshes, so a refresh can never carry
-- a session past its absolute lifetime; one-time tokens may also confirm linking a
-- provider identity to an existing account (SQLite cannot change a CHECK in place: the
-- table is rebuilt).
ALTER TABLE sessions ADD COLUMN started_at INTEGER;
UPDATE sessions SET started_at = created_at;

CREATE TABLE auth_tokens_new (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL
        CHECK (purpose IN ('verify_email', 'reset_password', 'link_identity')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
INSERT INTO auth_tokens_new SELECT token_hash, user_id, purpose, created_at, expires_at, used_at
FROM auth_tokens;
DROP TABLE auth_tokens;
ALTER TABLE auth_tokens_new RENAME TO auth_tokens;
-- Using one token kills the user's other live tokens of its kind.
CREATE INDEX auth_tokens_user ON auth_tokens (user_id, purpose) WHERE used_at IS NULL;
