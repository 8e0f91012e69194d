package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
	"github.com/flowweaver/flowweaver/backend/tools"
)

// The fixture of the engine's tests: a real database (storetest), an
// in-memory workflow source and a set of test tools that count their calls,
// and helpers that start engines and wait for and read back runs.

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
