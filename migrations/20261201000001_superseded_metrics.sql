-- A step that runs again in the same run (a retry, or `--resume` after a kill) starts a new
-- attempt. The earlier attempt's metric points move here, labelled with their attempt, so a
-- metric series shows each step index once, from the attempt that produced the step's outputs.
CREATE TABLE superseded_metrics (
    run_id   TEXT NOT NULL REFERENCES runs(id),
    step_id  TEXT NOT NULL,
    attempt  INTEGER NOT NULL,
    key      TEXT NOT NULL,
    value    REAL NOT NULL,
    step     INTEGER NOT NULL,
    time_ms  INTEGER NOT NULL
);
CREATE INDEX superseded_metrics_by_run ON superseded_metrics (run_id, step_id);

-- `pmflow gc` removes artifact files but keeps their records, stamped with when they went.
ALTER TABLE artifacts ADD COLUMN removed_at TEXT;
