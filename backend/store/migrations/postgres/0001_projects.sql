-- PostgreSQL twin of ../0001_projects.sql (see there for the why).
-- Times are Unix milliseconds (BIGINT) on both dialects, so the
-- repositories read and write them the same way.
CREATE TABLE projects (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    path       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seq   BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX projects_path ON projects(path);
