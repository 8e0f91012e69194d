package engine

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

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
// A leader goroutine exists only while steps come: the first submit that
// finds none running starts it, and it exits once the queue has stayed
// empty for leaderLinger (at once while the engine stops). The linger is
// for the leader's stack: SQLite's calls run deep, and a fresh goroutine
// per burst grew (copied) its stack on the single writer's critical path.
//
// A step must check its preconditions before writing and return
// queue.ErrLeaseLost (or another skip error) without having written
// anything; only then can it be skipped without failing the others. Any
// other error rolls the whole transaction back: retryable steps (pure
// functions of the database, like StartRun) are then retried alone,
// the others get the error (their run's job retries from its checkpoints).
type batcher struct {
	db     *store.DB
	max    int
	linger time.Duration // 0 = leaderLinger

	mu      sync.Mutex
	pending []*step
	busy    bool          // a leader goroutine exists
	idle    bool          // it lingers with nothing pending
	closing bool          // wait is waiting for it: do not linger
	wake    chan struct{} // (1) a step for the idle leader, or closing

	commits, steps atomic.Int64 // counters for benchmarks
	leaders        atomic.Int64 // leader goroutines started (tests)
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
	switch {
	case !b.busy:
		b.busy = true
		b.wg.Add(1)
		b.leaders.Add(1)
		go b.lead()
	case b.idle:
		b.idle = false
		b.signal()
	}
	b.mu.Unlock()
	return s
}

// leaderLinger is how long an idle leader waits for the next step.
const leaderLinger = 100 * time.Millisecond

// signal wakes a lingering leader (b.mu held, b.idle set, so wake exists:
// waitForSteps made it). wake has room for one signal, so it never blocks;
// a signal left over from a leader that exited only makes the next one
// look at its queue once more.
func (b *batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// waitForSteps waits, with nothing pending, for a step or leaderLinger, and
// reports whether the leader should go on (b.mu held on entry and exit).
func (b *batcher) waitForSteps(t *time.Timer) bool {
	if b.closing {
		return false
	}
	if b.wake == nil {
		b.wake = make(chan struct{}, 1)
	}
	b.idle = true
	wake := b.wake
	b.mu.Unlock()
	d := b.linger
	if d == 0 {
		d = leaderLinger
	}
	t.Reset(d)
	select {
	case <-wake:
	case <-t.C:
	}
	t.Stop()
	b.mu.Lock()
	b.idle = false
	return len(b.pending) > 0
}

func (b *batcher) lead() {
	defer b.wg.Done()
	t := time.NewTimer(leaderLinger)
	t.Stop()
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
		if len(b.pending) == 0 && !b.waitForSteps(t) {
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

// wait waits for the leader goroutine to exit (Engine.Stop): an idle one
// exits at once, a busy one once its queue is empty.
func (b *batcher) wait() {
	b.mu.Lock()
	b.closing = true
	if b.idle {
		b.signal()
	}
	b.mu.Unlock()
	b.wg.Wait()
	b.mu.Lock()
	b.closing = false
	b.mu.Unlock()
}

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
