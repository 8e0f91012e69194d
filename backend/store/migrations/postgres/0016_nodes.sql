-- PostgreSQL twin of ../0016_nodes.sql: the nodes sharing this database.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL DEFAULT '',
    pid          BIGINT NOT NULL DEFAULT 0,
    addr         TEXT NOT NULL DEFAULT '',
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    paths        TEXT NOT NULL DEFAULT '',
    info         TEXT NOT NULL DEFAULT '{}'
);
