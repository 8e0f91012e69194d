-- Projects are folders opened in Flow Weaver. last_seq is the per-project
-- event sequence: the event log increments it in the same transaction that
-- writes an event, so seq is strictly increasing per project.
CREATE TABLE projects (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    path       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX projects_path ON projects(path);
