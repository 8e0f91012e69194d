package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
	"github.com/flowweaver/flowweaver/backend/tools"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// workflows is an in-memory WorkflowSource.
type workflows struct {
	mu sync.Mutex
	m  map[string]*flow.Workflow
}

func (w *workflows) Get(ctx context.Context, projectID, id string) (*flow.Workflow, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wf, ok := w.m[projectID+"/"+id]
	if !ok {
		return nil, flow.Errorf(flow.ENOTFOUND, "workflow %q not found", id)
	}
	c := *wf
	return &c, nil
}

func (w *workflows) put(projectID string, wf *flow.Workflow) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string]*flow.Workflow{}
	}
	w.m[projectID+"/"+wf.ID] = wf
}

// testTools are tools for the engine tests; calls counts invocations per
// run/node so a test can prove a node never ran twice.
type testTools struct {
	calls   sync.Map // "run/node" -> *atomic.Int32
	started chan string
	release chan struct{}
}

func (tt *testTools) count(call tools.Call) int32 {
	v, _ := tt.calls.LoadOrStore(call.RunID+"/"+call.NodeID, new(atomic.Int32))
	return v.(*atomic.Int32).Add(1)
}

func (tt *testTools) invocations(runID, nodeID string) int32 {
	v, ok := tt.calls.Load(runID + "/" + nodeID)
	if !ok {
		return 0
	}
	return v.(*atomic.Int32).Load()
}

// SelfContained mirrors tools.Registry: like the built-in log tool, the
// test log tool only logs and outputs.
func (tt *testTools) SelfContained(name string) bool { return name == "log" }

func (tt *testTools) Run(ctx context.Context, name string, call tools.Call) (any, error) {
	n := tt.count(call)
	switch name {
	case "log":
		msg := fmt.Sprint(call.Params["message"])
		call.Log("stdout", msg)
		return map[string]any{"message": msg}, nil
	case "echo":
		return call.Params, nil
	case "lines":
		for i := 0; i < int(call.Params["n"].(float64)); i++ {
			stream := "stdout"
			if i%10 == 9 {
				stream = "stderr"
			}
			call.Log(stream, fmt.Sprintf("line %d", i))
		}
		return nil, nil
	case "fail":
		return nil, flow.Errorf(flow.EINVALID, "failed on purpose")
	case "flaky":
		if n <= int32(call.Params["failures"].(float64)) {
			return nil, fmt.Errorf("flaky attempt %d", n)
		}
		return n, nil
	case "block":
		if tt.started != nil {
			tt.started <- call.NodeID
		}
		<-ctx.Done()
		return nil, ctx.Err()
	case "gate":
		if tt.started != nil {
			tt.started <- call.NodeID
		}
		select {
		case <-tt.release:
			return "released", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case "sleep":
		select {
		case <-time.After(time.Duration(call.Params["ms"].(float64)) * time.Millisecond):
			return "slept", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case "panic":
		panic("tool exploded")
	}
	return nil, flow.Errorf(flow.ENOTFOUND, "unknown tool %q", name)
}

type env struct {
	t   *testing.T
	db  *store.DB
	wfs *workflows
	tt  *testTools
}

func newEnv(t *testing.T, projects ...string) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, store.Options{})
	for _, p := range projects {
		if err := db.CreateProject(ctx, &flow.Project{ID: p, Name: p, Path: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
	}
	return &env{t: t, db: db, wfs: &workflows{}, tt: &testTools{}}
}

func (e *env) engine(cfg engine.Config) *engine.Engine {
	e.t.Helper()
	cfg.DB, cfg.Tools, cfg.Workflows = e.db, e.tt, e.wfs
	if cfg.Queue.PollInterval == 0 {
		cfg.Queue.PollInterval = 20 * time.Millisecond
	}
	en, err := engine.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return en
}

func start(t *testing.T, en *engine.Engine) {
	t.Helper()
	if err := en.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopEngine(t, en) })
}

func stopEngine(t *testing.T, en *engine.Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := en.Stop(ctx); err != nil {
		t.Error(err)
	}
}

// wait polls a run until it is terminal (hang guard, not a timing test).
func wait(t *testing.T, en *engine.Engine, runID string) *flow.Run {
	t.Helper()
	return waitFor(t, en, runID, 60*time.Second)
}

