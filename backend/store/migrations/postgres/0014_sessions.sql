-- PostgreSQL twin of ../0014_sessions.sql: browser sessions, revocable.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    revoked_at   BIGINT
);
