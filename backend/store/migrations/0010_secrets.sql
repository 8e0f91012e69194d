-- Per-project secrets. Values are encrypted by the secrets package
-- (AES-256-GCM, key outside the database): the database only ever holds
-- nonce and ciphertext, never a value.
CREATE TABLE secrets (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    nonce      BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, name)
) STRICT;
