package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// TestConcurrentAppendEventsAreEachCommittedOnReturn: many concurrent
// appends (as from concurrent REST notifications) share transactions, yet
// each returns only once its own event is committed: it is readable at
// once, with a distinct seq, and seqs are gap-free. An event for a missing
// project fails alone; the events batched with it still commit.
func TestConcurrentAppendEventsAreEachCommittedOnReturn(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, testDSN(t), Options{})
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p1", Path: "/p1"}); err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	seqs := make([]int64, n)
	errs := make([]error, n)
	var badErr error
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == n/2 {
				ev := flow.NewEvent("no-such-project", flow.EventNotification, "", "", map[string]any{"message": "lost"})
				badErr = db.AppendEvent(ctx, &ev)
			}
			ev := flow.NewEvent("p1", flow.EventNotification, "", "", map[string]any{"message": "m", "i": i})
			if errs[i] = db.AppendEvent(ctx, &ev); errs[i] != nil {
				return
			}
			seqs[i] = ev.Seq
			got, err := db.EventsAfter(ctx, "p1", "project:p1", ev.Seq-1, 1)
			if err != nil || len(got) != 1 || got[0].Seq != ev.Seq {
				errs[i] = err
				if err == nil {
					t.Errorf("event %d (seq %d) not readable after AppendEvent returned: %v", i, ev.Seq, got)
				}
			}
		}()
	}
	wg.Wait()
	if badErr == nil {
		t.Error("an event for a missing project was accepted")
	}
	seen := map[int64]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if seen[seqs[i]] {
			t.Fatalf("seq %d given twice", seqs[i])
		}
		seen[seqs[i]] = true
	}
	all, err := db.EventsAfter(ctx, "p1", "project:p1", 0, 10*n)
	if err != nil {
		t.Fatal(err)
	}
	var notes []int64
	for _, ev := range all {
		if ev.Type == flow.EventNotification {
			notes = append(notes, ev.Seq)
		}
	}
	if len(notes) != n {
		t.Fatalf("%d notifications stored, want %d", len(notes), n)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq != all[i-1].Seq+1 {
			t.Fatalf("seq gap: %d then %d", all[i-1].Seq, all[i].Seq)
		}
	}
}

// TestAppendEventCanceledContextWritesNothing: a request that is already
// gone does not queue its event.
func TestAppendEventCanceledContextWritesNothing(t *testing.T) {
	db := openTest(t, testDSN(t), Options{})
	if err := db.CreateProject(context.Background(), &flow.Project{ID: "p1", Name: "p1", Path: "/p1"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ev := flow.NewEvent("p1", flow.EventNotification, "", "", map[string]any{"message": "m"})
	if err := db.AppendEvent(ctx, &ev); err == nil {
		t.Fatal("AppendEvent with a canceled context succeeded")
	}
	got, err := db.EventsAfter(context.Background(), "p1", "project:p1", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range got {
		if e.Type == flow.EventNotification {
			t.Fatalf("event written: %+v", e)
		}
	}
}

// The committer runs while appends come, exits once idle for eventLinger,
// is started again by the next append, and Close stops it after what is
// pending is committed: no goroutine is left behind, and an append after
// Close fails instead of waiting for a committer that is gone.
func TestAppendEventCommitterLingersAndStops(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, testDSN(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p1", Path: "/p1"}); err != nil {
		t.Fatal(err)
	}
	running := func() bool {
		db.events.mu.Lock()
		defer db.events.mu.Unlock()
		return db.events.running
	}
	appendOne := func() error {
		ev := flow.NewEvent("p1", flow.EventNotification, "", "", map[string]any{"message": "m"})
		return db.AppendEvent(ctx, &ev)
	}
	for round := range 2 {
		if err := appendOne(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		deadline := time.Now().Add(time.Minute) // a hang guard, not a timing assertion
		for running() {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the committer is still running a minute after the last append", round)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { errs[i] = appendOne() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if running() {
		t.Fatal("the committer runs after Close")
	}
	if err := appendOne(); err == nil {
		t.Fatal("an append after Close succeeded")
	}
}

// BenchmarkAppendEventConcurrent: 16 goroutines appending single events,
// as 16 REST publishers do at fan-out saturation.
func BenchmarkAppendEventConcurrent(b *testing.B) {
	ctx := context.Background()
	db := openTest(b, filepath.Join(b.TempDir(), "fw.db"), Options{})
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p1", Path: "/p1"}); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8) // 8 × GOMAXPROCS(2) = 16 publishers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ev := flow.NewEvent("p1", flow.EventNotification, "", "", map[string]any{"level": "info", "message": "m"})
			if err := db.AppendEvent(ctx, &ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
