// Package sessions keeps the browser sessions of the local user: created
// when a one-time login code is redeemed in a browser, listed in the
// settings (device, created, last seen), and revocable one by one or all
// but the current one. Revoking writes the session down as revoked (so
// every later start refuses it too), makes the auth Authority refuse its
// tokens and cookie at once, and closes its WebSockets.
package sessions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/flowweaver/flowweaver/backend/auth"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// Retention is how long a session row outlives its last use (or its
// revocation): longer than a session cookie lives, so a revoked cookie
// can never come back after its row is gone.
const Retention = auth.SessionTTL + 24*time.Hour

// Info is one session as GET /api/auth/sessions lists it.
type Info struct {
	ID         string    `json:"id"`
	Device     string    `json:"device"`
	UserAgent  string    `json:"userAgent"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
	// Current is true for the session of the caller.
	Current bool `json:"current"`
}

// Config configures a Registry.
type Config struct {
	Auth *auth.Authority // required
	DB   *store.DB       // required
	// CloseSessions closes the WebSockets of revoked sessions (the hub).
	CloseSessions func(ids []string) int
	Now           func() time.Time
	Logger        *slog.Logger
}

// Registry is the sessions service. It has no goroutine of its own: the
// daemon calls Sync from its housekeeping loop and once at Stop.
type Registry struct {
	cfg Config
}

// New builds a Registry and loads the revoked sessions into the Authority.
func New(ctx context.Context, cfg Config) (*Registry, error) {
	if cfg.Auth == nil || cfg.DB == nil {
		return nil, errors.New("sessions: Auth and DB are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Registry{cfg: cfg}
	if err := r.loadRevoked(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Registry) loadRevoked(ctx context.Context) error {
	ids, err := r.cfg.DB.RevokedSessionIDs(ctx)
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	r.cfg.Auth.MarkRevoked(ids...)
	return nil
}

// Started records a new browser session.
func (r *Registry) Started(ctx context.Context, sid, userAgent string) error {
	return r.cfg.DB.CreateSession(ctx, store.Session{ID: sid, UserAgent: userAgent, CreatedAt: r.cfg.Now()})
}

// List returns the live sessions, most recently seen first; current (the
// caller's session id) is marked.
func (r *Registry) List(ctx context.Context, current string) ([]Info, error) {
	if err := r.Sync(ctx); err != nil { // show last-seen times as of now
		r.cfg.Logger.Warn("sessions: sync before listing", "err", err)
	}
	rows, err := r.cfg.DB.Sessions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(rows))
	for _, s := range rows {
		if r.cfg.Auth.Revoked(s.ID) {
			continue
		}
		out = append(out, Info{ID: s.ID, Device: Device(s.UserAgent), UserAgent: s.UserAgent,
			CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, Current: s.ID == current})
	}
	return out, nil
}

// Revoke signs sessions out: written down, refused from now on, sockets
// closed. It returns the ids it revoked; none of them live is not_found.
func (r *Registry) Revoke(ctx context.Context, ids []string) ([]string, error) {
	done, err := r.cfg.DB.RevokeSessions(ctx, ids, r.cfg.Now())
	if err != nil {
		return nil, err
	}
	if len(done) == 0 {
		return nil, flow.Errorf(flow.ENOTFOUND, "no such session (it was signed out already or has expired)")
	}
	r.cfg.Auth.MarkRevoked(done...)
	closed := 0
	if r.cfg.CloseSessions != nil {
		closed = r.cfg.CloseSessions(done)
	}
	r.cfg.Logger.Info("sessions: signed out", "sessions", len(done), "sockets", closed)
	return done, nil
}

// RevokeOthers signs out every live session except keep.
func (r *Registry) RevokeOthers(ctx context.Context, keep string) ([]string, error) {
	rows, err := r.cfg.DB.Sessions(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range rows {
		if s.ID != keep {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) == 0 {
		return []string{}, nil
	}
	done, err := r.Revoke(ctx, ids)
	if flow.ErrorCode(err) == flow.ENOTFOUND {
		return []string{}, nil // signed out meanwhile
	}
	slices.Sort(done)
	return done, err
}

// Sync writes down when sessions were last seen, prunes sessions past
// Retention and picks up sessions revoked by another server process on
// the same database.
func (r *Registry) Sync(ctx context.Context) error {
	seen := r.cfg.Auth.TakeSeen()
	if err := r.cfg.DB.TouchSessions(ctx, seen); err != nil {
		// Put them back: the next Sync tries again.
		for id, t := range seen {
			r.cfg.Auth.Seen(id, t)
		}
		return fmt.Errorf("sessions: %w", err)
	}
	if _, err := r.cfg.DB.PruneSessions(ctx, r.cfg.Now().Add(-Retention)); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	return r.loadRevoked(ctx)
}
