-- The workflow index. Workflows live as files in the project folder
-- (.flowweaver/workflows/<id>.json); this table keeps what the files cannot:
-- the version counter (+1 per change, never reused, also across a delete and
-- re-create) and the hash/mtime/size the file had when it was last seen, so
-- an edit by another program is recognised. A deleted workflow keeps its row
-- (deleted = 1) so its version keeps growing if it comes back.
CREATE TABLE workflows (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    version    INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    mtime_ns   INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
) STRICT, WITHOUT ROWID;
