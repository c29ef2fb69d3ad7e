-- Signed outside signals already accepted (POST /api/v1/signals): a digest of each
-- signature, kept until its timestamp is no longer accepted, so a captured request is
-- refused by every instance sharing the database. Expired rows are deleted hourly.
CREATE TABLE seen_signatures (
    digest     BYTEA PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX seen_signatures_expiry ON seen_signatures (expires_at);
