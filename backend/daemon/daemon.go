// Package daemon is the composition root: it builds every backend part
// from a Config, wires them together and owns their lifecycle. The
// headless command, the desktop app and the end-to-end tests all boot the
// same Daemon.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/auth"
	"github.com/flowweaver/flowweaver/backend/datadir"
	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/httpapi"
	"github.com/flowweaver/flowweaver/backend/hub"
	"github.com/flowweaver/flowweaver/backend/secrets"
	"github.com/flowweaver/flowweaver/backend/sessions"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/tools"
	"github.com/flowweaver/flowweaver/backend/tools/mcp"
	"github.com/flowweaver/flowweaver/backend/trigger"
	"github.com/flowweaver/flowweaver/backend/trust"
	"github.com/flowweaver/flowweaver/backend/workflow"
)

// Daemon is a running Flow Weaver backend.
type Daemon struct {
	cfg  Config
	log  *slog.Logger
	db   *store.DB
	auth *auth.Authority
	api  *httpapi.Server

	secrets   *secrets.Service
	trust     *trust.Policy
	tools     *tools.Registry
	mcp       *mcp.Source
	workflows *workflow.Service
	engine    *engine.Engine
	triggers  *trigger.Service
	sessions  *sessions.Registry
	hub       *hub.Hub
	cluster   *clusterParts // PostgreSQL only (cluster.go)

	// lock holds the data dir; ownLock says New took it (Stop releases it).
	lock    *datadir.Lock
	ownLock bool

	ln     net.Listener
	srv    *http.Server
	cancel context.CancelFunc
	wg     sync.WaitGroup

	stopOnce sync.Once
	stopErr  error
}

// New takes the data dir lock (unless cfg.Lock is given), then opens the
// data dir (creating it 0700), the JWT key and the database. A data dir
// held by another process fails with a *datadir.LockedError before the
// database is touched. It does not listen yet; Start does.
func New(ctx context.Context, cfg Config) (_ *Daemon, err error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, log: cfg.Logger, lock: cfg.Lock}
	if d.lock == nil {
		if d.lock, err = datadir.Acquire(cfg.DataDir, cfg.Role); err != nil {
			return nil, err
		}
		d.ownLock = true
		defer func() {
			if err != nil {
				_ = d.lock.Release()
			}
		}()
	}
	if d.db, err = store.Open(ctx, cfg.databaseDSN(), store.Options{}); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	defer func() {
		if err != nil {
			_ = d.db.Close()
		}
	}()
	key, err := d.signingKey(ctx)
	if err != nil {
		return nil, err
	}
	if d.auth, err = auth.New(key, auth.Options{}); err != nil {
		return nil, err
	}
	if err := d.wire(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// Start listens on cfg.Addr and serves until Stop.
func (d *Daemon) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", d.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", d.cfg.Addr, err)
	}
	d.ln = ln
	if err := d.startCluster(ctx); err != nil {
		_ = ln.Close()
		return fmt.Errorf("join the cluster: %w", err)
	}
	if !d.cfg.Passive {
		if err := d.workflows.Start(ctx); err != nil {
			_ = ln.Close()
			return fmt.Errorf("start workflow watcher: %w", err)
		}
		if err := d.engine.Start(ctx); err != nil {
			_ = ln.Close()
			return fmt.Errorf("start workers: %w", err)
		}
		if !d.cfg.NoTriggers {
			if err := d.triggers.Start(ctx); err != nil {
				_ = ln.Close()
				return fmt.Errorf("start triggers: %w", err)
			}
		}
	}
	d.srv = &http.Server{
		Handler:           d.api,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("http server stopped", "err", err)
		}
	}()
	go func() {
		defer d.wg.Done()
		d.housekeeping(bg)
	}()
	if d.cfg.Announce {
		if err := d.lock.WriteRuntime(datadir.Runtime{URL: d.URL(), Version: d.cfg.Version}); err != nil {
			return fmt.Errorf("announce: %w", err)
		}
	}
	return nil
}

