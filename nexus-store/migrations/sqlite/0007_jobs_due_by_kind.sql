-- Each worker claims one kind of job: with the kind first, a claim of trade jobs no
-- longer steps over thousands of queued alerts (or the reverse) to find its own.
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs (kind, priority DESC, run_at, id) WHERE state = 'queued';
