-- Nexus schema, PostgreSQL. Money is NUMERIC (exact), time TIMESTAMPTZ, ids UUID.
-- Constraint names are stable: the server maps them to API errors.

CREATE TABLE plans (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    max_bots           INTEGER NOT NULL CHECK (max_bots >= 0),
    max_order_notional NUMERIC CHECK (max_order_notional > 0),
    price_cents        BIGINT NOT NULL DEFAULT 0 CHECK (price_cents >= 0),
    stripe_price_id    TEXT UNIQUE,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO plans (id, name, max_bots, max_order_notional, price_cents)
VALUES ('free', 'Free', 1, 100, 0), ('pro', 'Pro', 20, NULL, 2900);

CREATE TABLE users (
    id                UUID PRIMARY KEY,
    email             TEXT NOT NULL,
    password_hash     TEXT,
    role              TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    email_verified_at TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE sessions (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL CONSTRAINT sessions_token_key UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    user_agent TEXT,
    ip         TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Email verification and password reset tokens: stored as hashes, used once.
CREATE TABLE auth_tokens (
    token_hash BYTEA PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

CREATE TABLE oauth_identities (
    provider   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (provider, subject)
);

CREATE TABLE subscriptions (
    user_id                UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    plan_id                TEXT NOT NULL REFERENCES plans (id),
    status                 TEXT NOT NULL CHECK (status IN ('active', 'trialing', 'past_due', 'canceled')),
    stripe_customer_id     TEXT,
    stripe_subscription_id TEXT CONSTRAINT subscriptions_stripe_key UNIQUE,
    current_period_end     TIMESTAMPTZ,
    updated_at             TIMESTAMPTZ NOT NULL
);

-- Exchange API secrets: XChaCha20-Poly1305 ciphertext under the master key `key_id`.
CREATE TABLE exchange_credentials (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    exchange     TEXT NOT NULL CHECK (exchange IN ('binance', 'kraken', 'coinbase', 'paper')),
    label        TEXT NOT NULL,
    masked_key   TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    nonce        BYTEA NOT NULL,
    ciphertext   BYTEA NOT NULL,
    can_read     BOOLEAN NOT NULL,
    can_trade    BOOLEAN NOT NULL,
    can_withdraw BOOLEAN NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX exchange_credentials_user ON exchange_credentials (user_id);
CREATE INDEX exchange_credentials_key ON exchange_credentials (key_id);

CREATE TABLE bots (
    id              UUID PRIMARY KEY,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    exchange        TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    interval        TEXT NOT NULL,
    strategy        TEXT NOT NULL,
    -- JSON, not JSONB: kept exactly as the user wrote it.
    strategy_config JSON NOT NULL DEFAULT '{}',
    gate            JSONB NOT NULL DEFAULT '{}',
    sizing          JSONB NOT NULL DEFAULT '{}',
    pyramid         JSONB NOT NULL DEFAULT '{}',
    credential_id   UUID REFERENCES exchange_credentials (id) ON DELETE SET NULL,
    paused          BOOLEAN NOT NULL DEFAULT false,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX bots_user ON bots (user_id);
-- The fan-out loads the active bots of one (exchange, symbol, strategy).
CREATE INDEX bots_market ON bots (exchange, symbol, strategy) WHERE NOT paused;

CREATE TABLE positions (
    id               UUID PRIMARY KEY,
    bot_id           UUID NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    symbol           TEXT NOT NULL,
    quantity         NUMERIC NOT NULL CHECK (quantity >= 0),
    cost             NUMERIC NOT NULL CHECK (cost >= 0),
    initial_quantity NUMERIC NOT NULL,
    initial_cost     NUMERIC NOT NULL,
    last_fill_price  NUMERIC NOT NULL,
    last_fill_at     TIMESTAMPTZ NOT NULL,
    adds             INTEGER NOT NULL DEFAULT 0,
    dust             NUMERIC NOT NULL DEFAULT 0,
    opened_at        TIMESTAMPTZ NOT NULL,
    closed_at        TIMESTAMPTZ
);
-- At most one open position per bot.
CREATE UNIQUE INDEX positions_open_key ON positions (bot_id) WHERE closed_at IS NULL;

CREATE TABLE orders (
    id              UUID PRIMARY KEY,
    bot_id          UUID NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    signal_id       UUID NOT NULL,
    client_order_id TEXT NOT NULL,
    exchange        TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    order_type      TEXT NOT NULL CHECK (order_type IN ('market', 'limit')),
    quantity        NUMERIC NOT NULL,
    limit_price     NUMERIC,
    level           INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,
    venue_order_id  TEXT,
    filled_quantity NUMERIC NOT NULL DEFAULT 0,
    average_price   NUMERIC,
    error           TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT orders_client_order_key UNIQUE (exchange, client_order_id)
);
CREATE INDEX orders_bot ON orders (bot_id, created_at);

CREATE TABLE fills (
    id             BIGSERIAL PRIMARY KEY,
    order_id       UUID NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    venue_trade_id TEXT NOT NULL,
    quantity       NUMERIC NOT NULL,
    price          NUMERIC NOT NULL,
    fee            NUMERIC NOT NULL,
    fee_asset      TEXT,
    filled_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT fills_trade_key UNIQUE (order_id, venue_trade_id)
);

CREATE TABLE gate_decisions (
    id         BIGSERIAL PRIMARY KEY,
    exchange   TEXT NOT NULL,
    symbol     TEXT NOT NULL,
    action     TEXT NOT NULL,
    allowed    BOOLEAN NOT NULL,
    regime     TEXT,
    decision   JSONB NOT NULL,
    decided_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX gate_decisions_time ON gate_decisions (decided_at);
CREATE INDEX gate_decisions_market ON gate_decisions (exchange, symbol, decided_at);

CREATE TABLE jobs (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    unique_key       TEXT CONSTRAINT jobs_unique_key UNIQUE,
    priority         SMALLINT NOT NULL DEFAULT 0,
    state            TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    run_at           TIMESTAMPTZ NOT NULL,
    locked_by        TEXT,
    lease_expires_at TIMESTAMPTZ,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ
);
-- Claiming scans only what can be claimed, in claim order.
CREATE INDEX jobs_due ON jobs (priority DESC, run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('done', 'dead');
-- A queue table churns: every claim and completion leaves a dead tuple and a stale entry
-- at the head of jobs_due. Vacuum it far more often than the default 20 % of the table.
ALTER TABLE jobs SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0
);

-- Append-only: updates and deletes are refused by the database itself.
CREATE TABLE audit_log (
    id      BIGSERIAL PRIMARY KEY,
    actor   UUID,
    action  TEXT NOT NULL,
    subject TEXT,
    details JSON NOT NULL DEFAULT '{}',
    at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE email_log (
    id          BIGSERIAL PRIMARY KEY,
    user_id     UUID REFERENCES users (id) ON DELETE SET NULL,
    to_address  TEXT NOT NULL,
    template    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    provider_id TEXT,
    error       TEXT,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX email_log_time ON email_log (created_at);

CREATE TABLE alert_preferences (
    user_id        UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email_on_fill  BOOLEAN NOT NULL DEFAULT true,
    email_on_error BOOLEAN NOT NULL DEFAULT true,
    webhook_url    TEXT,
    min_notional   NUMERIC,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE llm_usage (
    id                BIGSERIAL PRIMARY KEY,
    user_id           UUID REFERENCES users (id) ON DELETE SET NULL,
    provider          TEXT NOT NULL,
    model             TEXT NOT NULL,
    purpose           TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost              NUMERIC NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX llm_usage_time ON llm_usage (created_at);

-- Rebuildable, high-volume data: UNLOGGED skips the write-ahead log (faster, not
-- replicated, emptied after a crash, which is fine for a cache and rate counters).
CREATE UNLOGGED TABLE market_data_cache (
    exchange   TEXT NOT NULL,
    symbol     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    payload    JSONB NOT NULL,
    fetched_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (exchange, symbol, kind)
);
CREATE UNLOGGED TABLE rate_limit_counters (
    key          TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);
