-- PostgreSQL twin of ../0002_events.sql. seq is allocated by
-- UPDATE projects SET last_seq = last_seq + n ... RETURNING in the writing
-- transaction, so the project row lock orders the writers of one log.
CREATE TABLE events (
    project_id  TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    type        TEXT NOT NULL,
    run_id      TEXT NOT NULL DEFAULT '',
    workflow_id TEXT NOT NULL DEFAULT '',
    ts          BIGINT NOT NULL,
    payload     BYTEA NOT NULL,
    PRIMARY KEY (project_id, seq)
);
CREATE INDEX events_run ON events(run_id, seq) WHERE run_id <> '';
CREATE INDEX events_workflow ON events(workflow_id, seq) WHERE workflow_id <> '';
