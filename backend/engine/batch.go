package engine

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

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
// A leader goroutine exists only while steps are pending: the first
// submit that finds none running starts it, and it exits when the queue
// is empty.
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

	commits, steps atomic.Int64 // counters for benchmarks
	wg             sync.WaitGroup
}

type step struct {
	fn        func(tx *store.Tx) error
	retryable bool
	err       error
	done      chan struct{}
}

// failed returns the error of s if it already ended with one; nil while
// it is pending, when it committed, or when s is nil.
func failed(s *step) error {
	if s == nil {
		return nil
	}
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// skippable errors end one step without failing its batch.
func skippable(err error) bool { return errors.Is(err, queue.ErrLeaseLost) }

// do runs fn in a shared write transaction and returns its result once the
// transaction committed (or failed).
func (b *batcher) do(fn func(tx *store.Tx) error, retryable bool) error {
	s := b.submit(fn, retryable)
	<-s.done
	return s.err
}

// submit queues fn for the next transaction and returns at once; s.done is
// closed when it committed or failed (s.err). Steps commit in submission
// order. When no commit is in flight, a leader goroutine is started; it
// commits batches until nothing is pending and exits.
func (b *batcher) submit(fn func(tx *store.Tx) error, retryable bool) *step {
	s := &step{fn: fn, retryable: retryable, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, s)
	if !b.busy {
		b.busy = true
		b.wg.Add(1)
		go b.lead()
	}
	b.mu.Unlock()
	return s
}

func (b *batcher) lead() {
	defer b.wg.Done()
	for first := true; ; first = false {
		if !first {
			// The commit just woken the goroutines of its steps, and most
			// of them submit their next step at once (a node started, a
			// run's next claim). Yielding lets them queue it before the
			// next batch is taken: bigger commits, fewer of them, for the
			// cost of one scheduler round.
			runtime.Gosched()
		}
		b.mu.Lock()
		if len(b.pending) == 0 {
			b.busy = false
			b.mu.Unlock()
			return
		}
		n := min(len(b.pending), b.max)
		batch := b.pending[:n:n]
		b.pending = b.pending[n:]
		b.mu.Unlock()
		b.commit(batch)
	}
}

// wait waits for the leader goroutine to exit (Engine.Stop).
func (b *batcher) wait() { b.wg.Wait() }

func (b *batcher) commit(batch []*step) {
	ctx := context.Background()
	b.commits.Add(1)
	b.steps.Add(int64(len(batch)))
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
