package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
)

// Runs whose worker dies: resumed by the next engine where they stopped, or,
// when their job gives up, failed with the running node marked interrupted.

// TestResumeAfterCrash: an engine is stopped while the second node of a
// chain runs (its lease handed back, as after SIGTERM) or simply abandoned
// (as after kill -9: the owner is gone); a new engine on the same database
// finishes the run and the first node never runs again.
func TestResumeAfterCrash(t *testing.T) {
	for _, mode := range []string{"stop", "abandon"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, "p1")
			e.tt.started = make(chan string, 10)
			e.tt.release = make(chan struct{})
			e.wfs.put("p1", &flow.Workflow{ID: "wf", Nodes: []flow.Node{{ID: "first", Tool: "log", Params: map[string]any{"message": "once"}}, {ID: "second", Tool: "gate"}, {ID: "third", Tool: "echo", Params: map[string]any{"from": "{{ nodes.first.output.message }}"}}},
				Edges: []flow.Edge{{Source: "first", Target: "second"}, {Source: "second", Target: "third"}}})
			ctx := context.Background()
			dead := ""
			en1 := e.engine(engine.Config{Queue: queue.Config{StopGrace: 10 * time.Millisecond}})
			if err := en1.Start(ctx); err != nil {
				t.Fatal(err)
			}
			r, err := en1.StartRun(ctx, "p1", "wf", nil)
			if err != nil {
				t.Fatal(err)
			}
			<-e.tt.started // second is running, first is checkpointed
			if mode == "abandon" {
				// Freeze the old worker: take its job's lease away as a
				// process death would (its owner is declared dead to the
				// new engine), and stop its goroutines afterwards.
				dead = en1.Queue().Owner()
			}
			if mode == "stop" {
				stopEngine(t, en1)
			}
			en2 := e.engine(engine.Config{Queue: queue.Config{OwnerAlive: func(o string) bool { return o != dead }}})
			if err := en2.Start(ctx); err != nil {
				t.Fatal(err)
			}
			// The resumed run reaches the gate again.
			<-e.tt.started
			close(e.tt.release)
			got := wait(t, en2, r.ID)
			if mode == "abandon" {
				stopEngine(t, en1) // its zombie step is fenced off
			}
			stopEngine(t, en2)
			if got.Status != flow.RunSucceeded {
				t.Fatalf("run %+v", got)
			}
			if n := e.tt.invocations(r.ID, "first"); n != 1 {
				t.Fatalf("first ran %d times", n)
			}
			if n := e.tt.invocations(r.ID, "second"); n != 2 {
				t.Fatalf("second ran %d times", n)
			}
			if string(node(got, "third").Output) != `{"from":"once"}` {
				t.Fatalf("third output %s", node(got, "third").Output)
			}
			ts := types(runEvents(t, e.db, "p1", r.ID))
			if strings.Count(ts, "node.completed:first") != 1 || strings.Count(ts, "run.completed") != 1 || strings.Count(ts, "node.completed:second") != 1 {
				t.Fatalf("events %s", ts)
			}
		})
	}
}

// A run that gives up while a node was running (its worker died one time
// too many) does not show that node as canceled: nobody canceled it, and
// whether it finished is unknown, so it is failed with that said.
func TestGivingUpFailsRunningNodeAsInterrupted(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", chain("wf", "log", "log"))
	en := e.engine(engine.Config{Queue: queue.Config{MaxCrashes: 1, OwnerAlive: func(o string) bool { return o != goneWorker }}})
	ctx := context.Background()
	r := startClaimedByGoneWorker(t, en)
	if err := e.db.Write(ctx, func(tx *store.Tx) error { return tx.StartNode(ctx, r.ID, "n1", 1) }); err != nil {
		t.Fatal(err)
	}
	start(t, en)
	got, err := en.Run(ctx, "p1", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	n1, n2 := node(got, "n1"), node(got, "n2")
	if got.Status != flow.RunFailed || n1.Status != flow.NodeFailed || !strings.Contains(n1.Error, "interrupted, outcome unknown") || n2.Status != flow.NodeSkipped {
		t.Fatalf("run %s %q; n1 %s %q; n2 %s", got.Status, got.Error, n1.Status, n1.Error, n2.Status)
	}
	if ts := types(runEvents(t, e.db, "p1", r.ID)); ts != "run.queued node.failed:n1 run.failed" {
		t.Fatal(ts)
	}
}

// TestRunFailsWhenItsJobDies: a run whose job gives up (here: its worker
// died and the crash limit is 1) ends failed, in the transaction that
// buries the job, and the dead job is listed. Its node never started: it
// is skipped, not canceled (nobody canceled anything).
func TestRunFailsWhenItsJobDies(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", chain("wf", "log"))
	en := e.engine(engine.Config{MaxAttempts: 1, Queue: queue.Config{MaxCrashes: 1, OwnerAlive: func(o string) bool { return o != goneWorker }}})
	ctx := context.Background()
	r := startClaimedByGoneWorker(t, en)
	start(t, en) // the rescuer buries the job: no attempts left
	got, err := en.Run(ctx, "p1", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != flow.RunFailed || !strings.Contains(got.Error, "gone") || node(got, "n1").Status != flow.NodeSkipped {
		t.Fatalf("run %+v", got)
	}
	dead, err := en.Queue().List(ctx, queue.Filter{State: queue.Dead})
	if err != nil || len(dead) != 1 || dead[0].Ref != r.ID {
		t.Fatalf("dead jobs %+v %v", dead, err)
	}
	st, _ := en.QueueStats(ctx)
	if st.Dead != 1 {
		t.Fatalf("stats %+v", st)
	}
	if ts := types(runEvents(t, e.db, "p1", r.ID)); ts != "run.queued run.failed" {
		t.Fatal(ts)
	}
	if e.tt.invocations(r.ID, "n1") != 0 {
		t.Fatal("node of a dead run ran")
	}
}

// goneWorker is a worker whose process the tests' OwnerAlive says is dead.
const goneWorker = "elsewhere/1/gone"

// startClaimedByGoneWorker starts a run of wf in p1 (before en is started)
// and claims its job as goneWorker, so that when en starts it finds the
// job held by a crashed worker.
func startClaimedByGoneWorker(t *testing.T, en *engine.Engine) *flow.Run {
	t.Helper()
	ctx := context.Background()
	r, err := en.StartRun(ctx, "p1", "wf", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if c, err := en.Queue().Store().Claim(ctx, goneWorker, 1, now, now.Add(time.Hour), 0); err != nil || len(c) != 1 {
		t.Fatalf("claim %v %v", c, err)
	}
	return r
}
