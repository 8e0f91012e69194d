// Package fanout brings durable events committed by other Flow Weaver
// nodes to this node's sockets, when several nodes share one PostgreSQL.
//
// Every committing transaction sends one short NOTIFY per project it
// touched ("projectId:lastSeq", channel store.EventsChannel). A Feed
// LISTENs for them (github.com/jackc/pgxlisten, reconnecting after a short
// delay), and for the projects this node's sockets hold it reads the new
// rows by cursor: (project, seq > last delivered). A slow poll reads the
// same cursors as a safety net, and every reconnect of the listener reads
// them too (the backlog of notifications sent while it was away).
//
// The Feed is also the path of this node's own commits (Local): per project
// it delivers each seq exactly once, in seq order, whichever path brings it
// first. The store allocates seqs gaplessly in commit order, so a gap in
// what arrives means another node's commit is not read yet: the local
// events past the gap are left to the cursor read, which fills it.
package fanout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Log is the event log the Feed reads. *store.DB implements it.
type Log interface {
	// EventsSince returns up to limit durable events of projectID on every
	// channel with seq > after, in seq order.
	EventsSince(ctx context.Context, projectID string, after int64, limit int) ([]flow.Event, error)
	// SeqRange returns the oldest retained and the latest seq of the project.
	SeqRange(ctx context.Context, projectID string) (oldest, last int64, err error)
}

