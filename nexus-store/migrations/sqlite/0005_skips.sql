-- Plans the fan-out skipped, per bot, with the reason: shown to the bot's owner.
CREATE TABLE skips (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    bot_id    TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    signal_id TEXT NOT NULL,
    reason    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX skips_bot ON skips (bot_id, id);
CREATE INDEX fills_order ON fills (order_id, id);
CREATE INDEX positions_bot ON positions (bot_id, opened_at);
