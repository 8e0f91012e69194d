package store

import (
	"context"
	"fmt"
	"time"
)

// Session is one browser session (auth.Registry keeps them).
type Session struct {
	ID         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// RevokedAt is zero for a live session.
	RevokedAt time.Time
}

// maxUserAgent bounds what is kept of a User-Agent header.
const maxUserAgent = 512

// CreateSession records a new browser session; an existing id is left as
// it is (a retried login).
func (db *DB) CreateSession(ctx context.Context, s Session) error {
	ua := s.UserAgent
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	return db.Write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT INTO sessions(id, user_agent, created_at, last_seen_at) VALUES (?,?,?,?) ON CONFLICT(id) DO NOTHING",
			s.ID, ua, unixMilli(s.CreatedAt), unixMilli(s.CreatedAt))
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return nil
	})
}

// Sessions lists the live (not revoked) sessions, most recently seen first.
func (db *DB) Sessions(ctx context.Context) ([]Session, error) {
	rows, err := db.read.QueryContext(ctx,
		"SELECT id, user_agent, created_at, last_seen_at FROM sessions WHERE revoked_at IS NULL ORDER BY last_seen_at DESC, id")
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var s Session
		var created, seen int64
		if err := rows.Scan(&s.ID, &s.UserAgent, &created, &seen); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		s.CreatedAt, s.LastSeenAt = fromMilli(created), fromMilli(seen)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// RevokedSessionIDs lists the ids of revoked sessions.
func (db *DB) RevokedSessionIDs(ctx context.Context) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT id FROM sessions WHERE revoked_at IS NOT NULL")
	if err != nil {
		return nil, fmt.Errorf("list revoked sessions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list revoked sessions: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// RevokeSessions marks the given live sessions revoked at `at` and
// returns the ids it revoked (unknown and already revoked ids are left
// out).
func (db *DB) RevokeSessions(ctx context.Context, ids []string, at time.Time) ([]string, error) {
	var done []string
	err := db.Write(ctx, func(tx *Tx) error {
		done = done[:0]
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", unixMilli(at), id)
			if err != nil {
				return fmt.Errorf("revoke session: %w", err)
			}
			if n, err := res.RowsAffected(); err == nil && n > 0 {
				done = append(done, id)
			}
		}
		return nil
	})
	return done, err
}

// TouchSessions moves last_seen_at of live sessions forward (never back).
// Ids that are no browser session (CLI and desktop tokens) match nothing.
func (db *DB) TouchSessions(ctx context.Context, seen map[string]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	return db.Write(ctx, func(tx *Tx) error {
		for id, at := range seen {
			if _, err := tx.ExecContext(ctx,
				"UPDATE sessions SET last_seen_at = ? WHERE id = ? AND revoked_at IS NULL AND last_seen_at < ?",
				unixMilli(at), id, unixMilli(at)); err != nil {
				return fmt.Errorf("touch session: %w", err)
			}
		}
		return nil
	})
}

// PruneSessions deletes sessions not seen (and revoked ones not revoked)
// since before; their tokens and cookies have expired by then.
func (db *DB) PruneSessions(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.Write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx,
			"DELETE FROM sessions WHERE (revoked_at IS NULL AND last_seen_at < ?) OR (revoked_at IS NOT NULL AND revoked_at < ?)",
			unixMilli(before), unixMilli(before))
		if err != nil {
			return fmt.Errorf("prune sessions: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
