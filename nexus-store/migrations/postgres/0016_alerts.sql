-- Alert preferences (issue 18): the unused table of 0001 is replaced. A user without a
-- row has the defaults (fills and errors by email, no webhook). The webhook's signing
-- secret is sealed by the vault like exchange secrets (key id, nonce, ciphertext), bound
-- to its user; it is shown to the user once, when the URL is set.
DROP TABLE alert_preferences;

CREATE TABLE alert_preferences (
    user_id              UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email_fills          BOOLEAN NOT NULL DEFAULT true,
    email_gate_blocks    BOOLEAN NOT NULL DEFAULT false,
    email_errors         BOOLEAN NOT NULL DEFAULT true,
    email_daily_summary  BOOLEAN NOT NULL DEFAULT false,
    webhook_url          TEXT,
    webhook_events       TEXT NOT NULL DEFAULT 'fills,errors',
    webhook_key_id       TEXT,
    webhook_nonce        BYTEA,
    webhook_secret       BYTEA,
    updated_at           TIMESTAMPTZ NOT NULL,
    CHECK ((webhook_url IS NULL) = (webhook_secret IS NULL))
);
-- The daily summary pages through the users who want it.
CREATE INDEX alert_preferences_summary ON alert_preferences (user_id) WHERE email_daily_summary;
