-- Paper accounts in the store, so they survive restarts and every instance shares them.
CREATE TABLE paper_accounts (
    account    TEXT PRIMARY KEY,
    funded     BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE paper_balances (
    account TEXT NOT NULL REFERENCES paper_accounts (account) ON DELETE CASCADE,
    asset   TEXT NOT NULL,
    amount  NUMERIC NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (account, asset)
);
-- Orders by client order id, each with the venue's report (its fill, price and fee).
CREATE TABLE paper_orders (
    account         TEXT NOT NULL REFERENCES paper_accounts (account) ON DELETE CASCADE,
    client_order_id TEXT NOT NULL,
    report          JSONB NOT NULL,
    PRIMARY KEY (account, client_order_id)
);

-- Positions found out of sync with their venue account at an exit: what the bot believed
-- it held, what the account held, and what was sold. Shown to admins.
CREATE TABLE out_of_sync (
    id        BIGSERIAL PRIMARY KEY,
    bot_id    UUID NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    user_id   UUID NOT NULL,
    signal_id UUID NOT NULL,
    exchange  TEXT NOT NULL,
    symbol    TEXT NOT NULL,
    expected  NUMERIC NOT NULL,
    available NUMERIC NOT NULL,
    sold      NUMERIC NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    UNIQUE (bot_id, signal_id)
);
