-- Browser sessions (a one-time login code redeemed in a browser): listed in
-- the settings, revocable one by one. Revoked rows stay (revoked_at set)
-- so every server process refuses their tokens and cookies until those
-- expire on their own; rows older than the longest session are pruned.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT;
