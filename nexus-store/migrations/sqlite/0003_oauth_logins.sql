-- Sign-ins through an identity provider (Google) that were sent to the provider and are
-- not back yet: keyed by the SHA-256 of the random `state`, used once, kept 10 minutes.
-- In the database (not in a server's memory), so any instance can finish a sign-in
-- another one started.
CREATE TABLE oauth_logins (
    state_hash    BLOB PRIMARY KEY,
    provider      TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX oauth_logins_expiry ON oauth_logins (expires_at);
