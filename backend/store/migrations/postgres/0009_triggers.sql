-- PostgreSQL twin of ../0009_triggers.sql.
ALTER TABLE runs ADD COLUMN trigger_info BYTEA;

CREATE TABLE trigger_schedules (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    workflow_id TEXT NOT NULL,
    trigger_id  TEXT NOT NULL,
    spec        TEXT NOT NULL,
    next_at     BIGINT NOT NULL,
    fired_at    BIGINT,
    PRIMARY KEY (project_id, workflow_id, trigger_id)
);

CREATE TABLE webhook_keys (
    key         TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    workflow_id TEXT NOT NULL,
    trigger_id  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (project_id, workflow_id, trigger_id)
);
