-- pmflow registry schema, version 1.
-- Times are UTC RFC 3339 text with milliseconds (sortable as text); metric times are epoch ms.

CREATE TABLE experiments (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE runs (
    id             TEXT PRIMARY KEY,              -- uuid v7, hex
    experiment_id  INTEGER NOT NULL REFERENCES experiments(id),
    pipeline       TEXT NOT NULL,                 -- pipeline name
    pipeline_file  TEXT NOT NULL,
    pipeline_text  TEXT NOT NULL,                 -- resolved pipeline (JSON)
    pipeline_hash  TEXT NOT NULL,                 -- sha256 of pipeline_text
    git_commit     TEXT,
    status         TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'interrupted')),
    trigger        TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule')),
    started_at     TEXT NOT NULL,
    ended_at       TEXT,
    error          TEXT,
    pmflow_version TEXT NOT NULL,
    host           TEXT NOT NULL,
    pid            INTEGER NOT NULL,
    heartbeat_at   TEXT NOT NULL
);
CREATE INDEX runs_by_experiment ON runs (experiment_id, started_at);

CREATE TABLE step_runs (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    step_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    position    INTEGER NOT NULL,                 -- execution order
    status      TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'skipped', 'interrupted')),
    cached      INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    started_at  TEXT,
    ended_at    TEXT,
    duration_ms INTEGER,
    error       TEXT,
    PRIMARY KEY (run_id, step_id)
);

-- Parameters are immutable once written: the trigger refuses updates.
CREATE TABLE params (
    run_id  TEXT NOT NULL REFERENCES runs(id),
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,                        -- JSON
    PRIMARY KEY (run_id, key)
);
CREATE TRIGGER params_immutable BEFORE UPDATE ON params
BEGIN
    SELECT RAISE(ABORT, 'params are immutable once written');
END;

-- Metrics are append-only: (key, value, step index, time).
CREATE TABLE metrics (
    id         INTEGER PRIMARY KEY,
    run_id     TEXT NOT NULL REFERENCES runs(id),
    step_id    TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      REAL NOT NULL,
    step       INTEGER NOT NULL DEFAULT 0,
    time_ms    INTEGER NOT NULL
);
CREATE INDEX metrics_by_run ON metrics (run_id, key, step);
CREATE TRIGGER metrics_append_only BEFORE UPDATE ON metrics
BEGIN
    SELECT RAISE(ABORT, 'metrics are append-only');
END;

CREATE TABLE tags (
    run_id  TEXT NOT NULL REFERENCES runs(id),
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE artifacts (
    run_id     TEXT NOT NULL REFERENCES runs(id),
    step_id    TEXT NOT NULL,
    name       TEXT NOT NULL,
    uri        TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    bytes      INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id, name)
);

-- Filled by the `register` step (a later issue).
CREATE TABLE model_versions (
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    run_id      TEXT NOT NULL REFERENCES runs(id),
    uri         TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    description TEXT,
    PRIMARY KEY (name, version)
);

CREATE TABLE model_aliases (
    name     TEXT NOT NULL,
    alias    TEXT NOT NULL,
    version  INTEGER NOT NULL,
    set_at   TEXT NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES model_versions(name, version)
);
