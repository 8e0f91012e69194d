-- A crash is not a failure. crashes counts the attempts of a job that ended
-- because their worker process died or lost its lease (the rescuer took
-- them back); they do not count towards max_attempts, only towards a
-- separate, generous limit, so a job that kills its server every time
-- still ends dead instead of looping.
ALTER TABLE jobs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;

-- Why a node's current attempt runs ("server restarted" when an earlier
-- attempt was interrupted by a crash); empty for a first attempt.
ALTER TABLE node_runs ADD COLUMN reason TEXT NOT NULL DEFAULT '';

-- The OS process groups that nodes (kind 'node') and stdio tool servers
-- (kind 'mcp') started and that may still run: one row from the start of
-- the group until it is gone. After a crash the rows of the dead owner are
-- what the restarted server kills before the node runs again. pgid alone
-- could name a recycled process: start_ticks (the leader's start time in
-- clock ticks since boot) and boot_id tell them apart.
CREATE TABLE processes (
    id          INTEGER PRIMARY KEY,
    owner       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    project_id  TEXT NOT NULL DEFAULT '',
    run_id      TEXT NOT NULL DEFAULT '',
    node_id     TEXT NOT NULL DEFAULT '',
    pgid        INTEGER NOT NULL,
    start_ticks INTEGER NOT NULL DEFAULT 0,
    boot_id     TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX processes_owner ON processes(owner);
CREATE INDEX processes_node ON processes(run_id, node_id);
