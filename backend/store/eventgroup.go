package store

import (
	"context"
	"sync"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// eventGroup is group commit for single events written from outside the
// engine (REST notifications, trigger records): events that arrive while
// a transaction is being written are committed together in the next one.
// One SQLite commit per REST publish was 15 % of the server's CPU at
// fan-out saturation; the caller still returns only after its event is
// committed, so a 202 keeps meaning durable.
//
// A leader goroutine exists only while events are pending: the first
// append that finds none running starts it, and it exits when the queue
// is empty. Close waits for it.
type eventGroup struct {
	mu      sync.Mutex
	pending []*pendingEvent
	busy    bool
	wg      sync.WaitGroup
}

type pendingEvent struct {
	ev   *flow.Event
	err  error
	done chan struct{}
}

// maxEventGroup bounds one transaction, so a burst cannot hold the writer
// lock (and the engine's steps) for long.
const maxEventGroup = 256

// AppendEvent writes one durable event, sharing the transaction with
// other events appended at the same time, and returns once it is
// committed (ev.Seq set) or failed. ctx is checked before queueing only:
// a queued event is written even if the request goes away, exactly as a
// transaction that had begun would have been.
func (db *DB) AppendEvent(ctx context.Context, ev *flow.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := &pendingEvent{ev: ev, done: make(chan struct{})}
	g := &db.events
	g.mu.Lock()
	g.pending = append(g.pending, p)
	if !g.busy {
		g.busy = true
		g.wg.Add(1)
		go db.leadEvents()
	}
	g.mu.Unlock()
	<-p.done
	return p.err
}

func (db *DB) leadEvents() {
	g := &db.events
	defer g.wg.Done()
	for {
		g.mu.Lock()
		if len(g.pending) == 0 {
			g.busy = false
			g.mu.Unlock()
			return
		}
		n := min(len(g.pending), maxEventGroup)
		batch := g.pending[:n:n]
		g.pending = g.pending[n:]
		g.mu.Unlock()
		db.commitEvents(batch)
	}
}

// commitEvents writes batch in one transaction. If it fails, each event
// is retried in a transaction of its own, so one bad event (a project
// deleted meanwhile) fails alone and the others still commit.
func (db *DB) commitEvents(batch []*pendingEvent) {
	ctx := context.Background()
	err := db.Write(ctx, func(tx *Tx) error {
		for _, p := range batch {
			if err := tx.AppendEvent(ctx, p.ev); err != nil {
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
	for _, p := range batch {
		close(p.done)
	}
}
