-- Sessions keep when their sign-in started across refreshes, so a refresh can never carry
-- a session past its absolute lifetime; one-time tokens may also confirm linking a
-- provider identity to an existing account.
ALTER TABLE sessions ADD COLUMN started_at TIMESTAMPTZ;
UPDATE sessions SET started_at = created_at;
ALTER TABLE sessions ALTER COLUMN started_at SET NOT NULL;

ALTER TABLE auth_tokens DROP CONSTRAINT IF EXISTS auth_tokens_purpose_check;
ALTER TABLE auth_tokens ADD CONSTRAINT auth_tokens_purpose_check
    CHECK (purpose IN ('verify_email', 'reset_password', 'link_identity'));
-- Using one token kills the user's other live tokens of its kind.
CREATE INDEX auth_tokens_user ON auth_tokens (user_id, purpose) WHERE used_at IS NULL;