// waitFor is wait with a longer hang guard (big loops under -race).
func waitFor(t *testing.T, en *engine.Engine, runID string, limit time.Duration) *flow.Run {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		r, err := en.Run(context.Background(), "", runID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Terminal() {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s stuck in %s: %+v", runID, r.Status, r.Nodes)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func node(r *flow.Run, id string) flow.NodeRun {
	for _, n := range r.Nodes {
		if n.NodeID == id {
			return n
		}
	}
	return flow.NodeRun{}
}

// runEvents returns the event types of a run's channel in seq order.
func runEvents(t *testing.T, db *store.DB, projectID, runID string) []flow.Event {
	t.Helper()
	evs, err := db.EventsAfter(context.Background(), projectID, "run:"+runID, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Fatalf("events out of order: %d after %d", evs[i].Seq, evs[i-1].Seq)
		}
	}
	return evs
}

func types(evs []flow.Event) string {
	var s []string
	for _, e := range evs {
		var p struct {
			NodeID string `json:"nodeId"`
		}
		_ = json.Unmarshal(e.Payload, &p)
		if p.NodeID != "" {
			s = append(s, e.Type+":"+p.NodeID)
		} else {
			s = append(s, e.Type)
		}
	}
	return strings.Join(s, " ")
}

func chain(id string, tools ...string) *flow.Workflow {
	wf := &flow.Workflow{ID: id, Name: id}
	for i, tool := range tools {
		wf.Nodes = append(wf.Nodes, flow.Node{ID: fmt.Sprintf("n%d", i+1), Tool: tool, Params: map[string]any{"message": fmt.Sprintf("hi %d", i+1)}})
		if i > 0 {
			wf.Edges = append(wf.Edges, flow.Edge{Source: fmt.Sprintf("n%d", i), Target: fmt.Sprintf("n%d", i+1)})
		}
	}
	return wf
}

func TestRunSucceedsWithOrderedEventsAndReferences(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", &flow.Workflow{ID: "wf", Name: "refs", Nodes: []flow.Node{
		{ID: "a", Tool: "log", Params: map[string]any{"message": "hello {{ inputs.who }}"}},
		{ID: "b", Tool: "echo", Params: map[string]any{
			"whole":  "{{ nodes.a.output }}",
			"n":      "{{ inputs.n * 2 }}",
			"text":   "n={{ inputs.n }} msg={{ nodes.a.output.message }}",
			"nested": map[string]any{"list": []any{"{{ inputs.who }}", 1}},
			"plain":  "no refs",
		}},
	}, Edges: []flow.Edge{{Source: "a", Target: "b"}}})
	en := e.engine(engine.Config{})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "wf", map[string]any{"who": "world", "n": 21})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != flow.RunQueued || r.ID == "" {
		t.Fatalf("%+v", r)
	}
	got := wait(t, en, r.ID)
	if got.Status != flow.RunSucceeded || got.StartedAt == nil || got.FinishedAt == nil {
		t.Fatalf("run %+v", got)
	}
	var out map[string]any
	if err := json.Unmarshal(node(got, "b").Output, &out); err != nil {
		t.Fatal(err)
	}
	want := `map[n:42 nested:map[list:[world 1]] plain:no refs text:n=21 msg=hello world whole:map[message:hello world]]`
	if fmt.Sprint(out) != want {
		t.Fatalf("resolved params\n got %v\nwant %s", out, want)
	}
	if n := node(got, "a"); n.Status != flow.NodeSucceeded || n.Attempt != 1 || n.StartedAt == nil {
		t.Fatalf("node a %+v", n)
	}
	evs := runEvents(t, e.db, "p1", r.ID)
	wantTypes := "run.queued run.started node.started:a node.log:a node.completed:a node.started:b node.completed:b run.completed"
	if types(evs) != wantTypes {
		t.Fatalf("events\n got %s\nwant %s", types(evs), wantTypes)
	}
	var logp struct {
		Stream string
		Lines  []string
	}
	_ = json.Unmarshal(evs[3].Payload, &logp)
	if logp.Stream != "stdout" || len(logp.Lines) != 1 || logp.Lines[0] != "hello world" {
		t.Fatalf("log event %s", evs[3].Payload)
	}
	// The project channel carries the run lifecycle only.
	pevs, _ := e.db.EventsAfter(context.Background(), "p1", "project:p1", 0, 100)
	if types(pevs) != "run.queued run.started run.completed" {
		t.Fatalf("project events %s", types(pevs))
	}
	page, err := en.ListRuns(context.Background(), flow.RunFilter{ProjectID: "p1", Status: flow.RunSucceeded})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].ID != r.ID {
		t.Fatalf("list %+v %v", page, err)
	}
}

