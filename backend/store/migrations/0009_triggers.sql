-- What started each run (the run JSON's "trigger"), as JSON. NULL for runs
-- from before triggers existed: they were all started by hand.
ALTER TABLE runs ADD COLUMN trigger_info BLOB;

-- The durable next slot of every active schedule trigger. spec is the cron
-- expression and time zone the slot was computed from (a changed schedule
-- starts over from now). A slot is claimed by moving next_at forward with
-- a compare-and-set in the transaction that inserts its run, so it fires at
-- most once, across crashes, restarts and several processes.
CREATE TABLE trigger_schedules (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    workflow_id TEXT NOT NULL,
    trigger_id  TEXT NOT NULL,
    spec        TEXT NOT NULL,
    next_at     INTEGER NOT NULL,
    fired_at    INTEGER,
    PRIMARY KEY (project_id, workflow_id, trigger_id)
) STRICT, WITHOUT ROWID;

-- The secret key of every webhook trigger (POST /hooks/<key>). It lives in
-- the data dir's database, never in the project folder, so committing or
-- sharing a project never leaks it.
CREATE TABLE webhook_keys (
    key         TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    workflow_id TEXT NOT NULL,
    trigger_id  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (project_id, workflow_id, trigger_id)
) STRICT;
