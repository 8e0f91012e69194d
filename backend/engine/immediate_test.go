package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/tools"
)

// immediateEngine is an engine with the real built-in tools and a shared
// workflow source, as the daemon builds it: runs of instant nodes may be
// immediate.
func immediateEngine(t *testing.T, e *env, wf *flow.Workflow, cfg engine.Config) (*engine.Engine, *sharedWorkflows) {
	t.Helper()
	src := &sharedWorkflows{}
	src.set(decodedLikeAFile(t, wf))
	cfg.DB, cfg.Tools, cfg.Workflows = e.db, tools.NewRegistry(tools.Options{}), src
	en, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start(t, en)
	// Until the queue's first claim came up short, a hand-off (and so an
	// immediate run) could overtake a job waiting from before: a first run
	// settles that, as it does in a server that has been up for a moment.
	r, err := en.StartRun(context.Background(), "p", wf.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, en, r.ID)
	return en, src
}

// instantWorkflow logs, transforms, branches on the result and logs on the
// branch taken: every node instant.
func instantWorkflow() *flow.Workflow {
	return &flow.Workflow{ID: "w", Name: "w", Nodes: []flow.Node{
		{ID: "a", Tool: "log", Params: map[string]any{"message": "hello {{ inputs.who }}"}},
		{ID: "b", Tool: "transform", Params: map[string]any{"expression": `nodes.a.output.message + "!"`}},
		{ID: "c", Tool: "if", Params: map[string]any{"condition": `nodes.b.output == "hello world!"`}},
		{ID: "yes", Tool: "log", Params: map[string]any{"message": "{{ nodes.b.output }}"}},
		{ID: "no", Tool: "log", Params: map[string]any{"message": "not taken"}},
	}, Edges: []flow.Edge{
		{Source: "a", Target: "b"}, {Source: "b", Target: "c"},
		{Source: "c", Target: "yes", On: "true"}, {Source: "c", Target: "no", On: "false"},
	}}
}

// ended reads run id right after its start: on SQLite a run of instant
// nodes has ended by then (it is immediate). On PostgreSQL, where runs may
// be taken by any node of a cluster, no run is immediate (there is no
// hand-off): it is waited for, and must end the same way.
func ended(t *testing.T, e *env, en *engine.Engine, id string) *store.RunRow {
	t.Helper()
	if e.db.Dialect() != store.SQLite {
		wait(t, en, id)
	}
	row, err := e.db.GetRun(context.Background(), "p", id)
	if err != nil {
		t.Fatal(err)
	}
	if e.db.Dialect() == store.SQLite && row.JobID != 0 {
		t.Fatalf("run %s has job %d: it was not immediate", id, row.JobID)
	}
	return row
}

// count counts the events of each type ("node.completed:b") in evs.
func count(evs []flow.Event) map[string]int {
	out := map[string]int{}
	for _, s := range strings.Fields(types(evs)) {
		out[s]++
	}
	return out
}

