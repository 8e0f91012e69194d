-- Trust (workspace trust): a project runs nothing its folder brings until
-- the user trusts it. Existing projects start untrusted: they were opened
-- before anybody was asked.
ALTER TABLE projects ADD COLUMN trusted INTEGER NOT NULL DEFAULT 0;

-- The MCP server entries the user approved, by config file and server name,
-- with the fingerprint of the entry as it was approved. An entry whose
-- current fingerprint differs (edited, for example by a git pull) waits for
-- a new approval. Revoking trust deletes the project's rows.
CREATE TABLE mcp_approvals (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file        TEXT NOT NULL,
    server      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    approved_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, file, server)
) STRICT, WITHOUT ROWID;
