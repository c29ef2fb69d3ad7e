-- Email as a delivery system: one log row per message through its states, and the
-- addresses that bounced hard or complained, which later sends respect. The email_log of
-- 0001 was never written; it is replaced.
DROP TABLE email_log;
CREATE TABLE email_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    to_address   TEXT NOT NULL,
    template     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'retrying', 'failed',
                     'suppressed', 'bounced', 'complained')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    provider_id  TEXT,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    sent_at      INTEGER,
    delivered_at INTEGER
);
CREATE INDEX email_log_time ON email_log (created_at);
CREATE INDEX email_log_to ON email_log (to_address, id);
CREATE UNIQUE INDEX email_log_provider ON email_log (provider_id) WHERE provider_id IS NOT NULL;

CREATE TABLE email_suppressions (
    address    TEXT PRIMARY KEY,
    reason     TEXT NOT NULL CHECK (reason IN ('bounced', 'complained')),
    email_id   INTEGER,
    created_at INTEGER NOT NULL
);
