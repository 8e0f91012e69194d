-- Small key/value settings of the local user, such as the open tabs.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