// A run of instant nodes has ended, with every checkpoint and every event,
// when StartRun returns: it was executed before its start committed and
// written in that transaction, without a queue job. The answer still says
// queued, the status the run was accepted with.
func TestInstantRunIsWrittenWholeWithItsStart(t *testing.T) {
	e := newEnv(t, "p")
	en, _ := immediateEngine(t, e, instantWorkflow(), engine.Config{ImmediateBudget: time.Minute}) // not timed: a busy machine must not fall back
	ctx := context.Background()
	r, err := en.StartRun(ctx, "p", "w", map[string]any{"who": "world"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != flow.RunQueued || r.CreatedAt.IsZero() {
		t.Fatalf("start answered %s created %v, want queued with its creation time", r.Status, r.CreatedAt)
	}
	row := ended(t, e, en, r.ID) // on SQLite no wait: it committed before StartRun returned
	if row.Status != flow.RunSucceeded || row.StartedAt == nil || row.FinishedAt == nil || row.FinishedAt.Before(*row.StartedAt) {
		t.Fatalf("run right after its start: %s job %d started %v finished %v", row.Status, row.JobID, row.StartedAt, row.FinishedAt)
	}
	want := map[string]flow.NodeStatus{"a": flow.NodeSucceeded, "b": flow.NodeSucceeded, "c": flow.NodeSucceeded, "yes": flow.NodeSucceeded, "no": flow.NodeSkipped}
	for _, n := range row.Nodes {
		if n.Status != want[n.NodeID] {
			t.Errorf("node %s: %s, want %s", n.NodeID, n.Status, want[n.NodeID])
		}
		if n.Status == flow.NodeSucceeded && (n.Attempt != 1 || n.StartedAt == nil || n.FinishedAt == nil) {
			t.Errorf("node %s: attempt %d started %v finished %v", n.NodeID, n.Attempt, n.StartedAt, n.FinishedAt)
		}
		if n.Status == flow.NodeSkipped && n.FinishedAt == nil {
			t.Errorf("skipped node %s has no end time", n.NodeID)
		}
	}
	if got := string(node(&row.Run, "yes").Output); got != `{"message":"hello world!"}` {
		t.Errorf("output of yes = %s", got)
	}
	got := types(runEvents(t, e.db, "p", r.ID))
	wantEvents := "run.queued run.started node.started:a node.log:a node.completed:a node.started:b node.completed:b " +
		"node.started:c node.completed:c node.skipped:no node.started:yes node.log:yes node.completed:yes run.completed"
	if got != wantEvents {
		t.Errorf("events:\n got %s\nwant %s", got, wantEvents)
	}
	jobs, err := en.Queue().List(ctx, queue.Filter{ProjectID: "p"})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Ref == r.ID && e.db.Dialect() == store.SQLite {
			t.Errorf("an immediate run has a queue job: %+v", j)
		}
	}
}

// A failing instant node fails an immediate run like a worker's run
// fails: the node records its error, its downstream nodes are skipped; a
// failure edge handles it and the run succeeds.
func TestInstantRunRecordsFailuresAndTheirHandlers(t *testing.T) {
	e := newEnv(t, "p")
	wf := &flow.Workflow{ID: "w", Name: "w", Nodes: []flow.Node{
		{ID: "bad", Tool: "transform", Params: map[string]any{"expression": `nosuch.field +`}},
		{ID: "after", Tool: "log", Params: map[string]any{"message": "never"}},
	}, Edges: []flow.Edge{{Source: "bad", Target: "after"}}}
	en, src := immediateEngine(t, e, wf, engine.Config{ImmediateBudget: time.Minute})
	ctx := context.Background()
	r, err := en.StartRun(ctx, "p", "w", nil)
	if err != nil {
		t.Fatal(err)
	}
	row := ended(t, e, en, r.ID)
	if row.Status != flow.RunFailed || !strings.Contains(row.Error, "node bad") {
		t.Fatalf("run: %s %q, want failed by node bad", row.Status, row.Error)
	}
	if n := node(&row.Run, "bad"); n.Status != flow.NodeFailed || n.Error == "" || n.Attempt != 1 {
		t.Errorf("bad: %+v", n)
	}
	if n := node(&row.Run, "after"); n.Status != flow.NodeSkipped {
		t.Errorf("after: %s, want skipped", n.Status)
	}
	if c := count(runEvents(t, e.db, "p", r.ID)); c["node.failed:bad"] != 1 || c["node.skipped:after"] != 1 || c["run.failed"] != 1 {
		t.Errorf("events: %v", c)
	}

	wf.Nodes = append(wf.Nodes, flow.Node{ID: "handler", Tool: "log", Params: map[string]any{"message": "{{ nodes.bad.error }}"}})
	wf.Edges = append(wf.Edges, flow.Edge{Source: "bad", Target: "handler", On: flow.EdgeFailure})
	src.set(decodedLikeAFile(t, wf))
	r, err = en.StartRun(ctx, "p", "w", nil)
	if err != nil {
		t.Fatal(err)
	}
	row = ended(t, e, en, r.ID)
	if row.Status != flow.RunSucceeded || node(&row.Run, "handler").Status != flow.NodeSucceeded {
		t.Fatalf("handled failure: run %s %q, handler %s", row.Status, row.Error, node(&row.Run, "handler").Status)
	}
}

// A run that cannot end within the budget is dropped without a trace and
// started on a worker from the beginning: every event exactly once.
func TestInstantRunOverItsBudgetRunsOnAWorker(t *testing.T) {
	e := newEnv(t, "p")
	en, _ := immediateEngine(t, e, instantWorkflow(), engine.Config{ImmediateBudget: time.Nanosecond})
	ctx := context.Background()
	r, err := en.StartRun(ctx, "p", "w", map[string]any{"who": "world"})
	if err != nil {
		t.Fatal(err)
	}
	row, err := e.db.GetRun(ctx, "p", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.JobID == 0 {
		t.Fatal("the run has no job: it was not started on a worker")
	}
	if done := wait(t, en, r.ID); done.Status != flow.RunSucceeded {
		t.Fatalf("run %s: %s", done.Status, done.Error)
	}
	c := count(runEvents(t, e.db, "p", r.ID))
	for _, ev := range []string{"run.queued", "run.started", "node.started:a", "node.log:a", "node.completed:a", "node.completed:yes", "node.skipped:no", "run.completed"} {
		if c[ev] != 1 {
			t.Errorf("%s %d times, want once (all: %v)", ev, c[ev], c)
		}
	}
}

// Only runs of instant nodes with a free worker are immediate: a delay
// node waits, so its run is queued; and with the only worker busy, a run
// of instant nodes waits in the queue for it like any other.
func TestRunsThatMustWaitAreQueued(t *testing.T) {
	e := newEnv(t, "p")
	en, src := immediateEngine(t, e, instantWorkflow(), engine.Config{ImmediateBudget: time.Minute, Queue: queue.Config{Workers: 1, PollInterval: 20 * time.Millisecond}})
	ctx := context.Background()
	src.set(decodedLikeAFile(t, &flow.Workflow{ID: "w", Name: "w", Nodes: []flow.Node{{ID: "d", Tool: "delay", Params: map[string]any{"ms": 60000}}}}))
	slow, err := en.StartRun(ctx, "p", "w", nil)
	if err != nil {
		t.Fatal(err)
	}
	if row, err := e.db.GetRun(ctx, "p", slow.ID); err != nil || row.JobID == 0 {
		t.Fatalf("a delay run has no job (err %v): it was not queued", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := en.QueueStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.BusyWorkers == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delay run never took the worker")
		}
		time.Sleep(5 * time.Millisecond)
	}
	src.set(decodedLikeAFile(t, instantWorkflow()))
	r, err := en.StartRun(ctx, "p", "w", map[string]any{"who": "world"})
	if err != nil {
		t.Fatal(err)
	}
	row, err := e.db.GetRun(ctx, "p", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.Status != flow.RunQueued || row.JobID == 0 {
		t.Fatalf("with the worker busy the run is %s with job %d, want queued with a job", row.Status, row.JobID)
	}
	if err := en.CancelRun(ctx, "p", slow.ID); err != nil {
		t.Fatal(err)
	}
	if done := wait(t, en, r.ID); done.Status != flow.RunSucceeded {
		t.Fatalf("queued run: %s %s", done.Status, done.Error)
	}
}

// A caller that went away before its run of instant nodes was executed
// starts nothing: the start fails and no trace of the run is written.
func TestInstantRunOfAGoneCallerWritesNothing(t *testing.T) {
	e := newEnv(t, "p")
	en, _ := immediateEngine(t, e, instantWorkflow(), engine.Config{ImmediateBudget: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, startErr := en.StartRun(ctx, "p", "w", map[string]any{"who": "world"})
	if startErr == nil && e.db.Dialect() == store.SQLite {
		t.Fatal("a start whose caller was gone was accepted")
	}
	page, err := e.db.ListRuns(context.Background(), flow.RunFilter{ProjectID: "p", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	// PostgreSQL has no immediate runs: an ordinary start may commit before
	// anything looks at ctx. Either way, a run exists exactly when its start
	// was accepted.
	want := 1 // the warm-up run
	if startErr == nil {
		want = 2
	}
	if len(page.Runs) != want {
		t.Fatalf("%d runs after a start that returned %v, want %d", len(page.Runs), startErr, want)
	}
}

// Nothing flushes an immediate run's log lines while its nodes run, so a
// node may log more lines than a run's buffer holds without waiting for a
// flush that would never come: every line is recorded, in order.
func TestInstantRunLogsMoreLinesThanItsBuffer(t *testing.T) {
	e := newEnv(t, "p")
	wf := &flow.Workflow{ID: "w", Name: "w", Nodes: []flow.Node{
		{ID: "a", Tool: "log", Params: map[string]any{"message": "1\n2\n3\n4\n5"}},
	}}
	en, _ := immediateEngine(t, e, wf, engine.Config{ImmediateBudget: time.Minute, LogBatchLines: 2, LogBufferLines: 2})
	r, err := en.StartRun(context.Background(), "p", "w", nil)
	if err != nil {
		t.Fatal(err)
	}
	if row := ended(t, e, en, r.ID); row.Status != flow.RunSucceeded {
		t.Fatalf("run: %s %s", row.Status, row.Error)
	}
	var lines []string
	for _, ev := range runEvents(t, e.db, "p", r.ID) {
		if ev.Type == flow.EventNodeLog {
			var p struct{ Lines []string }
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, p.Lines...)
		}
	}
	if got := strings.Join(lines, ","); got != "1,2,3,4,5" {
		t.Fatalf("logged lines %q, want 1,2,3,4,5", got)
	}
}