// Config configures a Feed. DSN, Log and Publish are required.
type Config struct {
	// DSN is the PostgreSQL connection string the listener connects with.
	DSN string
	// Channel is the NOTIFY channel; default "fw_events" (store.EventsChannel).
	Channel string
	// Log is where new rows are read from.
	Log Log
	// Publish delivers events to the local sockets (hub.Publish). It is
	// called in seq order per project and must not block.
	Publish func([]flow.Event)
	// PollInterval is the safety-net poll of every watched project's
	// cursor. Default 5s; negative disables it (tests of the listener).
	PollInterval time.Duration
	// ReconnectDelay is the wait before the listener reconnects after its
	// connection is lost. Default 500ms.
	ReconnectDelay time.Duration
	// Page is how many rows one cursor read returns. Default 500.
	Page int
	// Logger receives connection losses and read errors. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Channel == "" {
		c.Channel = "fw_events"
	}
	if c.PollInterval == 0 {
		c.PollInterval = 5 * time.Second
	}
	if c.ReconnectDelay == 0 {
		c.ReconnectDelay = 500 * time.Millisecond
	}
	if c.Page == 0 {
		c.Page = 500
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// readTimeout bounds one cursor read.
const readTimeout = 30 * time.Second

// Stats counts what a Feed did, for monitoring and tests.
type Stats struct {
	Connects      int64 `json:"connects"`      // successful LISTENs (1 + reconnects)
	Notifications int64 `json:"notifications"` // NOTIFYs received
	Reads         int64 `json:"reads"`         // cursor reads of the event log
	Delivered     int64 `json:"delivered"`     // events handed to Publish
	Watched       int   `json:"watched"`       // projects with sockets on this node
}

// Feed is one node's cross-node event stream. Start it, Watch the projects
// whose sockets this node holds, hand it this node's own commits (Local),
// Stop it.
type Feed struct {
	cfg Config

	mu       sync.Mutex
	projects map[string]*cursor
	dirty    map[string]struct{} // projects whose cursor must be read
	wake     chan struct{}

	connects, notifications, reads, delivered atomic.Int64

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// cursor is what the Feed keeps for one watched project.
type cursor struct {
	watchers int // guarded by Feed.mu

	mu        sync.Mutex // held while delivering, so deliveries stay in order
	delivered int64      // every seq <= delivered was handed to Publish
}

// New checks the configuration. It starts nothing.
func New(cfg Config) (*Feed, error) {
	cfg = cfg.withDefaults()
	switch {
	case cfg.DSN == "":
		return nil, errors.New("fanout: DSN is required")
	case cfg.Log == nil:
		return nil, errors.New("fanout: Log is required")
	case cfg.Publish == nil:
		return nil, errors.New("fanout: Publish is required")
	case cfg.Page < 1:
		return nil, errors.New("fanout: Page must be at least 1")
	}
	return &Feed{cfg: cfg, projects: map[string]*cursor{}, dirty: map[string]struct{}{}, wake: make(chan struct{}, 1)}, nil
}

// Start runs the listener and the reader until Stop. It returns at once:
// a database that is down is retried in the background, not an error.
func (f *Feed) Start(ctx context.Context) error {
	if f.cancel != nil {
		return errors.New("fanout: already started")
	}
	ctx, f.cancel = context.WithCancel(context.WithoutCancel(ctx))
	f.wg.Add(2)
	go func() { defer f.wg.Done(); f.listen(ctx) }()
	go func() { defer f.wg.Done(); f.readLoop(ctx) }()
	return nil
}

// Stop ends the listener and the reader and waits for them.
func (f *Feed) Stop() error {
	if f.cancel != nil {
		f.cancel()
	}
	f.wg.Wait()
	return nil
}

// Stats returns the Feed's counters.
func (f *Feed) Stats() Stats {
	f.mu.Lock()
	watched := len(f.projects)
	f.mu.Unlock()
	return Stats{Connects: f.connects.Load(), Notifications: f.notifications.Load(),
		Reads: f.reads.Load(), Delivered: f.delivered.Load(), Watched: watched}
}

// Watch starts delivering projectID's events (a socket of this node opened
// on it); calls nest. The first Watch reads the project's latest seq, so it
// must happen before the socket subscribes: its subscribe then replays at
// least up to that seq and every later event reaches it live.
func (f *Feed) Watch(ctx context.Context, projectID string) error {
	f.mu.Lock()
	if c := f.projects[projectID]; c != nil {
		c.watchers++
		f.mu.Unlock()
		return nil
	}
	f.mu.Unlock()
	_, last, err := f.cfg.Log.SeqRange(ctx, projectID)
	if err != nil {
		return fmt.Errorf("fanout: watch %s: %w", projectID, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.projects[projectID]; c != nil { // a concurrent first Watch won
		c.watchers++
		return nil
	}
	f.projects[projectID] = &cursor{watchers: 1, delivered: last}
	return nil
}

// Unwatch undoes one Watch; the last one forgets the project.
func (f *Feed) Unwatch(projectID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.projects[projectID]; c != nil {
		if c.watchers--; c.watchers <= 0 {
			delete(f.projects, projectID)
			delete(f.dirty, projectID)
		}
	}
}

// Local delivers events this node committed (the store's commit hook),
// given in seq order per project. Seqs already delivered are dropped; if
// another node's commit sits between the cursor and these events, they
// are left to the cursor read, which delivers the whole range in order.
// It never waits for the database.
func (f *Feed) Local(events []flow.Event) {
	for start := 0; start < len(events); {
		end := start + 1
		for end < len(events) && events[end].ProjectID == events[start].ProjectID {
			end++
		}
		f.offer(events[start:end], false)
		start = end
	}
}

// offer delivers the events of one project that continue its cursor.
// From the log (fromLog) a jump past the cursor means pruned history, which
// no read can fill: it is delivered and logged. From this node, a jump
// means a commit of another node is not read yet: the cursor read is asked
// for, and it will deliver these events too.
func (f *Feed) offer(events []flow.Event, fromLog bool) {
	projectID := events[0].ProjectID
	f.mu.Lock()
	c := f.projects[projectID]
	f.mu.Unlock()
	if c == nil {
		return // no socket of this node holds the project
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := events[:0:0]
	for i := range events {
		seq := events[i].Seq
		if seq <= c.delivered {
			continue
		}
		if seq > c.delivered+1 {
			if !fromLog {
				f.markDirty(projectID)
				break
			}
			f.cfg.Logger.Warn("fanout: events pruned before this node read them", "project", projectID, "from", c.delivered+1, "to", seq-1)
		}
		out = append(out, events[i])
		c.delivered = seq
	}
	if len(out) > 0 {
		f.delivered.Add(int64(len(out)))
		f.cfg.Publish(out)
	}
}

// notified handles "projectId:lastSeq": read the cursor if behind.
func (f *Feed) notified(projectID string, last int64) {
	f.notifications.Add(1)
	f.mu.Lock()
	c := f.projects[projectID]
	f.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	behind := last > c.delivered
	c.mu.Unlock()
	if behind {
		f.markDirty(projectID)
	}
}

// markDirty queues a cursor read of projectID.
func (f *Feed) markDirty(projectID string) {
	f.mu.Lock()
	if _, ok := f.projects[projectID]; ok {
		f.dirty[projectID] = struct{}{}
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// markAllDirty queues a read of every watched project (poll, reconnect).
func (f *Feed) markAllDirty() {
	f.mu.Lock()
	for id := range f.projects {
		f.dirty[id] = struct{}{}
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// readLoop reads the cursors of dirty projects, and of all of them every
// PollInterval, until ctx ends.
func (f *Feed) readLoop(ctx context.Context) {
	var tick <-chan time.Time
	if f.cfg.PollInterval > 0 {
		t := time.NewTicker(f.cfg.PollInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			f.markAllDirty()
		case <-f.wake:
		}
		f.mu.Lock()
		ids := make([]string, 0, len(f.dirty))
		for id := range f.dirty {
			ids = append(ids, id)
		}
		clear(f.dirty)
		f.mu.Unlock()
		for _, id := range ids {
			if err := f.catchUp(ctx, id); err != nil && ctx.Err() == nil {
				// The database is down or the project is gone: the next
				// notification, reconnect or poll tries again.
				f.cfg.Logger.Warn("fanout: read new events", "project", id, "err", err)
			}
		}
	}
}

// catchUp reads projectID's events after its cursor, page by page, and
// delivers them.
func (f *Feed) catchUp(ctx context.Context, projectID string) error {
	for {
		f.mu.Lock()
		c := f.projects[projectID]
		f.mu.Unlock()
		if c == nil {
			return nil
		}
		c.mu.Lock()
		from := c.delivered
		c.mu.Unlock()
		f.reads.Add(1)
		// A read that hangs (a network partition without a reset) must not
		// stall every other project: give up and let the next
		// notification, reconnect or poll try again.
		rctx, cancel := context.WithTimeout(ctx, readTimeout)
		evs, err := f.cfg.Log.EventsSince(rctx, projectID, from, f.cfg.Page)
		cancel()
		if err != nil {
			return err
		}
		for i := range evs {
			evs[i].ProjectID = projectID
		}
		if len(evs) > 0 {
			f.offer(evs, true)
		}
		if len(evs) < f.cfg.Page {
			return nil
		}
	}
}