// housekeeping prunes the event log to its retention and checkpoints the
// WAL once a minute, so neither grows without bound under steady load.
func (d *Daemon) housekeeping(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := d.db.PruneEvents(ctx, d.cfg.EventRetention); err != nil {
				d.log.Warn("prune events", "err", err)
			} else if n > 0 {
				d.log.Debug("pruned events", "count", n)
			}
			if err := d.db.Checkpoint(ctx); err != nil {
				d.log.Warn("checkpoint", "err", err)
			}
			d.syncSessions(ctx)
		}
	}
}

// URL is the base URL clients use, e.g. http://127.0.0.1:7420.
func (d *Daemon) URL() string {
	if d.ln == nil {
		return ""
	}
	return "http://" + d.ln.Addr().String()
}

// LoginURL returns the URL with a fresh one-time login code in its
// fragment (fragments are not sent to servers or logged by proxies).
func (d *Daemon) LoginURL() string { return d.URL() + "/#code=" + d.auth.NewLoginCode() }

// Token issues a token for a new session, valid for ttl.
func (d *Daemon) Token(ttl time.Duration) (string, time.Time, error) { return d.auth.Issue(ttl) }

// ActiveTriggers counts the triggers that fire on their own (enabled, in
// trusted projects): what the desktop window's close question is about.
func (d *Daemon) ActiveTriggers(ctx context.Context) (trigger.Summary, error) {
	return d.triggers.Active(ctx)
}

// Store returns the database, for tests and tools that inspect it.
func (d *Daemon) Store() *store.DB { return d.db }

// Stop shuts down gracefully: stop accepting, close sockets with 1001,
// hand running jobs back or let them finish within ShutdownGrace, close
// the database. It is idempotent.
func (d *Daemon) Stop(ctx context.Context) error {
	d.stopOnce.Do(func() {
		var errs []error
		// Stop advertising first: a `flowweaver run` starting now must not
		// hand its run to a server that is going away.
		if d.cfg.Announce {
			if err := d.lock.RemoveRuntime(); err != nil {
				errs = append(errs, fmt.Errorf("remove runtime file: %w", err))
			}
		}
		// Sockets first, with 1001, so clients start reconnecting while the
		// rest shuts down; the HTTP server does not track hijacked conns.
		if err := d.hub.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close sockets: %w", err))
		}
		// No more advertising (the queue's Stop forgets the node row) and
		// no more events from other nodes: no socket is left.
		d.stopCluster()
		if d.srv != nil {
			sctx, cancel := context.WithTimeout(ctx, d.cfg.ShutdownGrace)
			if err := d.srv.Shutdown(sctx); err != nil {
				errs = append(errs, fmt.Errorf("http shutdown: %w", err))
			}
			cancel()
		}
		if d.cancel != nil {
			d.cancel()
		}
		d.wg.Wait()
		// No trigger starts a run from here on.
		if err := d.triggers.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop triggers: %w", err))
		}
		// Running jobs finish within the grace period or go back to the
		// queue; a restart picks them up from their last checkpoint.
		gctx, cancel := context.WithTimeout(ctx, d.cfg.ShutdownGrace+5*time.Second)
		if err := d.engine.Stop(gctx); err != nil {
			errs = append(errs, fmt.Errorf("stop workers: %w", err))
		}
		cancel()
		if err := d.workflows.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop workflow watcher: %w", err))
		}
		if err := d.mcp.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stop MCP servers: %w", err))
		}
		d.syncSessions(ctx) // last-seen times of this run
		if err := d.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
		// The lock goes last: the next owner opens a closed database.
		if d.ownLock {
			if err := d.lock.Release(); err != nil {
				errs = append(errs, fmt.Errorf("release data dir: %w", err))
			}
		}
		d.stopErr = errors.Join(errs...)
	})
	return d.stopErr
}
