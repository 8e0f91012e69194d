package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// A quick node's start is written with its end (one step), and what is
// recorded is the same as when starts are written at once: the run and
// the node have started_at, the events keep their order.
func TestQuickNodeStartWrittenWithItsEnd(t *testing.T) {
	for _, delay := range []time.Duration{time.Hour, -1} { // always merged; never merged
		e := newEnv(t, "p1")
		e.wfs.put("p1", chain("wf", "log", "log"))
		en := e.engine(engine.Config{StartRecordDelay: delay})
		start(t, en)
		r, err := en.StartRun(context.Background(), "p1", "wf", nil)
		if err != nil {
			t.Fatal(err)
		}
		got := wait(t, en, r.ID)
		if got.Status != flow.RunSucceeded || got.StartedAt == nil || got.FinishedAt == nil || got.StartedAt.After(*got.FinishedAt) {
			t.Fatalf("delay %s: run %+v", delay, got)
		}
		for _, id := range []string{"n1", "n2"} {
			n := node(got, id)
			if n.Status != flow.NodeSucceeded || n.Attempt != 1 || n.StartedAt == nil || n.FinishedAt == nil || n.StartedAt.After(*n.FinishedAt) {
				t.Fatalf("delay %s: node %s %+v", delay, id, n)
			}
		}
		want := "run.queued run.started node.started:n1 node.log:n1 node.completed:n1 node.started:n2 node.log:n2 node.completed:n2 run.completed"
		if ts := types(runEvents(t, e.db, "p1", r.ID)); ts != want {
			t.Fatalf("delay %s: events\n got %s\nwant %s", delay, ts, want)
		}
	}
}

// A node still running after the delay has its start written on its own:
// readers see the run and the node running before the node ends.
func TestLongNodeShowsRunningBeforeItEnds(t *testing.T) {
	e := newEnv(t, "p1")
	e.tt.started = make(chan string, 1)
	e.tt.release = make(chan struct{})
	e.wfs.put("p1", chain("wf", "gate"))
	en := e.engine(engine.Config{StartRecordDelay: 10 * time.Millisecond})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "wf", nil)
	if err != nil {
		t.Fatal(err)
	}
	<-e.tt.started
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got, err := en.Run(context.Background(), "p1", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == flow.RunRunning && node(got, "n1").Status == flow.NodeRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gated node is not recorded as running: run %s, node %+v", got.Status, node(got, "n1"))
		}
	}
	if ts := types(runEvents(t, e.db, "p1", r.ID)); ts != "run.queued run.started node.started:n1" {
		t.Fatalf("events while the node runs: %s", ts)
	}
	close(e.tt.release)
	if got := wait(t, en, r.ID); got.Status != flow.RunSucceeded {
		t.Fatalf("run %+v", got)
	}
}
