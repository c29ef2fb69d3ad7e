-- Each foreign-key check of an insert probes the referenced row and locks it (`FOR KEY
-- SHARE`), which writes the row and the log: for every order its bot, for every fill its
-- order, for every position its bot, for every Paper order and new balance its account.
-- At 100,000 bots that was a tenth of the database's time, and it dirtied every bot's
-- page once per signal.
--
-- Orders, fills and positions: their writers hold the bot by a shared advisory lock and
-- write only the rows of bots that exist; deleting a bot takes that lock exclusively and
-- deletes them itself (nexus-store `postgres::bots::hold_bots`).
ALTER TABLE orders DROP CONSTRAINT orders_bot_id_fkey;
ALTER TABLE positions DROP CONSTRAINT positions_bot_id_fkey;
ALTER TABLE fills DROP CONSTRAINT fills_order_id_fkey;
-- Paper orders and balances: the ledger writes an account's row in the transaction that
-- gives it its first holding, and accounts are never deleted.
ALTER TABLE paper_orders DROP CONSTRAINT paper_orders_account_fkey;
ALTER TABLE paper_balances DROP CONSTRAINT paper_balances_account_fkey;

-- A batch job's payload (250 plans of JSON) was compressed with pglz, 5 % of the
-- database's time; lz4 is several times faster. Servers built without lz4 keep pglz.
DO $$
BEGIN
    ALTER TABLE jobs ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available: job payloads stay compressed with pglz';
END $$;
