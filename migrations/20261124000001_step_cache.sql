-- Step cache and resume: what a step's inputs hashed to, and the tables it produced.
ALTER TABLE step_runs ADD COLUMN cache_key TEXT;
ALTER TABLE step_runs ADD COLUMN outputs TEXT;   -- JSON: [{name, uri, sha256, roles}]
CREATE INDEX step_runs_by_cache_key ON step_runs (cache_key, status);
