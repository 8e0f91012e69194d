package daemon

import (
	"context"

	"github.com/flowweaver/flowweaver/backend/sessions"
)

// sessionsAPI adapts the sessions registry to the HTTP API.
type sessionsAPI struct{ r *sessions.Registry }

func (a sessionsAPI) Started(ctx context.Context, sid, userAgent string) error {
	return a.r.Started(ctx, sid, userAgent)
}

func (a sessionsAPI) ListSessions(ctx context.Context, current string) (any, error) {
	return a.r.List(ctx, current)
}

func (a sessionsAPI) Revoke(ctx context.Context, ids []string) ([]string, error) {
	return a.r.Revoke(ctx, ids)
}

func (a sessionsAPI) RevokeOthers(ctx context.Context, keep string) ([]string, error) {
	return a.r.RevokeOthers(ctx, keep)
}

// syncSessions writes down when sessions were last seen and picks up
// revocations made by other processes (housekeeping, and once at Stop).
func (d *Daemon) syncSessions(ctx context.Context) {
	if d.sessions == nil {
		return
	}
	if err := d.sessions.Sync(ctx); err != nil {
		d.log.Warn("sync sessions", "err", err)
	}
}
