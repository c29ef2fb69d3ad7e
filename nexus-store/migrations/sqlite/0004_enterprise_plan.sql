-- The enterprise plan (no limits; the server's configuration holds every plan's limits).
INSERT INTO plans (id, name, max_bots, max_order_notional, price_cents)
VALUES ('enterprise', 'Enterprise', 1000000, NULL, 0);
