-- The Flow Weaver server processes (nodes) working one database. A node
-- heartbeats its row (heartbeat_at, the database's clock); the queue's
-- rescuer treats the jobs of a node whose heartbeat is stale as crashed.
-- id is the node's queue owner id, addr its HTTP address. paths is a JSON array of the project
-- folders the node can see ('' = every project: a single node, or a shared
-- file system); info is JSON the node reports about itself (connections,
-- workers). On SQLite (one process per data dir) the table stays empty.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL DEFAULT '',
    pid          INTEGER NOT NULL DEFAULT 0,
    addr         TEXT NOT NULL DEFAULT '',
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    paths        TEXT NOT NULL DEFAULT '',
    info         TEXT NOT NULL DEFAULT '{}'
) STRICT;
