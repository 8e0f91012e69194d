package engine

import (
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
)

// TestBatchLeaderLingersBetweenStepsAndExitsOnWait: steps that follow each
// other closely are committed by one leader goroutine (a fresh one per
// step would grow its stack on the writer's critical path each time), and
// wait ends a lingering leader at once; a step after wait gets a new one.
func TestBatchLeaderLingersBetweenStepsAndExitsOnWait(t *testing.T) {
	db := storetest.Open(t, store.Options{})
	// A linger far longer than the test: consecutive steps meet the same
	// leader however slow the machine, and only wait can end it early (if
	// it did not, the test would hang until go test's timeout).
	b := &batcher{db: db, max: 8, linger: time.Hour}
	noop := func(*store.Tx) error { return nil }
	for i := 0; i < 5; i++ {
		if err := b.do(noop, true); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.leaders.Load(); n != 1 {
		t.Fatalf("%d leaders for 5 steps in a row, want 1", n)
	}
	b.wait() // returns although the leader would still linger
	b.mu.Lock()
	busy := b.busy
	b.mu.Unlock()
	if busy {
		t.Fatal("a leader is still running after wait")
	}
	if err := b.do(noop, true); err != nil {
		t.Fatal(err)
	}
	if n := b.leaders.Load(); n != 2 {
		t.Fatalf("%d leaders after a step that followed wait, want 2", n)
	}
	b.wait()
}