func TestStartRunBadInput(t *testing.T) {
	e := newEnv(t, "p1")
	en := e.engine(engine.Config{})
	ctx := context.Background()
	if _, err := en.StartRun(ctx, "p1", "missing", nil); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("missing workflow: %v", err)
	}
	e.wfs.put("p1", &flow.Workflow{ID: "cyc", Nodes: []flow.Node{{ID: "a", Tool: "log"}, {ID: "b", Tool: "log"}},
		Edges: []flow.Edge{{Source: "a", Target: "b"}, {Source: "b", Target: "a"}, {Source: "a", Target: "zz"}}})
	_, err := en.StartRun(ctx, "p1", "cyc", nil)
	var fe *flow.Error
	if !errors.As(err, &fe) || fe.Code != flow.EINVALID {
		t.Fatalf("bad graph: %v", err)
	}
	if ps, ok := fe.Details.([]flow.Problem); !ok || len(ps) != 1 {
		t.Fatalf("problems %+v", fe.Details)
	}
	e.wfs.put("nope", chain("wf", "log"))
	if _, err := en.StartRun(ctx, "nope", "wf", nil); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("unknown project: %v", err)
	}
	if _, err := en.Run(ctx, "p1", "r_nope"); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("unknown run: %v", err)
	}
	if err := en.CancelRun(ctx, "p1", "r_nope"); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("cancel unknown run: %v", err)
	}
	if _, err := en.ListRuns(ctx, flow.RunFilter{ProjectID: "p1", Status: "weird"}); flow.ErrorCode(err) != flow.EINVALID {
		t.Fatalf("bad status: %v", err)
	}
	if _, err := en.ListRuns(ctx, flow.RunFilter{ProjectID: "p1", Cursor: "!!"}); flow.ErrorCode(err) != flow.EINVALID {
		t.Fatalf("bad cursor: %v", err)
	}
	// Nothing was written by the failed starts.
	if st, _ := en.QueueStats(ctx); st.Queued != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFailedNodeSkipsDownstreamButNotIndependentBranch(t *testing.T) {
	e := newEnv(t, "p1")
	// a -> bad -> c -> d ; a -> ok
	e.wfs.put("p1", &flow.Workflow{ID: "wf", Nodes: []flow.Node{
		{ID: "a", Tool: "log"}, {ID: "bad", Tool: "fail"}, {ID: "c", Tool: "log"}, {ID: "d", Tool: "log"}, {ID: "ok", Tool: "sleep", Params: map[string]any{"ms": 30}},
	}, Edges: []flow.Edge{{Source: "a", Target: "bad"}, {Source: "bad", Target: "c"}, {Source: "c", Target: "d"}, {Source: "a", Target: "ok"}}})
	en := e.engine(engine.Config{})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "wf", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := wait(t, en, r.ID)
	if got.Status != flow.RunFailed || !strings.Contains(got.Error, "bad") {
		t.Fatalf("run %+v", got)
	}
	for id, want := range map[string]flow.NodeStatus{"a": flow.NodeSucceeded, "bad": flow.NodeFailed, "c": flow.NodeSkipped, "d": flow.NodeSkipped, "ok": flow.NodeSucceeded} {
		if n := node(got, id); n.Status != want {
			t.Errorf("node %s: %s, want %s", id, n.Status, want)
		}
	}
	if n := node(got, "bad"); n.Error != "failed on purpose" {
		t.Errorf("error %q", n.Error)
	}
	ts := types(runEvents(t, e.db, "p1", r.ID))
	for _, want := range []string{"node.failed:bad", "node.skipped:c", "node.skipped:d", "node.completed:ok", "run.failed"} {
		if !strings.Contains(ts, want) {
			t.Errorf("missing %s in %s", want, ts)
		}
	}
	if e.tt.invocations(r.ID, "c") != 0 {
		t.Error("skipped node ran")
	}
}

