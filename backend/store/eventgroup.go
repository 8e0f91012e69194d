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
// The callers lead their own batches: the append that finds no commit in
// flight writes everything queued (its own event first) in its own
// goroutine; appends arriving meanwhile wait, and when the commit is done
// the oldest of them is woken to lead the next batch. No goroutine is
// started and no hand-off to one is waited for, which was the leader
// goroutine's wake-up on every burst. Close waits for a batch in flight.
type eventGroup struct {
	mu      sync.Mutex
	pending []*pendingEvent
	busy    bool // a caller is leading a batch; !busy implies pending is empty
	wg      sync.WaitGroup
}

type pendingEvent struct {
	ev   *flow.Event
	err  error
	lead bool          // set (under eventGroup.mu) when woken to lead the next batch
	wake chan struct{} // cap 1: committed (err set) or promoted to lead
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
	p := &pendingEvent{ev: ev, wake: make(chan struct{}, 1)}
	g := &db.events
	g.mu.Lock()
	g.pending = append(g.pending, p)
	lead := !g.busy
	if lead {
		g.busy = true
		g.wg.Add(1)
	}
	g.mu.Unlock()
	if !lead {
		<-p.wake
		if !p.lead {
			return p.err
		}
	}
	db.leadEvents(p)
	return p.err
}

// leadEvents commits the next batch for the caller self: the queue's head
// (self's own event) and whatever queued behind it, up to maxEventGroup. Then it
// wakes the batch's other callers and promotes the oldest waiter, if any,
// to lead the next batch.
func (db *DB) leadEvents(self *pendingEvent) {
	g := &db.events
	g.mu.Lock()
	n := min(len(g.pending), maxEventGroup)
	batch := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()

	db.commitEvents(batch)

	g.mu.Lock()
	var next *pendingEvent
	if len(g.pending) > 0 {
		next = g.pending[0]
		next.lead = true
		g.wg.Add(1)
	} else {
		g.busy = false
		g.pending = nil // drop the backing array of a burst
	}
	g.mu.Unlock()
	for _, p := range batch {
		if p != self {
			p.wake <- struct{}{}
		}
	}
	if next != nil {
		next.wake <- struct{}{}
	}
	g.wg.Done()
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
