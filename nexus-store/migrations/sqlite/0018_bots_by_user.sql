-- A user's bots are listed a page at a time (`WHERE user_id = ? AND id > ? ORDER BY id`):
-- with only (user_id) the planner may walk the primary key in id order and filter on the
-- owner, reading most of the table for one user's two bots (seen at 100,000 bots: 11 ms a
-- listing). With the id in the index the page is one range of it.
CREATE INDEX bots_user_id ON bots (user_id, id);
DROP INDEX bots_user;
