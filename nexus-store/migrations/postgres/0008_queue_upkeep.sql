-- Dead letters are few among many finished jobs: counted from an index of their own
-- (counting them through `jobs_finished` read every retained job at each /metrics scrape).
CREATE INDEX jobs_dead ON jobs (kind) WHERE state = 'dead';

-- An order row is written when its job starts and updated once the venue answers; room
-- left on each page lets that update stay on the page (a HOT update) instead of adding an
-- entry to each of the table's three indexes.
ALTER TABLE orders SET (fillfactor = 80);
