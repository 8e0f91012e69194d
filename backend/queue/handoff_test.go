package queue_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
)

// openSQLite opens a SQLite database: hand-off is only for a database one
// process owns, whatever FW_STORE the other queue tests use.
func openSQLite(t *testing.T, projects ...string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "q.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, p := range projects {
		if err := db.CreateProject(ctx, &flow.Project{ID: p, Name: p, Path: "/tmp/" + p + t.Name()}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// reserve waits until the queue offers a hand-off for project (after its
// first claim found the queue empty) and returns it.
func reserve(t *testing.T, q *queue.Queue, project string) *queue.Handoff {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if h := q.Reserve(project); h != nil {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatal("the queue never offered a hand-off")
		}
	}
}

// startHeld starts a queue whose jobs of kind "k" run until the test
// ends: each keeps its worker busy for as long as the test looks.
func startHeld(t *testing.T, db *store.DB, cfg queue.Config) *queue.Queue {
	t.Helper()
	q := newQueue(t, db, cfg)
	gate := make(chan struct{})
	q.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error {
		<-gate
		return nil
	}})
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, q) })
	t.Cleanup(func() { close(gate) }) // first: the held jobs end, then the queue stops
	return q
}

// A job inserted claimed under a hand-off runs once, as attempt 1 of this
// pool, and completes; while it is reserved its worker is taken.
func TestHandoffRunsTheJobOnce(t *testing.T) {
	db := openSQLite(t, "p1")
	q := newQueue(t, db, queue.Config{Workers: 1, Handoff: true})
	var runs atomic.Int32
	var attempt atomic.Int64
	q.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error {
		runs.Add(1)
		attempt.Store(int64(j.Attempt))
		return nil
	}})
	if q.Reserve("p1") != nil {
		t.Fatal("a hand-off before Start")
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := reserve(t, q, "p1")
	if q.Reserve("p1") != nil {
		t.Fatal("a second hand-off with the only worker reserved")
	}
	var id int64
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		id, err = q.EnqueueClaimed(context.Background(), tx, queue.NewJob{ProjectID: "p1", Kind: "k", Payload: []byte("x")}, h)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if j := getJob(t, q, id); j.State != queue.Running || j.Owner != q.Owner() || j.Attempt != 1 || j.LeaseUntil.IsZero() {
		t.Fatalf("inserted claimed job: %+v", j)
	}
	h.Start()
	j := waitState(t, q, id, queue.Completed)
	stop(t, q)
	if runs.Load() != 1 || attempt.Load() != 1 || j.Attempt != 1 {
		t.Fatalf("ran %d times, attempt %d, job %+v", runs.Load(), attempt.Load(), j)
	}
}

// A hand-off whose transaction failed gives its worker back, and inserts
// nothing.
func TestHandoffReleaseFreesTheWorker(t *testing.T) {
	db := openSQLite(t, "p1")
	q := newQueue(t, db, queue.Config{Workers: 1, Handoff: true})
	q.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error { return nil }})
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, q)
	h := reserve(t, q, "p1")
	boom := errors.New("boom")
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		if _, err := q.EnqueueClaimed(context.Background(), tx, queue.NewJob{ProjectID: "p1", Kind: "k"}, h); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	h.Release()
	h.Start() // after Release: nothing
	if st, _ := q.Stats(context.Background()); st.Queued != 0 || st.Running != 0 {
		t.Fatalf("a rolled-back hand-off left a job: %+v", st)
	}
	reserve(t, q, "p1").Release() // the worker is free again
}

// A hand-off never overtakes a job that waits in the queue, and never
// takes a project past its limit.
func TestHandoffKeepsOrderAndProjectLimit(t *testing.T) {
	db := openSQLite(t, "p1", "p2")
	q := startHeld(t, db, queue.Config{Workers: 3, ProjectLimit: 1, Handoff: true})
	a := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k", Ref: "a"})
	waitState(t, q, a, queue.Running)
	// p1 is at its limit: no hand-off for it, whatever the free workers.
	h := reserve(t, q, "p2")
	if q.Reserve("p1") != nil {
		t.Fatal("a hand-off past p1's project limit")
	}
	h.Release()
	// A job enqueued the ordinary way waits for the fetcher: until it has
	// been claimed, no hand-off jumps ahead of it. Inside this transaction
	// the fetcher cannot claim it (the write lock is ours).
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		if _, err := q.Enqueue(context.Background(), tx, queue.NewJob{ProjectID: "p2", Kind: "k", Ref: "queued"}); err != nil {
			return err
		}
		if q.Reserve("p2") != nil {
			return errors.New("a hand-off overtook a queued job")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A job enqueued the ordinary way keeps a free worker of its own for the
// fetcher, but does not stop hand-offs while more workers are free: a
// steady stream of starts then keeps being handed off instead of all going
// through the fetcher. The worker the waiting job needs is never handed
// off. (The count of waiting jobs may be one too high for a moment, when a
// job was enqueued while a claim began; hence "at least one" below.)
func TestHandoffLeavesAWorkerForEveryWaitingJob(t *testing.T) {
	const workers = 4
	db := openSQLite(t, "p1")
	q := startHeld(t, db, queue.Config{Workers: workers, ProjectLimit: -1, Handoff: true})
	a := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k", Ref: "a"})
	waitState(t, q, a, queue.Running)
	reserve(t, q, "p1").Release() // a claim came up short since: the waiting jobs are counted
	var queued int64
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		// It waits: the fetcher cannot claim it inside this transaction.
		if queued, err = q.Enqueue(context.Background(), tx, queue.NewJob{ProjectID: "p1", Kind: "k", Ref: "queued"}); err != nil {
			return err
		}
		var held []*queue.Handoff
		defer func() {
			for _, h := range held {
				h.Release()
			}
		}()
		for h := q.Reserve("p1"); h != nil; h = q.Reserve("p1") {
			held = append(held, h)
		}
		// a runs and "queued" needs a worker: at most workers-2 are handed off.
		if len(held) == 0 || len(held) > workers-2 {
			return fmt.Errorf("%d hand-offs with a job running and one waiting among %d workers, want 1 to %d", len(held), workers, workers-2)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, q, queued, queue.Running) // the waiting job got its worker
}
