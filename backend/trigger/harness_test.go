package trigger

import (
	"context"
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
	"github.com/flowweaver/flowweaver/backend/workflow"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// clock is an injectable clock; zero means the real one.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// harness is a real backend minus the HTTP layer: a SQLite file, the
// workflow files service, the engine with the built-in tools, and the
// trigger service under test.
type harness struct {
	t       *testing.T
	dsn     string // the database: reopened on restart
	db      *store.DB
	wfs     *workflow.Service
	eng     *engine.Engine
	svc     *Service
	clock   *clock
	trusted atomic.Bool
	project flow.Project
}

type harnessOpt func(*Config)

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	h := &harness{t: t, dsn: storetest.DSN(t), clock: &clock{}}
	h.trusted.Store(true)
	h.project = flow.Project{ID: "p1", Name: "p1", Path: t.TempDir()}
	h.open(opts...)
	if err := h.db.CreateProject(context.Background(), &h.project); err != nil {
		t.Fatal(err)
	}
	return h
}

// open (re)builds every part on the harness's data dir: a second open
// after close is a restart of the server.
func (h *harness) open(opts ...harnessOpt) {
	t := h.t
	ctx := context.Background()
	db, err := store.Open(ctx, h.dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := tools.NewRegistry(tools.Options{})
	wfs, err := workflow.New(db, reg, workflow.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A run of instant nodes is immediate however busy the machine is (the
	// budget is not what these tests are about).
	eng, err := engine.New(engine.Config{DB: db, Tools: reg, Workflows: wfs, Queue: queue.Config{Workers: 4}, ImmediateBudget: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{DB: db, Runs: eng, Workflows: wfs, Now: h.clock.Now, MaxSleep: 50 * time.Millisecond,
		Trust: TrustFunc(func(ctx context.Context, id string) (bool, error) { return h.trusted.Load(), nil })}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db.SetOnCommit(svc.Observe)
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h.db, h.wfs, h.eng, h.svc = db, wfs, eng, svc
	t.Cleanup(h.close)
}

// close stops everything (idempotent).
func (h *harness) close() {
	if h.db == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.svc.Stop(ctx); err != nil {
		h.t.Error(err)
	}
	if err := h.eng.Stop(ctx); err != nil {
		h.t.Error(err)
	}
	if err := h.db.Close(); err != nil {
		h.t.Error(err)
	}
	h.db = nil
}

func (h *harness) start() {
	if err := h.svc.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// save writes a workflow through the workflow service (validation
// included).
func (h *harness) save(id string, wf *flow.Workflow) {
	h.t.Helper()
	if wf.Edges == nil {
		wf.Edges = []flow.Edge{}
	}
	if _, err := h.wfs.Save(context.Background(), h.project.ID, id, wf, -1, "test"); err != nil {
		h.t.Fatalf("save %s: %v", id, err)
	}
}

// runs lists the project's runs, oldest first.
func (h *harness) runs() []flow.Run {
	h.t.Helper()
	page, err := h.db.ListRuns(context.Background(), flow.RunFilter{ProjectID: h.project.ID, Limit: 500})
	if err != nil {
		h.t.Fatal(err)
	}
	out := page.Runs
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// waitRuns waits (generously) until at least n runs exist.
func (h *harness) waitRuns(n int) []flow.Run {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rs := h.runs()
		if len(rs) >= n {
			return rs
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("waited for %d runs, have %d", n, len(rs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitIdle waits until no run is queued or running.
func (h *harness) waitIdle() {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		active, err := h.db.ActiveRuns(context.Background(), h.project.ID, 10)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(active) == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("runs still active: %d", len(active))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func logNode(id string) flow.Node {
	return flow.Node{ID: id, Tool: "log", Params: map[string]any{"message": "{{ inputs.trigger.type }}"}}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
