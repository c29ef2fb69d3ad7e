-- Nexus schema, SQLite. Money is canonical decimal TEXT (exact), time INTEGER Unix
-- milliseconds (UTC), ids TEXT (hyphenated TEXTs), JSON TEXT, booleans INTEGER 0/1.
-- Constraint names are stable: the server maps them to API errors.

CREATE TABLE plans (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    max_bots           INTEGER NOT NULL CHECK (max_bots >= 0),
    max_order_notional TEXT,
    price_cents        INTEGER NOT NULL DEFAULT 0 CHECK (price_cents >= 0),
    stripe_price_id    TEXT UNIQUE,
    created_at         INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER) * 1000)
);
INSERT INTO plans (id, name, max_bots, max_order_notional, price_cents)
VALUES ('free', 'Free', 1, 100, 0), ('pro', 'Pro', 20, NULL, 2900);

CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    email             TEXT NOT NULL,
    password_hash     TEXT,
    role              TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    email_verified_at INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email COLLATE NOCASE);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL CONSTRAINT sessions_token_key UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    user_agent TEXT,
    ip         TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Email verification and password reset tokens: stored as hashes, used once.
CREATE TABLE auth_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE oauth_identities (
    provider   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (provider, subject)
);

CREATE TABLE subscriptions (
    user_id                TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    plan_id                TEXT NOT NULL REFERENCES plans (id),
    status                 TEXT NOT NULL CHECK (status IN ('active', 'trialing', 'past_due', 'canceled')),
    stripe_customer_id     TEXT,
    stripe_subscription_id TEXT CONSTRAINT subscriptions_stripe_key UNIQUE,
    current_period_end     INTEGER,
    updated_at             INTEGER NOT NULL
);

-- Exchange API secrets: XChaCha20-Poly1305 ciphertext under the master key `key_id`.
CREATE TABLE exchange_credentials (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    exchange     TEXT NOT NULL CHECK (exchange IN ('binance', 'kraken', 'coinbase', 'paper')),
    label        TEXT NOT NULL,
    masked_key   TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    nonce        BLOB NOT NULL,
    ciphertext   BLOB NOT NULL,
    can_read     INTEGER NOT NULL,
    can_trade    INTEGER NOT NULL,
    can_withdraw INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX exchange_credentials_user ON exchange_credentials (user_id);
CREATE INDEX exchange_credentials_key ON exchange_credentials (key_id);

CREATE TABLE bots (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    exchange        TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    interval        TEXT NOT NULL,
    strategy        TEXT NOT NULL,
    strategy_config TEXT NOT NULL DEFAULT '{}',
    gate            TEXT NOT NULL DEFAULT '{}',
    sizing          TEXT NOT NULL DEFAULT '{}',
    pyramid         TEXT NOT NULL DEFAULT '{}',
    credential_id   TEXT REFERENCES exchange_credentials (id) ON DELETE SET NULL,
    paused          INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX bots_user ON bots (user_id);
-- The fan-out loads the active bots of one (exchange, symbol, strategy).
CREATE INDEX bots_market ON bots (exchange, symbol, strategy) WHERE paused = 0;

CREATE TABLE positions (
    id               TEXT PRIMARY KEY,
    bot_id           TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    symbol           TEXT NOT NULL,
    quantity         TEXT NOT NULL,
    cost             TEXT NOT NULL,
    initial_quantity TEXT NOT NULL,
    initial_cost     TEXT NOT NULL,
    last_fill_price  TEXT NOT NULL,
    last_fill_at     INTEGER NOT NULL,
    adds             INTEGER NOT NULL DEFAULT 0,
    dust             TEXT NOT NULL DEFAULT '0',
    opened_at        INTEGER NOT NULL,
    closed_at        INTEGER
);
-- At most one open position per bot.
CREATE UNIQUE INDEX positions_open_key ON positions (bot_id) WHERE closed_at IS NULL;

CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    bot_id          TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    signal_id       TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    exchange        TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    order_type      TEXT NOT NULL CHECK (order_type IN ('market', 'limit')),
    quantity        TEXT NOT NULL,
    limit_price     TEXT,
    level           INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,
    venue_order_id  TEXT,
    filled_quantity TEXT NOT NULL DEFAULT '0',
    average_price   TEXT,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CONSTRAINT orders_client_order_key UNIQUE (exchange, client_order_id)
);
CREATE INDEX orders_bot ON orders (bot_id, created_at);

CREATE TABLE fills (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id       TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    venue_trade_id TEXT NOT NULL,
    quantity       TEXT NOT NULL,
    price          TEXT NOT NULL,
    fee            TEXT NOT NULL,
    fee_asset      TEXT,
    filled_at      INTEGER NOT NULL,
    CONSTRAINT fills_trade_key UNIQUE (order_id, venue_trade_id)
);

CREATE TABLE gate_decisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    exchange   TEXT NOT NULL,
    symbol     TEXT NOT NULL,
    action     TEXT NOT NULL,
    allowed    INTEGER NOT NULL,
    regime     TEXT,
    decision   TEXT NOT NULL,
    decided_at INTEGER NOT NULL
);
CREATE INDEX gate_decisions_time ON gate_decisions (decided_at);
CREATE INDEX gate_decisions_market ON gate_decisions (exchange, symbol, decided_at);

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    unique_key       TEXT CONSTRAINT jobs_unique_key UNIQUE,
    priority         INTEGER NOT NULL DEFAULT 0,
    state            TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    run_at           INTEGER NOT NULL,
    locked_by        TEXT,
    lease_expires_at INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
-- Claiming scans only what can be claimed, in claim order.
CREATE INDEX jobs_due ON jobs (priority DESC, run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('done', 'dead');

-- Append-only: updates and deletes are refused by the database itself.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    actor   TEXT,
    action  TEXT NOT NULL,
    subject TEXT,
    details TEXT NOT NULL DEFAULT '{}',
    at      INTEGER NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE email_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT REFERENCES users (id) ON DELETE SET NULL,
    to_address  TEXT NOT NULL,
    template    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    provider_id TEXT,
    error       TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX email_log_time ON email_log (created_at);

CREATE TABLE alert_preferences (
    user_id        TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email_on_fill  INTEGER NOT NULL DEFAULT 1,
    email_on_error INTEGER NOT NULL DEFAULT 1,
    webhook_url    TEXT,
    min_notional   TEXT,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE llm_usage (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id           TEXT REFERENCES users (id) ON DELETE SET NULL,
    provider          TEXT NOT NULL,
    model             TEXT NOT NULL,
    purpose           TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost              TEXT NOT NULL DEFAULT '0',
    created_at        INTEGER NOT NULL
);
CREATE INDEX llm_usage_time ON llm_usage (created_at);

-- Rebuildable, high-volume data (UNLOGGED on PostgreSQL).
CREATE TABLE market_data_cache (
    exchange   TEXT NOT NULL,
    symbol     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (exchange, symbol, kind)
);
CREATE TABLE rate_limit_counters (
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);
