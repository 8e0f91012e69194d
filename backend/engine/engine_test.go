package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

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
