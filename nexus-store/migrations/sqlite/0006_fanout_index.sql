-- The fan-out pages through one market's active bots in id order: with the id in the
-- index, each page is a seek after the last id, with no sort of the whole market.
DROP INDEX bots_market;
CREATE INDEX bots_market ON bots (exchange, symbol, strategy, id) WHERE paused = 0;
