-- The scheduler lists the markets bots follow every two seconds (`SELECT DISTINCT … WHERE
-- NOT paused`): over the whole table that read every bot (86 ms at 100,000 bots). From this
-- index it walks one entry per market (a loose index scan: 0.1 ms).
CREATE INDEX bots_strategy_markets ON bots (exchange, symbol, interval, strategy,
    (strategy_config::text)) WHERE NOT paused;

-- An order's owner is its bot's owner: the bot's key already ties the order to a user who
-- exists (deleting a user deletes their bots, and the bots their orders). This second key
-- made each order insert lock its owner's row as well (`FOR KEY SHARE`, a write of that
-- row), and batches holding orders of one user at once share that lock as a multixact.
ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey;
