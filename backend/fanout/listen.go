package fanout

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
)

// ListenerAppName is the application_name of the listener's connection,
// so operators (and tests, with pg_terminate_backend) can find it in
// pg_stat_activity.
const ListenerAppName = "flowweaver-listen"

// listen keeps one LISTEN connection open until ctx ends. pgxlisten
// reconnects after ReconnectDelay when the connection is lost; every
// (re)connection reads all watched cursors (HandleBacklog), because
// notifications sent while it was away are gone.
func (f *Feed) listen(ctx context.Context) {
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			cfg, err := pgx.ParseConfig(f.cfg.DSN)
			if err != nil {
				return nil, fmt.Errorf("parse DSN: %w", err)
			}
			cfg.RuntimeParams["application_name"] = ListenerAppName
			return pgx.ConnectConfig(ctx, cfg)
		},
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil {
				f.cfg.Logger.Warn("fanout: listener connection lost, reconnecting", "err", err, "delay", f.cfg.ReconnectDelay)
			}
		},
		ReconnectDelay: f.cfg.ReconnectDelay,
	}
	l.Handle(f.cfg.Channel, handler{f})
	_ = l.Listen(ctx) // returns only when ctx ends
}

// handler adapts the Feed to pgxlisten.
type handler struct{ f *Feed }

// HandleNotification parses "projectId:lastSeq" and queues a cursor read.
// Project ids never contain ':', the seq is the part after the last one.
func (h handler) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	i := strings.LastIndexByte(n.Payload, ':')
	if i < 0 {
		return fmt.Errorf("notification %q: want projectId:lastSeq", n.Payload)
	}
	last, err := strconv.ParseInt(n.Payload[i+1:], 10, 64)
	if err != nil {
		return fmt.Errorf("notification %q: %w", n.Payload, err)
	}
	h.f.notified(n.Payload[:i], last)
	return nil
}

// HandleBacklog runs after every successful LISTEN: what was committed
// while no connection listened is found by reading every cursor.
func (h handler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	h.f.connects.Add(1)
	h.f.markAllDirty()
	return nil
}
