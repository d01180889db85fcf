-- The model registry (the `register` step, `pmflow models`, `pmflow compare`). The version-1
-- tables existed unfilled; they are extended in place, so a registry from before keeps its rows.

-- What a version points at (its files are not copied) and what it was made from.
ALTER TABLE model_versions ADD COLUMN model_sha256 TEXT;      -- of model.safetensors (`uri`)
ALTER TABLE model_versions ADD COLUMN card_uri TEXT;          -- model_card.json
ALTER TABLE model_versions ADD COLUMN card_sha256 TEXT;
ALTER TABLE model_versions ADD COLUMN data_uri TEXT;          -- the training table
ALTER TABLE model_versions ADD COLUMN data_sha256 TEXT;
ALTER TABLE model_versions ADD COLUMN metrics TEXT NOT NULL DEFAULT '{}';  -- JSON: the run's final metrics
ALTER TABLE model_versions ADD COLUMN params TEXT NOT NULL DEFAULT '{}';   -- JSON: the run's params
ALTER TABLE model_versions ADD COLUMN git_commit TEXT;
ALTER TABLE model_versions ADD COLUMN pmflow_version TEXT;
CREATE INDEX model_versions_by_run ON model_versions (run_id);

ALTER TABLE model_aliases ADD COLUMN set_by TEXT;             -- user@host

-- Every decision about an alias: a promotion, a rollback, and a gate that refused to promote.
-- Rows are never changed.
CREATE TABLE model_alias_history (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    alias      TEXT NOT NULL,
    version    INTEGER NOT NULL,                 -- the version promoted, or the one refused
    previous   INTEGER,                          -- the holder before (NULL: nobody held it)
    action     TEXT NOT NULL CHECK (action IN ('promoted', 'refused', 'rolled-back')),
    at         TEXT NOT NULL,
    who        TEXT NOT NULL,                    -- user@host
    reason     TEXT,
    gate       TEXT,                             -- JSON: each condition with its figures
    FOREIGN KEY (name, version) REFERENCES model_versions(name, version)
);
CREATE INDEX model_alias_history_by_alias ON model_alias_history (name, alias, id);
CREATE TRIGGER model_alias_history_append_only BEFORE UPDATE ON model_alias_history
BEGIN
    SELECT RAISE(ABORT, 'alias history is append-only');
END;
