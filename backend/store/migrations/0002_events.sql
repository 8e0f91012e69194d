-- The durable event log. Routing columns (run_id, workflow_id) let a channel's
-- history be read with an index instead of parsing payloads.
CREATE TABLE events (
    project_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    run_id      TEXT NOT NULL DEFAULT '',
    workflow_id TEXT NOT NULL DEFAULT '',
    ts          INTEGER NOT NULL,
    payload     BLOB NOT NULL,
    PRIMARY KEY (project_id, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX events_run ON events(run_id, seq) WHERE run_id <> '';
CREATE INDEX events_workflow ON events(workflow_id, seq) WHERE workflow_id <> '';
