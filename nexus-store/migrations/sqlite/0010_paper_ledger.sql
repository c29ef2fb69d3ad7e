-- Paper accounts in the store, so they survive restarts and every instance shares them.
CREATE TABLE paper_accounts (
    account    TEXT PRIMARY KEY,
    funded     INTEGER NOT NULL DEFAULT 0
);
-- Balances as decimal text, per account and asset.
CREATE TABLE paper_balances (
    account TEXT NOT NULL REFERENCES paper_accounts (account) ON DELETE CASCADE,
    asset   TEXT NOT NULL,
    amount  TEXT NOT NULL,
    PRIMARY KEY (account, asset)
) WITHOUT ROWID;
-- Orders by client order id, each with the venue's report (its fill, price and fee).
CREATE TABLE paper_orders (
    account         TEXT NOT NULL REFERENCES paper_accounts (account) ON DELETE CASCADE,
    client_order_id TEXT NOT NULL,
    report          TEXT NOT NULL,
    PRIMARY KEY (account, client_order_id)
) WITHOUT ROWID;

-- Positions found out of sync with their venue account at an exit: what the bot believed
-- it held, what the account held, and what was sold. Shown to admins.
CREATE TABLE out_of_sync (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    bot_id    TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    signal_id TEXT NOT NULL,
    exchange  TEXT NOT NULL,
    symbol    TEXT NOT NULL,
    expected  TEXT NOT NULL,
    available TEXT NOT NULL,
    sold      TEXT NOT NULL,
    at        INTEGER NOT NULL,
    UNIQUE (bot_id, signal_id)
);
