package store

import (
	"context"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// eventGroup is group commit for single events written from outside the
// engine (REST notifications, trigger records): events that arrive while
// a transaction is being written are committed together in the next one.
// One SQLite commit per REST publish was 15 % of the server's CPU at
// fan-out saturation; the caller still returns only after its event is
// committed, so a 202 keeps meaning durable.
//
// The transactions are written by one committer goroutine, started by the
// first append and lingering eventLinger after the last batch. Callers
// used to lead their own batches, which ran SQLite's deep calls on a fresh
// request goroutine every time and grew (copied) its stack for it, 3-4 %
// of the server's CPU under a stream of notifications; the committer grows
// its stack once. While appends keep coming it loops from one batch to the
// next without being woken; only an idle committer is signalled. Close
// waits for it.
type eventGroup struct {
	mu      sync.Mutex
	pending []*pendingEvent
	running bool          // the committer goroutine runs
	idle    bool          // it waits on kick for the next append
	closed  bool          // Close was called: the committer exits when idle
	kick    chan struct{} // cap 1: wakes an idle committer
	wg      sync.WaitGroup
}

type pendingEvent struct {
	ev   *flow.Event
	err  error
	wake chan struct{} // cap 1: committed (err set)
}

// maxEventGroup bounds one transaction, so a burst cannot hold the writer
// lock (and the engine's steps) for long.
const maxEventGroup = 256

// eventLinger is how long the committer waits for the next append before
// it exits.
const eventLinger = 100 * time.Millisecond

// AppendEvent writes one durable event, sharing the transaction with
// other events appended at the same time, and returns once it is
// committed (ev.Seq set) or failed. ctx is checked before queueing only:
// a queued event is written even if the request goes away, exactly as a
// transaction that had begun would have been.
func (db *DB) AppendEvent(ctx context.Context, ev *flow.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := &pendingEvent{ev: ev, wake: make(chan struct{}, 1)}
	g := &db.events
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		db.commitEvents([]*pendingEvent{p}) // fails as a write to a closed store does
		return p.err
	}
	g.pending = append(g.pending, p)
	start, kick := !g.running, g.idle
	if start {
		g.running = true
		if g.kick == nil {
			g.kick = make(chan struct{}, 1)
		}
		g.wg.Add(1)
	}
	g.idle = false
	g.mu.Unlock()
	if start {
		go db.commitLoop()
	} else if kick {
		select {
		case g.kick <- struct{}{}:
		default:
		}
	}
	<-p.wake
	return p.err
}

// commitLoop is the committer: it commits what is pending, up to
// maxEventGroup events a transaction, wakes their callers, and exits once
// nothing was appended for eventLinger or the store is closed.
func (db *DB) commitLoop() {
	g := &db.events
	defer g.wg.Done()
	linger := time.NewTimer(eventLinger)
	defer linger.Stop()
	for {
		g.mu.Lock()
		if len(g.pending) == 0 {
			if g.closed {
				g.running = false
				g.mu.Unlock()
				return
			}
			g.idle = true
			g.mu.Unlock()
			linger.Reset(eventLinger)
			select {
			case <-g.kick:
			case <-linger.C:
			}
			g.mu.Lock()
			g.idle = false
			if len(g.pending) == 0 {
				g.running = false
				g.pending = nil // drop the backing array of a burst
				g.mu.Unlock()
				return
			}
		}
		n := min(len(g.pending), maxEventGroup)
		batch := g.pending[:n:n]
		g.pending = g.pending[n:]
		g.mu.Unlock()

		db.commitEvents(batch)
		for _, p := range batch {
			p.wake <- struct{}{}
		}
	}
}

// close stops the committer once what is pending is committed.
func (g *eventGroup) close() {
	g.mu.Lock()
	g.closed = true
	if g.idle {
		select {
		case g.kick <- struct{}{}:
		default:
		}
	}
	g.mu.Unlock()
	g.wg.Wait()
}

// commitEvents writes batch in one transaction. An event for a project
// that does not exist (deleted meanwhile, or never there) fails alone
// without failing the batch: AppendEvent finds that before writing
// anything. If the transaction fails otherwise, each event is retried in
// a transaction of its own, so one bad event fails alone and the others
// still commit.
func (db *DB) commitEvents(batch []*pendingEvent) {
	ctx := context.Background()
	err := db.Write(ctx, func(tx *Tx) error {
		for _, p := range batch {
			p.err = nil
			if err := tx.AppendEvent(ctx, p.ev); err != nil {
				if flow.ErrorCode(err) == flow.ENOTFOUND {
					p.err = err
					continue
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, p := range batch {
			if len(batch) == 1 {
				p.err = err
				continue
			}
			p.ev.Seq = 0
			p.err = db.Write(ctx, func(tx *Tx) error { return tx.AppendEvent(ctx, p.ev) })
		}
	}
}
