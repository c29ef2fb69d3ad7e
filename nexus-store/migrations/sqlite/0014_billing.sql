-- Billing (Stripe): a customer per user, the subscription's full state with the plan last
-- enforced (`effective_plan`: the fan-out reads it), and every Stripe event once.

-- SQLite cannot widen a CHECK in place: the table is rebuilt with Stripe's eight statuses.
CREATE TABLE subscriptions_billing (
    user_id                TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    plan_id                TEXT NOT NULL REFERENCES plans (id),
    status                 TEXT NOT NULL CHECK (status IN ('trialing', 'active', 'past_due',
                               'canceled', 'unpaid', 'incomplete', 'incomplete_expired', 'paused')),
    effective_plan         TEXT NOT NULL,
    stripe_subscription_id TEXT CONSTRAINT subscriptions_stripe_key UNIQUE,
    stripe_price_id        TEXT,
    trial_end              INTEGER,
    current_period_end     INTEGER,
    cancel_at_period_end   INTEGER NOT NULL DEFAULT 0,
    first_failed_at        INTEGER,
    grace_until            INTEGER,
    -- `created` of the newest Stripe event applied (ms): older events never overwrite it.
    event_created          INTEGER,
    updated_at             INTEGER NOT NULL
);
INSERT INTO subscriptions_billing (user_id, plan_id, status, effective_plan,
        stripe_subscription_id, current_period_end, updated_at)
    SELECT user_id, plan_id, status,
           CASE WHEN status IN ('active', 'trialing') THEN plan_id ELSE 'free' END,
           stripe_subscription_id, current_period_end, updated_at
    FROM subscriptions;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_billing RENAME TO subscriptions;

CREATE TABLE billing_customers (
    user_id            TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    stripe_customer_id TEXT NOT NULL UNIQUE,
    trial_used_at      INTEGER,
    created_at         INTEGER NOT NULL
);

-- No foreign key to users: the record of what Stripe sent outlives a deleted user.
CREATE TABLE billing_events (
    id              TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    created         INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('applied', 'ignored', 'stale', 'failed')),
    user_id         TEXT,
    subscription_id TEXT,
    detail          TEXT
);
CREATE INDEX billing_events_received ON billing_events (received_at DESC, id DESC);