func TestParallelBranches(t *testing.T) {
	e := newEnv(t, "p1")
	e.tt.started = make(chan string, 10)
	e.tt.release = make(chan struct{})
	// root -> x, y, z (gates) -> join
	wf := &flow.Workflow{ID: "wf", Nodes: []flow.Node{{ID: "root", Tool: "log"}, {ID: "x", Tool: "gate"}, {ID: "y", Tool: "gate"}, {ID: "z", Tool: "gate"}, {ID: "join", Tool: "log"}}}
	for _, b := range []string{"x", "y", "z"} {
		wf.Edges = append(wf.Edges, flow.Edge{Source: "root", Target: b}, flow.Edge{Source: b, Target: "join"})
	}
	e.wfs.put("p1", wf)
	en := e.engine(engine.Config{NodeParallelism: 3})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "wf", nil)
	if err != nil {
		t.Fatal(err)
	}
	// All three branches are running at the same time before any ends.
	seen := map[string]bool{}
	for len(seen) < 3 {
		select {
		case id := <-e.tt.started:
			seen[id] = true
		case <-time.After(30 * time.Second):
			t.Fatalf("branches did not run in parallel: %v", seen)
		}
	}
	close(e.tt.release)
	got := wait(t, en, r.ID)
	if got.Status != flow.RunSucceeded || node(got, "join").Status != flow.NodeSucceeded {
		t.Fatalf("%+v", got)
	}
}

func TestNodeRetryAndTimeout(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", &flow.Workflow{ID: "retry", Nodes: []flow.Node{
		{ID: "f", Tool: "flaky", Params: map[string]any{"failures": 2}, Retry: &flow.RetryPolicy{Max: 2, BackoffMs: 5}},
	}})
	e.wfs.put("p1", &flow.Workflow{ID: "giveup", Nodes: []flow.Node{
		{ID: "f", Tool: "flaky", Params: map[string]any{"failures": 5}, Retry: &flow.RetryPolicy{Max: 1}},
	}})
	e.wfs.put("p1", &flow.Workflow{ID: "slow", Nodes: []flow.Node{
		{ID: "s", Tool: "block", TimeoutMs: 30},
	}})
	en := e.engine(engine.Config{})
	start(t, en)
	ctx := context.Background()
	r1, _ := en.StartRun(ctx, "p1", "retry", nil)
	r2, _ := en.StartRun(ctx, "p1", "giveup", nil)
	r3, _ := en.StartRun(ctx, "p1", "slow", nil)

	got := wait(t, en, r1.ID)
	if n := node(got, "f"); got.Status != flow.RunSucceeded || n.Attempt != 3 || string(n.Output) != "3" {
		t.Fatalf("retry: %+v %+v", got, n)
	}
	evs := runEvents(t, e.db, "p1", r1.ID)
	if !strings.Contains(string(evs[3].Payload), "attempt 1 of 3 failed") {
		t.Fatalf("retry log: %s %s", types(evs), evs[3].Payload)
	}
	got = wait(t, en, r2.ID)
	if n := node(got, "f"); got.Status != flow.RunFailed || n.Attempt != 2 || n.Error != "flaky attempt 2" {
		t.Fatalf("giveup: %+v %+v", got, n)
	}
	got = wait(t, en, r3.ID)
	if n := node(got, "s"); got.Status != flow.RunFailed || !strings.Contains(n.Error, "timed out after 30ms") {
		t.Fatalf("timeout: %+v %+v", got, n)
	}
}

func TestCancelRunningRun(t *testing.T) {
	e := newEnv(t, "p1")
	e.tt.started = make(chan string, 10)
	e.wfs.put("p1", &flow.Workflow{ID: "wf", Nodes: []flow.Node{{ID: "a", Tool: "block"}, {ID: "b", Tool: "log"}},
		Edges: []flow.Edge{{Source: "a", Target: "b"}}})
	en := e.engine(engine.Config{})
	start(t, en)
	ctx := context.Background()
	r, err := en.StartRun(ctx, "p1", "wf", nil)
	if err != nil {
		t.Fatal(err)
	}
	<-e.tt.started
	if err := en.CancelRun(ctx, "p1", r.ID); err != nil {
		t.Fatal(err)
	}
	got := wait(t, en, r.ID)
	if got.Status != flow.RunCanceled || node(got, "a").Status != flow.NodeCanceled || node(got, "b").Status != flow.NodeCanceled {
		t.Fatalf("%+v", got)
	}
	ts := types(runEvents(t, e.db, "p1", r.ID))
	if !strings.HasSuffix(ts, "node.canceled:a run.canceled") {
		t.Fatalf("events %s", ts)
	}
	// Canceling again is a no-op; another project's run is not found.
	if err := en.CancelRun(ctx, "p1", r.ID); err != nil {
		t.Fatal(err)
	}
	if err := en.CancelRun(ctx, "p2", r.ID); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("other project: %v", err)
	}
	jobs, _ := en.Queue().List(ctx, queue.Filter{State: queue.Canceled})
	if len(jobs) != 1 {
		t.Fatalf("canceled jobs %+v", jobs)
	}
}

