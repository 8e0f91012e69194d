package engine

import (
	"context"
	"errors"
	"sync"

	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
)

// batcher is group commit: concurrent steps (a StartRun, a node
// checkpoint, a log flush) that arrive while a transaction is being
// written are committed together in the next one. Every commit of SQLite
// rewrites the touched pages into the WAL, and many runs touch the same
// pages (the events table's last leaf, projects.last_seq, the jobs index),
// so one commit for many steps is where the throughput comes from.
//
// There is no background goroutine: the first caller that finds no
// transaction in flight becomes the leader and commits the batch; when it
// is done it hands leadership to the first step that queued meanwhile.
//
// A step must check its preconditions before writing and return
// queue.ErrLeaseLost (or another skip error) without having written
// anything; only then can it be skipped without failing the others. Any
// other error rolls the whole transaction back: retryable steps (pure
// functions of the database, like StartRun) are then retried alone,
// the others get the error (their run's job retries from its checkpoints).
type batcher struct {
	db  *store.DB
	max int

	mu      sync.Mutex
	pending []*step
	busy    bool
}

type step struct {
	fn        func(tx *store.Tx) error
	retryable bool
	err       error
	done      chan struct{}
	lead      chan struct{}
}

// skippable errors end one step without failing its batch.
func skippable(err error) bool { return errors.Is(err, queue.ErrLeaseLost) }

// do runs fn in a shared write transaction and returns its result once the
// transaction committed (or failed).
func (b *batcher) do(fn func(tx *store.Tx) error, retryable bool) error {
	s := &step{fn: fn, retryable: retryable, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, s)
	if b.busy {
		b.mu.Unlock()
		select {
		case <-s.done:
			return s.err
		case <-s.lead:
		}
		b.mu.Lock()
	}
	b.busy = true
	n := min(len(b.pending), b.max)
	batch := b.pending[:n:n]
	b.pending = b.pending[n:]
	b.mu.Unlock()

	b.commit(batch)

	b.mu.Lock()
	if len(b.pending) > 0 {
		b.pending[0].lead <- struct{}{}
	} else {
		b.busy = false
	}
	b.mu.Unlock()
	return s.err
}

func (b *batcher) commit(batch []*step) {
	ctx := context.Background()
	err := b.db.Write(ctx, func(tx *store.Tx) error {
		for _, s := range batch {
			s.err = s.fn(tx)
			if s.err != nil && !skippable(s.err) {
				return s.err
			}
		}
		return nil
	})
	if err != nil {
		for _, s := range batch {
			if s.retryable && len(batch) > 1 {
				s.err = b.db.Write(ctx, s.fn)
			} else {
				s.err = err
			}
		}
	}
	for _, s := range batch {
		close(s.done)
	}
}
