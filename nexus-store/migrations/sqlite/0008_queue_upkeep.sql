-- Dead letters are few among many finished jobs: counted from an index of their own
-- (counting them read every retained job at each /metrics scrape).
CREATE INDEX jobs_dead ON jobs (kind) WHERE state = 'dead';
