-- PostgreSQL twin of ../0004_workflows.sql.
CREATE TABLE workflows (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    version    BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    mtime_ns   BIGINT NOT NULL,
    size       BIGINT NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, id)
);
