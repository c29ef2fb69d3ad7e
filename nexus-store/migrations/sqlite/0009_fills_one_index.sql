-- A fill is found by its order through the fills_trade_key index (order_id first):
-- fills_order (order_id, id) was a second random-order index written with every fill,
-- the engine's busiest insert after orders.
DROP INDEX fills_order;
