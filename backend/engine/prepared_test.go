package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// sharedWorkflows is an engine.SharedWorkflowSource: it hands out the same
// *flow.Workflow until it is replaced, as the workflow service does while
// a file is unchanged.
type sharedWorkflows struct {
	mu sync.Mutex
	wf *flow.Workflow
}

func (s *sharedWorkflows) Get(ctx context.Context, projectID, id string) (*flow.Workflow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wf, nil
}

func (s *sharedWorkflows) Shared(ctx context.Context, projectID, id string) (*flow.Workflow, error) {
	return s.Get(ctx, projectID, id)
}

// decodedLikeAFile returns wf as the workflow service hands it out: decoded
// from JSON (numbers are float64).
func decodedLikeAFile(tb testing.TB, wf *flow.Workflow) *flow.Workflow {
	tb.Helper()
	b, err := json.Marshal(wf)
	if err != nil {
		tb.Fatal(err)
	}
	var out flow.Workflow
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatal(err)
	}
	return &out
}

func (s *sharedWorkflows) set(wf *flow.Workflow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wf = wf
}

// Runs of one workflow version share its compiled snapshot and graph; a
// new version (a new value from the source) is compiled again, so a run
// started after an edit runs the edit, and a run started before it keeps
// the version it started with.
func TestRunStartedAfterAnEditRunsTheEdit(t *testing.T) {
	e := newEnv(t, "p")
	src := &sharedWorkflows{}
	en, err := engine.New(engine.Config{DB: e.db, Tools: e.tt, Workflows: src})
	if err != nil {
		t.Fatal(err)
	}
	start(t, en)
	ctx := context.Background()
	version := func(msg string) *flow.Workflow {
		return &flow.Workflow{ID: "w", Name: "w", Nodes: []flow.Node{{ID: "a", Tool: "echo", Params: map[string]any{"message": msg}}}}
	}
	output := func(runID string) string {
		t.Helper()
		r := wait(t, en, runID)
		if r.Status != flow.RunSucceeded {
			t.Fatalf("run %s: %s %s", runID, r.Status, r.Error)
		}
		return string(node(r, "a").Output)
	}
	src.set(version("one"))
	first, err := en.StartRun(ctx, "p", "w", nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := en.StartRun(ctx, "p", "w", nil)
	if err != nil {
		t.Fatal(err)
	}
	src.set(version("two"))
	edited, err := en.StartRun(ctx, "p", "w", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		run  string
		want string
	}{{first.ID, `{"message":"one"}`}, {again.ID, `{"message":"one"}`}, {edited.ID, `{"message":"two"}`}} {
		if got := output(c.run); got != c.want {
			t.Errorf("run %s output %s, want %s", c.run, got, c.want)
		}
	}
	// The stored snapshot is the version each run started with.
	for _, c := range []struct {
		run  string
		want string
	}{{first.ID, "one"}, {edited.ID, "two"}} {
		r, err := en.Run(ctx, "p", c.run)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(r.Workflow), `"message":"`+c.want+`"`) {
			t.Errorf("run %s snapshot %s, want message %q", c.run, r.Workflow, c.want)
		}
	}
}

// TestRunQueuedBeforeARestartRuns: a run that the engine which started it
// never executed (as after a restart, or on another node) runs from the
// database: nothing depends on what that engine prepared in memory.
func TestRunQueuedBeforeARestartRuns(t *testing.T) {
	e := newEnv(t, "p")
	src := &sharedWorkflows{}
	src.set(decodedLikeAFile(t, &flow.Workflow{ID: "w", Name: "w", Nodes: []flow.Node{{ID: "a", Tool: "echo", Params: map[string]any{"n": 2}}}}))
	ctx := context.Background()
	first, err := engine.New(engine.Config{DB: e.db, Tools: e.tt, Workflows: src})
	if err != nil {
		t.Fatal(err)
	}
	r, err := first.StartRun(ctx, "p", "w", nil) // not started: the run stays queued
	if err != nil {
		t.Fatal(err)
	}
	second, err := engine.New(engine.Config{DB: e.db, Tools: e.tt, Workflows: src})
	if err != nil {
		t.Fatal(err)
	}
	start(t, second)
	done := wait(t, second, r.ID)
	if done.Status != flow.RunSucceeded || string(node(done, "a").Output) != `{"n":2}` {
		t.Fatalf("run %s %s, output %s", done.Status, done.Error, node(done, "a").Output)
	}
}
