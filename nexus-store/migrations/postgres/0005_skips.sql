-- Plans the fan-out skipped, per bot, with the reason: shown to the bot's owner.
CREATE TABLE skips (
    id        BIGSERIAL PRIMARY KEY,
    bot_id    UUID NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    signal_id UUID NOT NULL,
    reason    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX skips_bot ON skips (bot_id, id);
CREATE INDEX fills_order ON fills (order_id, id);
CREATE INDEX positions_bot ON positions (bot_id, opened_at);
