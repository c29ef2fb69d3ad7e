-- The scheduler lists the markets bots follow every two seconds (`SELECT DISTINCT … WHERE
-- paused = 0`): from this index, in its order, without reading the bots' rows or sorting.
-- (PostgreSQL's migration also drops the order's second key to its owner; on SQLite a
-- key check is an index probe that writes nothing, and dropping one rebuilds the table.)
CREATE INDEX bots_strategy_markets ON bots (exchange, symbol, interval, strategy,
    strategy_config) WHERE paused = 0;
