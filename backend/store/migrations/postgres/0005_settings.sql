-- PostgreSQL twin of ../0005_settings.sql.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
