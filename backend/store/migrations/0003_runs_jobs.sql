-- Runs of workflows. workflow holds the graph snapshot taken at start, so
-- editing the workflow file later never changes a run in flight.
CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    workflow_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    inputs      BLOB NOT NULL,
    workflow    BLOB NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    job_id      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX runs_project ON runs(project_id, created_at DESC, id DESC);
CREATE INDEX runs_workflow ON runs(project_id, workflow_id, created_at DESC, id DESC);
CREATE INDEX runs_active ON runs(project_id, created_at) WHERE status IN ('queued', 'running');

-- The checkpoint of every node of a run. output is the full JSON output
-- (downstream nodes read it after a restart); previews are cut when read.
CREATE TABLE node_runs (
    run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    node_id     TEXT NOT NULL,
    idx         INTEGER NOT NULL,
    status      TEXT NOT NULL,
    attempt     INTEGER NOT NULL DEFAULT 0,
    started_at  INTEGER,
    finished_at INTEGER,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    output      BLOB,
    error       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, node_id)
) STRICT, WITHOUT ROWID;

-- The durable job queue (package queue). state is one of available,
-- running, retryable, completed, dead, canceled. attempt counts claims and
-- is the fencing token: a worker may only finish the job while its
-- (id, attempt) is still the running claim. errors counts failed attempts
-- and is compared with max_attempts.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY,
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    ref              TEXT NOT NULL DEFAULT '',
    payload          BLOB,
    state            TEXT NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    run_at           INTEGER NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 0,
    errors           INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    owner            TEXT NOT NULL DEFAULT '',
    lease_until      INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER
) STRICT;
-- Claim order inside a project; the claim walks projects with a skip-scan
-- over this index so saturated projects cost nothing.
CREATE INDEX jobs_available ON jobs(project_id, priority DESC, run_at, id) WHERE state = 'available';
CREATE INDEX jobs_running ON jobs(project_id, owner) WHERE state = 'running';
CREATE INDEX jobs_retryable ON jobs(run_at) WHERE state = 'retryable';
CREATE INDEX jobs_dead ON jobs(id) WHERE state = 'dead';
