package tools

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logRecorder collects Log lines; it also fails the test when Log is
// called after the tool returned (the engine forbids that).
type logRecorder struct {
	mu     sync.Mutex
	lines  map[string][]string
	closed bool
	late   int
}

func newLogRecorder() *logRecorder { return &logRecorder{lines: map[string][]string{}} }

func (r *logRecorder) Log(stream, line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		r.late++
		return
	}
	r.lines[stream] = append(r.lines[stream], line)
}

func (r *logRecorder) close() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return r.late
}

func (r *logRecorder) get(stream string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines[stream]...)
}

// testProject makes a project folder in a temp dir.
func testProject(t *testing.T) flow.Project {
	t.Helper()
	dir := t.TempDir()
	// Resolve /tmp symlinks so path comparisons are exact.
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return flow.Project{ID: "p1", Name: "test", Path: dir}
}

// run invokes a tool through a fresh registry with a hang guard.
func run(t *testing.T, reg *Registry, p flow.Project, name string, params map[string]any) (any, *logRecorder, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rec := newLogRecorder()
	out, err := reg.Run(ctx, name, Call{Project: p, RunID: "r1", NodeID: "n1", Params: params, Log: rec.Log,
		Env: map[string]any{"inputs": map[string]any{}, "nodes": map[string]any{}}})
	if late := rec.close(); late > 0 {
		t.Errorf("%s: Log called %d times after Run returned", name, late)
	}
	return out, rec, err
}

func wantCode(t *testing.T, err error, code string, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got nil", code)
	}
	if got := flow.ErrorCode(err); got != code {
		t.Fatalf("want code %s, got %s (%v)", code, got, err)
	}
	var fe *flow.Error
	if !errors.As(err, &fe) {
		t.Fatalf("not a *flow.Error: %v", err)
	}
	for _, c := range contains {
		if !strings.Contains(fe.Message, c) {
			t.Errorf("message %q lacks %q", fe.Message, c)
		}
	}
}

// processGone reports whether pid no longer runs (missing, or a zombie
// waiting for a reaper that is not us).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] == 'Z' || s[i+2] == 'X'
}

// waitGone polls until pid is gone (hang guard only, not a timing check).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
