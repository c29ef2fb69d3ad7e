-- Paper accounts written optimistically: each row carries a version that every write
-- raises by one. A ledger write reads its accounts, lets the venue apply its batch, and
-- writes back in one statement that changes a row only if it is still at the version
-- read; if any is not (another instance wrote it meanwhile), or an order it adds exists
-- already, the statement fails whole and the writer reads again. Until 0022 a write took
-- advisory locks in a transaction of five round trips (begin, lock, read, write,
-- commit), one write at a time per process: at 100,000 bots those round trips were a
-- third of every write. Accounts that exist now start at version 1.
ALTER TABLE paper_accounts ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- Raised by a ledger write whose rows changed since they were read: the statement is
-- undone and its writer reads again.
CREATE FUNCTION paper_write_conflict() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a Paper account changed since it was read, or an order added exists'
        USING ERRCODE = 'serialization_failure';
END $$;

-- An instance of the previous release writes an account under its advisory locks without
-- raising the version, so this release's writers could not see that change and might
-- write over it. Such a write is refused instead (its Paper orders fail and are retried
-- by upgraded instances), as 0021 refused writes to paper_balances.
CREATE FUNCTION paper_accounts_unversioned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'paper_accounts rows are versioned since migration 0022: a write must raise the version; upgrade this instance'
        USING ERRCODE = 'object_not_in_prerequisite_state';
END $$;
CREATE TRIGGER paper_accounts_versioned BEFORE UPDATE ON paper_accounts
    FOR EACH ROW WHEN (NEW.version = OLD.version)
    EXECUTE FUNCTION paper_accounts_unversioned();
