-- A Paper account in one row: its balances as a JSON object of asset to decimal text
-- beside its funding, instead of a row per asset in `paper_balances` (as on PostgreSQL:
-- every Paper order read its account twice and wrote two balance rows).
ALTER TABLE paper_accounts ADD COLUMN balances TEXT NOT NULL DEFAULT '{}';
INSERT INTO paper_accounts (account, funded)
SELECT DISTINCT account, 0 FROM paper_balances WHERE true
ON CONFLICT (account) DO NOTHING;
UPDATE paper_accounts
SET balances = (SELECT json_group_object(asset, amount) FROM paper_balances b
                WHERE b.account = paper_accounts.account)
WHERE account IN (SELECT account FROM paper_balances);
-- `paper_balances` stays until a later release drops it (migrations only expand), but
-- nothing may write it any more: a previous release started on this file again would
-- move balances that this release no longer reads.
CREATE TRIGGER paper_balances_retired_insert BEFORE INSERT ON paper_balances
BEGIN
    SELECT RAISE(ABORT, 'paper_balances is retired by migration 0021: Paper balances are kept in paper_accounts.balances');
END;
CREATE TRIGGER paper_balances_retired_update BEFORE UPDATE ON paper_balances
BEGIN
    SELECT RAISE(ABORT, 'paper_balances is retired by migration 0021: Paper balances are kept in paper_accounts.balances');
END;
