-- The scheduler (`pmflow schedule`). A scheduled run records the fire it belongs to, so missed
-- fires are computed from the registry, not from a daemon's memory.
ALTER TABLE runs ADD COLUMN fire_at TEXT;                 -- UTC RFC 3339, for trigger 'schedule'
CREATE INDEX runs_by_fire ON runs (pipeline, fire_at);

-- At most one process runs a pipeline for a fire: whoever holds its lease. A lease whose holder
-- stopped renewing it (a dead process) expires and may be taken over.
CREATE TABLE schedule_leases (
    pipeline     TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,                       -- host:pid
    fire_at      TEXT,                                -- the fire being run (NULL: a manual run)
    taken_at     TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