func TestCancelQueuedRun(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", chain("wf", "log", "log"))
	en := e.engine(engine.Config{}) // not started: the run stays queued
	ctx := context.Background()
	r, err := en.StartRun(ctx, "p1", "wf", nil)
	if err != nil {
		t.Fatal(err)
	}
	active, _ := en.ActiveRuns(ctx, "p1")
	if len(active) != 1 || len(active[0].Nodes) != 2 || active[0].Nodes[0].Status != flow.NodePending {
		t.Fatalf("active %+v", active)
	}
	if err := en.CancelRun(ctx, "p1", r.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := en.Run(ctx, "p1", r.ID)
	if got.Status != flow.RunCanceled || node(got, "n1").Status != flow.NodeCanceled {
		t.Fatalf("%+v", got)
	}
	if types(runEvents(t, e.db, "p1", r.ID)) != "run.queued run.canceled" {
		t.Fatal(types(runEvents(t, e.db, "p1", r.ID)))
	}
	start(t, en)
	if active, _ := en.ActiveRuns(ctx, "p1"); len(active) != 0 {
		t.Fatalf("active after cancel %+v", active)
	}
}

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

func TestLogBatching(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", &flow.Workflow{ID: "wf", Nodes: []flow.Node{{ID: "l", Tool: "lines", Params: map[string]any{"n": 25000}}}})
	en := e.engine(engine.Config{LogBatchLines: 1000, LogBufferLines: 2000})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "wf", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := wait(t, en, r.ID); got.Status != flow.RunSucceeded {
		t.Fatalf("%+v", got)
	}
	evs := runEvents(t, e.db, "p1", r.ID)
	all := map[string][]string{}
	logEvents := 0
	for _, ev := range evs {
		if ev.Type != flow.EventNodeLog {
			continue
		}
		logEvents++
		var p struct {
			Stream string
			Lines  []string
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			t.Fatal(err)
		}
		for _, l := range p.Lines {
			var i int
			if _, err := fmt.Sscanf(l, "line %d", &i); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]string{true: "stderr", false: "stdout"}[i%10 == 9]; p.Stream != want {
				t.Fatalf("%s on %s", l, p.Stream)
			}
		}
		all[p.Stream] = append(all[p.Stream], p.Lines...)
	}
	if len(all["stdout"])+len(all["stderr"]) != 25000 {
		t.Fatalf("%d + %d lines", len(all["stdout"]), len(all["stderr"]))
	}
	// Each stream keeps its order.
	i := 0
	for n := 0; n < 25000; n++ {
		if n%10 == 9 {
			continue
		}
		if all["stdout"][i] != fmt.Sprintf("line %d", n) {
			t.Fatalf("stdout line %d is %q", i, all["stdout"][i])
		}
		i++
	}
	if types(evs[len(evs)-2:]) != "node.completed:l run.completed" {
		t.Fatalf("logs after completion: %s", types(evs[len(evs)-3:]))
	}
	// Batched: about two events (stdout, stderr) per 1,000 lines.
	if logEvents > 200 {
		t.Fatalf("%d log events", logEvents)
	}
}

func TestToolPanicFailsNode(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", chain("wf", "panic"))
	en := e.engine(engine.Config{})
	start(t, en)
	r, _ := en.StartRun(context.Background(), "p1", "wf", nil)
	got := wait(t, en, r.ID)
	if got.Status != flow.RunFailed || !strings.Contains(node(got, "n1").Error, "panicked") {
		t.Fatalf("%+v", got)
	}
}

