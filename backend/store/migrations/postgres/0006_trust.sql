-- PostgreSQL twin of ../0006_trust.sql. trusted is a BOOLEAN here (an
-- INTEGER 0/1 in SQLite); both read and write as a Go bool.
ALTER TABLE projects ADD COLUMN trusted BOOLEAN NOT NULL DEFAULT false;

CREATE TABLE mcp_approvals (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file        TEXT NOT NULL,
    server      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    approved_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, file, server)
);
