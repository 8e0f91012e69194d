package trigger

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func (h *harness) write(rel, content string) {
	h.t.Helper()
	p := filepath.Join(h.project.Path, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// watching waits until the project's files watcher runs with n triggers.
func (h *harness) watching(n int) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		h.svc.mu.Lock()
		w := h.svc.watchers[h.project.ID]
		h.svc.mu.Unlock()
		if w != nil {
			w.mu.Lock()
			got := len(w.triggers)
			w.mu.Unlock()
			if got == n {
				time.Sleep(200 * time.Millisecond) // the initial walk adds its watches
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("no files watcher with %d triggers", n)
}

// quiet asserts that the run count stays n for d (used after the debounce
// has long passed, to prove something did not fire).
func (h *harness) quiet(n int, d time.Duration) {
	h.t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if got := len(h.runs()); got != n {
			h.t.Fatalf("%d runs, want %d", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func filesWorkflow(glob string, debounceMs int64, nodes ...flow.Node) *flow.Workflow {
	if len(nodes) == 0 {
		nodes = []flow.Node{logNode("a")}
	}
	return &flow.Workflow{Name: "files", Nodes: nodes,
		Triggers: []flow.Trigger{{ID: "src", Type: "files", Glob: glob, DebounceMs: debounceMs}}}
}

func runFiles(t *testing.T, r flow.Run) []any {
	t.Helper()
	in, _ := r.Inputs["trigger"].(map[string]any)
	if in["type"] != "files" || r.Trigger == nil || r.Trigger.Type != "files" {
		t.Fatalf("run %s trigger %+v inputs %v", r.ID, r.Trigger, in)
	}
	files, _ := in["files"].([]any)
	return files
}

func forEachWatcher(t *testing.T, test func(t *testing.T, poll bool)) {
	for _, poll := range []bool{false, true} {
		t.Run(map[bool]string{false: "fsnotify", true: "poll"}[poll], func(t *testing.T) { test(t, poll) })
	}
}

func withPoll(poll bool) harnessOpt {
	return func(c *Config) { c.ForcePoll = poll; c.FilesPollInterval = 100 * time.Millisecond }
}

func TestFilesMatchingWriteFiresOnceAfterDebounce(t *testing.T) {
	forEachWatcher(t, func(t *testing.T, poll bool) {
		h := newHarness(t, withPoll(poll))
		h.write("src/keep.txt", "x") // exists before: not a change
		h.save("w", filesWorkflow("src/**/*.go", 300))
		h.start()
		h.watching(1)
		h.write("src/deep/dir/main.go", "package main")
		runs := h.waitRuns(1)
		if files := runFiles(t, runs[0]); len(files) != 1 || files[0] != "src/deep/dir/main.go" {
			t.Fatalf("files = %v", files)
		}
		h.waitIdle()
		h.quiet(1, 1500*time.Millisecond)
	})
}

func TestFilesNonMatchingNeverFires(t *testing.T) {
	forEachWatcher(t, func(t *testing.T, poll bool) {
		h := newHarness(t, withPoll(poll))
		h.save("w", filesWorkflow("src/**/*.go", 100))
		h.start()
		h.watching(1)
		h.write("src/readme.md", "no")
		h.write("other/x.go", "no")
		h.write(".git/src/a.go", "no")
		h.quiet(0, 2*time.Second)
	})
}

func TestFilesBurstOfWritesIsOneRun(t *testing.T) {
	forEachWatcher(t, func(t *testing.T, poll bool) {
		h := newHarness(t, withPoll(poll))
		h.save("w", filesWorkflow("data/*.csv", 1500))
		h.start()
		h.watching(1)
		for i := range 100 {
			h.write(fmt.Sprintf("data/%03d.csv", i), "1,2,3")
		}
		runs := h.waitRuns(1)
		h.waitIdle()
		h.quiet(1, 2500*time.Millisecond)
		in := runs[0].Inputs["trigger"].(map[string]any)
		if files := runFiles(t, runs[0]); len(files) != 100 || in["count"] != float64(100) || runs[0].Trigger.Files != 100 {
			t.Fatalf("one run should carry all 100 files: %d listed, count %v", len(files), in["count"])
		}
	})
}

// A run that writes into its own glob does not start itself again.
func TestFilesOwnWritesDoNotLoop(t *testing.T) {
	forEachWatcher(t, func(t *testing.T, poll bool) {
		h := newHarness(t, withPoll(poll))
		write := flow.Node{ID: "out", Tool: "file.write", Params: map[string]any{"path": "notes/summary.txt", "content": "{{ inputs.trigger.count }} files changed"}}
		h.save("w", filesWorkflow("notes/**", 200, write))
		h.start()
		h.watching(1)
		h.write("notes/today.txt", "hello")
		h.waitRuns(1)
		h.waitIdle()
		if b, err := os.ReadFile(filepath.Join(h.project.Path, "notes", "summary.txt")); err != nil || string(b) != "1 files changed" {
			t.Fatalf("the run did not write: %q %v", b, err)
		}
		h.quiet(1, 3*time.Second)
	})
}

// Changes made while the trigger's run is active start exactly one next
// run, carrying all of them.
func TestFilesChangesDuringARunAreCoalesced(t *testing.T) {
	h := newHarness(t)
	slow := flow.Node{ID: "slow", Tool: "delay", Params: map[string]any{"ms": 1500}}
	h.save("w", filesWorkflow("in/*.txt", 100, slow))
	h.start()
	h.watching(1)
	h.write("in/a.txt", "a")
	first := h.waitRuns(1)[0]
	deadline := time.Now().Add(20 * time.Second)
	for { // wait until it runs
		r, _ := h.db.GetRun(t.Context(), "p1", first.ID)
		if r.Status == flow.RunRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first run is %s", r.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.write("in/b.txt", "b")
	h.write("in/c.txt", "c")
	time.Sleep(300 * time.Millisecond)
	h.write("in/b.txt", "b2")
	runs := h.waitRuns(2)
	h.waitIdle()
	h.quiet(2, 1500*time.Millisecond)
	files := runFiles(t, runs[1])
	if len(files) != 2 || files[0] != "in/b.txt" || files[1] != "in/c.txt" {
		t.Fatalf("second run files = %v", files)
	}
	r0, _ := h.db.GetRun(t.Context(), "p1", runs[0].ID)
	r1, _ := h.db.GetRun(t.Context(), "p1", runs[1].ID)
	if r1.CreatedAt.Before(*r0.FinishedAt) {
		t.Fatalf("the next run started before the active one ended")
	}
}

func TestFilesUntrustedNeverFires(t *testing.T) {
	h := newHarness(t)
	h.trusted.Store(false)
	h.save("w", filesWorkflow("**/*.txt", 100))
	h.start()
	time.Sleep(500 * time.Millisecond)
	h.write("a.txt", "x")
	h.quiet(0, 1500*time.Millisecond)
}

// A shell node writing into its own glob cannot be told from the user: the
// trigger still stops after MaxChainedRuns runs in a row, tells the tab,
// and fires again for a change made while it is idle.
func TestFilesShellWritesIntoOwnGlobStopAfterAFewRuns(t *testing.T) {
	h := newHarness(t)
	sh := flow.Node{ID: "sh", Tool: "shell", Params: map[string]any{"command": "sleep 0.3; date +%s%N >> notes/log.txt"}}
	h.save("w", filesWorkflow("notes/**", 100, sh))
	h.start()
	h.watching(1)
	h.write("notes/today.txt", "hello")
	h.waitRuns(1 + MaxChainedRuns)
	h.waitIdle()
	h.quiet(1+MaxChainedRuns, 3*time.Second)
	evs, err := h.db.EventsAfter(t.Context(), "p1", "project:p1", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range evs {
		found = found || e.Type == flow.EventNotification && strings.Contains(string(e.Payload), "stopped a loop")
	}
	if !found {
		t.Fatal("no notification about the stopped loop")
	}
	h.write("notes/today.txt", "again") // the user again: it fires
	h.waitRuns(2 + MaxChainedRuns)
}
