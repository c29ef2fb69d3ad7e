-- Kraken-style request nonces: strictly increasing per API key across every process that
-- uses the key. Keyed by a fingerprint of the key, never the key itself.
CREATE TABLE api_nonces (
    key_id     TEXT PRIMARY KEY,
    last_nonce BIGINT NOT NULL CHECK (last_nonce >= 0)
);
