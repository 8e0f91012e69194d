package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/tools"
)

// probeTools adds "probe" to the test tools: a tool that is not
// self-contained and records, when it runs, the committed status of the
// node named by its "of" param.
type probeTools struct {
	*testTools
	db   *store.DB
	mu   sync.Mutex
	seen map[string]flow.NodeStatus // run/node -> status of "of" when it ran
}

func (p *probeTools) Run(ctx context.Context, name string, call tools.Call) (any, error) {
	if name != "probe" {
		return p.testTools.Run(ctx, name, call)
	}
	p.count(call)
	of, _ := call.Params["of"].(string)
	r, err := p.db.GetRun(ctx, "", call.RunID)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range r.Nodes {
		if n.NodeID == of {
			p.seen[call.RunID+"/"+call.NodeID] = n.Status
		}
	}
	return "probed", nil
}

// A self-contained node (log) starts as soon as its upstream node ended,
// without waiting for that end's commit; a node that is not (probe) still
// waits, and sees its upstream checkpoints committed when it runs.
func TestSelfContainedNodeStartsBeforeItsUpstreamCommits(t *testing.T) {
	e := newEnv(t, "p1")
	holdsTheWriter(t, e.db)
	e.tt.started = make(chan string, 1)
	e.tt.release = make(chan struct{})
	e.wfs.put("p1", &flow.Workflow{ID: "wf", Nodes: []flow.Node{
		{ID: "a", Tool: "gate"},
		{ID: "b", Tool: "log", Params: map[string]any{"message": "early"}},
		{ID: "c", Tool: "probe", Params: map[string]any{"of": "b"}},
	}, Edges: []flow.Edge{{Source: "a", Target: "b"}, {Source: "b", Target: "c"}}})
	pt := &probeTools{testTools: e.tt, db: e.db, seen: map[string]flow.NodeStatus{}}
	en, err := engine.New(engine.Config{DB: e.db, Tools: pt, Workflows: e.wfs, Queue: queue.Config{PollInterval: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	start(t, en)
	ctx := context.Background()
	r, err := en.StartRun(ctx, "p1", "wf", nil)
	if err != nil {
		t.Fatal(err)
	}
	<-e.tt.started // a runs

	// Hold the database's single writer: nothing commits until unhold.
	held, unhold, written := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		written <- e.db.Write(ctx, func(*store.Tx) error {
			close(held)
			<-unhold
			return nil
		})
	}()
	<-held
	close(e.tt.release) // a ends; its step waits for the writer
	for deadline := time.Now().Add(30 * time.Second); e.tt.invocations(r.ID, "b") == 0; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			close(unhold)
			t.Fatal("the log node did not run while its upstream's end waited to be committed")
		}
	}
	if n := e.tt.invocations(r.ID, "c"); n != 0 {
		t.Errorf("the probe ran %d times before its upstream's end was committed", n)
	}
	close(unhold)
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	got := wait(t, en, r.ID)
	if got.Status != flow.RunSucceeded {
		t.Fatalf("run %+v", got)
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if st := pt.seen[r.ID+"/c"]; st != flow.NodeSucceeded {
		t.Fatalf("the probe saw its upstream node b %q in the database, want it committed as succeeded", st)
	}
	want := "run.queued run.started node.started:a node.completed:a node.started:b node.log:b node.completed:b node.started:c node.completed:c run.completed"
	if ts := types(runEvents(t, e.db, "p1", r.ID)); ts != want {
		t.Fatalf("events\n got %s\nwant %s", ts, want)
	}
}

// Nothing of a node that started early becomes durable unless its
// upstream's step commits: here the job's claim is taken over (another
// worker's attempt) while the upstream's end waits for the writer, so
// that step is fenced off, and so is every later step of the run: the
// early node ran, but none of its events or its checkpoint are written.
func TestEarlyNodeLeavesNothingWhenItsUpstreamStepIsFenced(t *testing.T) {
	e := newEnv(t, "p1")
	holdsTheWriter(t, e.db)
	e.tt.started = make(chan string, 1)
	e.tt.release = make(chan struct{})
	e.wfs.put("p1", &flow.Workflow{ID: "wf", Nodes: []flow.Node{
		{ID: "a", Tool: "gate"},
		{ID: "b", Tool: "log", Params: map[string]any{"message": "early"}},
		{ID: "c", Tool: "log", Params: map[string]any{"message": "later"}},
	}, Edges: []flow.Edge{{Source: "a", Target: "b"}, {Source: "b", Target: "c"}}})
	en := e.engine(engine.Config{StartRecordDelay: -1}) // a's start is committed before it runs
	start(t, en)
	ctx := context.Background()
	r, err := en.StartRun(ctx, "p1", "wf", nil)
	if err != nil {
		t.Fatal(err)
	}
	<-e.tt.started
	for deadline := time.Now().Add(30 * time.Second); types(runEvents(t, e.db, "p1", r.ID)) != "run.queued run.started node.started:a"; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the gated node's start was not committed")
		}
	}
	held, unhold, written := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		written <- e.db.Write(ctx, func(tx *store.Tx) error {
			close(held)
			<-unhold
			// Another process's worker has the job now.
			_, err := tx.ExecContext(ctx, "UPDATE jobs SET attempt = attempt + 1, owner = 'elsewhere/1/zombie' WHERE ref = ?", r.ID)
			return err
		})
	}()
	<-held
	close(e.tt.release)
	for deadline := time.Now().Add(30 * time.Second); e.tt.invocations(r.ID, "b") == 0; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			close(unhold)
			t.Fatal("the log node did not start early")
		}
	}
	close(unhold)
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		st, err := en.QueueStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.BusyWorkers == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the fenced execution did not end")
		}
	}
	if ts := types(runEvents(t, e.db, "p1", r.ID)); ts != "run.queued run.started node.started:a" {
		t.Fatalf("events after the fenced steps: %s", ts)
	}
	got, err := en.Run(ctx, "p1", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := node(got, "a"), node(got, "b"); a.Status != flow.NodeRunning || b.Status != flow.NodePending {
		t.Fatalf("checkpoints after the fenced steps: a %s, b %s; want running, pending", a.Status, b.Status)
	}
}

// holdsTheWriter skips a test that holds SQLite's single writer to keep
// steps from committing: PostgreSQL's transactions do not wait for it.
func holdsTheWriter(t *testing.T, db *store.DB) {
	t.Helper()
	if db.Dialect() != store.SQLite {
		t.Skip("holds the single SQLite writer; PostgreSQL transactions do not wait for it")
	}
}
