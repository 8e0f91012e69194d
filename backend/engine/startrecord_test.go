package engine_test

import (
	"context"
	"encoding/json"
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

// A node that writes on its own while it runs (a forEach creating child
// runs and reporting progress) has its start written first, even when the
// start record could wait (an hour here): every event of a node comes
// after its node.started.
func TestNodeEventsFollowItsStart(t *testing.T) {
	e := newEnv(t, "p1")
	items := forEachWorkflows(e, 5, 1, "echo")
	en := e.engine(engine.Config{StartRecordDelay: time.Hour})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "loop", map[string]any{"items": items})
	if err != nil {
		t.Fatal(err)
	}
	if got := wait(t, en, r.ID); got.Status != flow.RunSucceeded {
		t.Fatalf("run %+v", got)
	}
	evs, err := e.db.EventsSince(context.Background(), "p1", 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	started := -1
	for i, ev := range evs {
		var p struct{ RunID, NodeID, ParentRunID string }
		_ = json.Unmarshal(ev.Payload, &p)
		switch {
		case ev.Type == flow.EventNodeStarted && p.RunID == r.ID && p.NodeID == "each":
			started = i
		case ev.Type == flow.EventRunQueued && p.ParentRunID == r.ID, ev.Type == engine.EventNodeProgress && p.RunID == r.ID:
			if started < 0 {
				t.Fatalf("%s (event %d) before node.started of the forEach", ev.Type, i)
			}
		}
	}
	if started < 0 {
		t.Fatal("no node.started for the forEach")
	}
}
