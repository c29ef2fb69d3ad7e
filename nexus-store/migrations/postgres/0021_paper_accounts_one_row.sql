-- A Paper account in one row: its balances as a JSON object of asset to decimal text
-- beside its funding, instead of a row per asset in `paper_balances`. Every Paper order
-- read its account twice (the fan-out sizing it, the ledger under its lock), each time
-- probing `paper_accounts` and then `paper_balances`, and wrote two balance rows: at
-- 100,000 bots these reads were the database's largest statement. The venue never makes
-- a balance negative (it refuses an order the account cannot pay for), which the old
-- table's CHECK also said.
ALTER TABLE paper_accounts ADD COLUMN balances TEXT NOT NULL DEFAULT '{}';
-- Balances whose account has no row (none are written so since 0010; kept anyway).
INSERT INTO paper_accounts (account, funded)
SELECT DISTINCT account, false FROM paper_balances
ON CONFLICT (account) DO NOTHING;
UPDATE paper_accounts a
SET balances = b.balances
FROM (SELECT account, jsonb_object_agg(asset, amount::text)::text AS balances
      FROM paper_balances GROUP BY account) b
WHERE b.account = a.account;
-- `paper_balances` stays until a later release drops it (migrations only expand), but
-- nothing may write it any more: an instance of the previous release still running
-- during a rolling upgrade would move balances that this release no longer reads. Its
-- Paper orders fail with this message instead (and are retried by upgraded instances).
CREATE FUNCTION paper_balances_retired() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'paper_balances is retired by migration 0021: Paper balances are kept in paper_accounts.balances; upgrade this instance'
        USING ERRCODE = 'object_not_in_prerequisite_state';
END $$;
CREATE TRIGGER paper_balances_retired BEFORE INSERT OR UPDATE OR DELETE ON paper_balances
    FOR EACH STATEMENT EXECUTE FUNCTION paper_balances_retired();