func TestBadReferenceFailsNodeClearly(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", &flow.Workflow{ID: "wf", Nodes: []flow.Node{{ID: "a", Tool: "echo", Params: map[string]any{"x": "{{ inputs.( }}"}}}})
	en := e.engine(engine.Config{})
	start(t, en)
	r, _ := en.StartRun(context.Background(), "p1", "wf", nil)
	got := wait(t, en, r.ID)
	if n := node(got, "a"); got.Status != flow.RunFailed || !strings.Contains(n.Error, "param x") {
		t.Fatalf("%+v", n)
	}
	if e.tt.invocations(r.ID, "a") != 0 {
		t.Fatal("tool ran with an unresolvable param")
	}
}

// TestManyConcurrentRuns: 1,000 runs across 10 projects all succeed, each
// with a complete ordered event stream, and no caller sees an error
// (SQLITE_BUSY included).
func TestManyConcurrentRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	var projects []string
	for i := 0; i < 10; i++ {
		projects = append(projects, fmt.Sprintf("p%d", i))
	}
	e := newEnv(t, projects...)
	for _, p := range projects {
		e.wfs.put(p, chain("wf", "log", "echo"))
	}
	en := e.engine(engine.Config{Queue: queue.Config{Workers: 16, ProjectLimit: 4}})
	start(t, en)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]string, 1000)
	errs := make(chan error, 1000)
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := en.StartRun(ctx, projects[i%10], "wf", map[string]any{"i": i})
			if err != nil {
				errs <- err
				return
			}
			ids[i] = r.ID
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := "run.queued run.started node.started:n1 node.log:n1 node.completed:n1 node.started:n2 node.completed:n2 run.completed"
	for i, id := range ids {
		// The hang guard covers the whole batch: 1,000 queued runs under
		// -race on a loaded 2-core machine drain at a few runs/s, so the
		// last of them may wait minutes for a worker without anything
		// being stuck.
		got := waitFor(t, en, id, 10*time.Minute)
		if got.Status != flow.RunSucceeded {
			t.Fatalf("run %d: %+v", i, got)
		}
		if ts := types(runEvents(t, e.db, projects[i%10], id)); ts != want {
			t.Fatalf("run %d events %s", i, ts)
		}
	}
	// Per project, seq has no gaps.
	for _, p := range projects {
		evs, _ := e.db.EventsAfter(ctx, p, "project:"+p, 0, 1<<20)
		if len(evs) != 300 {
			t.Fatalf("project %s has %d lifecycle events", p, len(evs))
		}
	}
	st, _ := en.QueueStats(ctx)
	if st.Queued != 0 || st.Running != 0 || st.Dead != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A run that gives up while a node was running (its worker died one time
// too many) does not show that node as canceled: nobody canceled it, and
// whether it finished is unknown, so it is failed with that said.
func TestGivingUpFailsRunningNodeAsInterrupted(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", chain("wf", "log", "log"))
	gone := "elsewhere/1/gone"
	en := e.engine(engine.Config{Queue: queue.Config{MaxCrashes: 1, OwnerAlive: func(o string) bool { return o != gone }}})
	ctx := context.Background()
	r, err := en.StartRun(ctx, "p1", "wf", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if c, err := en.Queue().Store().Claim(ctx, gone, 1, now, now.Add(time.Hour), 0); err != nil || len(c) != 1 {
		t.Fatalf("claim %v %v", c, err)
	}
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
	gone := "elsewhere/1/gone"
	en := e.engine(engine.Config{MaxAttempts: 1, Queue: queue.Config{MaxCrashes: 1, OwnerAlive: func(o string) bool { return o != gone }}})
	ctx := context.Background()
	r, err := en.StartRun(ctx, "p1", "wf", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if c, err := en.Queue().Store().Claim(ctx, gone, 1, now, now.Add(time.Hour), 0); err != nil || len(c) != 1 {
		t.Fatalf("claim %v %v", c, err)
	}
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

func TestListRunsPaging(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", chain("a", "log"))
	e.wfs.put("p1", chain("b", "log"))
	en := e.engine(engine.Config{}) // not started: runs stay queued
	ctx := context.Background()
	var want []string
	for i := 0; i < 7; i++ {
		wf := "a"
		if i%2 == 1 {
			wf = "b"
		}
		r, err := en.StartRun(ctx, "p1", wf, nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{r.ID}, want...) // newest first
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := en.ListRuns(ctx, flow.RunFilter{ProjectID: "p1", Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Runs {
			got = append(got, r.ID)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged\n got %v\nwant %v", got, want)
	}
	page, err := en.ListRuns(ctx, flow.RunFilter{ProjectID: "p1", WorkflowID: "b", Status: flow.RunQueued})
	if err != nil || len(page.Runs) != 3 || page.Next != "" {
		t.Fatalf("workflow filter: %d runs, next %q, %v", len(page.Runs), page.Next, err)
	}
	page, err = en.ListRuns(ctx, flow.RunFilter{ProjectID: "p1", Status: flow.RunSucceeded})
	if err != nil || len(page.Runs) != 0 || page.Runs == nil {
		t.Fatalf("empty page: %+v %v", page, err)
	}
}
