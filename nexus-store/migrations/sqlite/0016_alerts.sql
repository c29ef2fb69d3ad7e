-- Alert preferences (issue 18): the unused table of 0001 is replaced. A user without a
-- row has the defaults (fills and errors by email, no webhook). The webhook's signing
-- secret is sealed by the vault like exchange secrets (key id, nonce, ciphertext), bound
-- to its user; it is shown to the user once, when the URL is set.
DROP TABLE alert_preferences;

CREATE TABLE alert_preferences (
    user_id              TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email_fills          INTEGER NOT NULL DEFAULT 1,
    email_gate_blocks    INTEGER NOT NULL DEFAULT 0,
    email_errors         INTEGER NOT NULL DEFAULT 1,
    email_daily_summary  INTEGER NOT NULL DEFAULT 0,
    webhook_url          TEXT,
    webhook_events       TEXT NOT NULL DEFAULT 'fills,errors',
    webhook_key_id       TEXT,
    webhook_nonce        BLOB,
    webhook_secret       BLOB,
    updated_at           INTEGER NOT NULL,
    CHECK ((webhook_url IS NULL) = (webhook_secret IS NULL))
);
-- The daily summary pages through the users who want it.
CREATE INDEX alert_preferences_summary ON alert_preferences (user_id) WHERE email_daily_summary = 1;
