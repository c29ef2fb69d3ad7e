-- Billing (Stripe): a customer per user, the subscription's full state with the plan last
-- enforced (`effective_plan`: the fan-out reads it), and every Stripe event once.

ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_status_check;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_check
    CHECK (status IN ('trialing', 'active', 'past_due', 'canceled', 'unpaid', 'incomplete',
                      'incomplete_expired', 'paused'));
ALTER TABLE subscriptions DROP COLUMN stripe_customer_id;
ALTER TABLE subscriptions ADD COLUMN effective_plan TEXT;
UPDATE subscriptions
    SET effective_plan = CASE WHEN status IN ('active', 'trialing') THEN plan_id ELSE 'free' END;
ALTER TABLE subscriptions ALTER COLUMN effective_plan SET NOT NULL;
ALTER TABLE subscriptions ADD COLUMN stripe_price_id TEXT;
ALTER TABLE subscriptions ADD COLUMN trial_end TIMESTAMPTZ;
ALTER TABLE subscriptions ADD COLUMN cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE subscriptions ADD COLUMN first_failed_at TIMESTAMPTZ;
ALTER TABLE subscriptions ADD COLUMN grace_until TIMESTAMPTZ;
-- `created` of the newest Stripe event applied: older events never overwrite it.
ALTER TABLE subscriptions ADD COLUMN event_created TIMESTAMPTZ;

CREATE TABLE billing_customers (
    user_id            UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    stripe_customer_id TEXT NOT NULL UNIQUE,
    trial_used_at      TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL
);

-- No foreign key to users: the record of what Stripe sent outlives a deleted user.
CREATE TABLE billing_events (
    id              TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    created         TIMESTAMPTZ NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('applied', 'ignored', 'stale', 'failed')),
    user_id         UUID,
    subscription_id TEXT,
    detail          TEXT
);
CREATE INDEX billing_events_received ON billing_events (received_at DESC, id DESC);
