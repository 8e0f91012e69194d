package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// env is a real database file, a real project folder and the service.
type env struct {
	t       testing.TB
	db      *store.DB
	svc     *Service
	project flow.Project
	dir     string // <project>/.flowweaver/workflows

	mu     sync.Mutex
	events []flow.Event
	notify chan struct{}
}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, notify: make(chan struct{}, 1)}
	db := storetest.Open(t, store.Options{OnCommit: e.onCommit})
	root := t.TempDir()
	e.project = flow.Project{ID: "p1", Name: "demo", Path: root}
	if err := db.CreateProject(ctx, &e.project); err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		// Every file counts as racily clean, so Sync always hashes: a test
		// that writes a file within the same timestamp tick as a save and
		// is then descheduled for seconds cannot miss the edit.
		// TestStatFastPath covers the real clock's behaviour.
		opts.Now = func() time.Time { return time.Time{} }
	}
	svc, err := New(db, builtins, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.db, e.svc, e.dir = db, svc, filepath.Join(root, ".flowweaver", "workflows")
	return e
}

func (e *env) onCommit(evs []flow.Event) {
	e.mu.Lock()
	e.events = append(e.events, evs...)
	e.mu.Unlock()
	select {
	case e.notify <- struct{}{}:
	default:
	}
}

// takeEvents returns and forgets the events committed so far.
func (e *env) takeEvents() []flow.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	evs := e.events
	e.events = nil
	return evs
}

type payload struct {
	WorkflowID string         `json:"workflowId"`
	Version    int64          `json:"version"`
	By         string         `json:"by"`
	Problems   []flow.Problem `json:"problems"`
}

// expectEvent checks that exactly one event of the given kind was committed.
func (e *env) expectEvent(typ, id string, version int64, by string) payload {
	e.t.Helper()
	evs := e.takeEvents()
	if len(evs) != 1 {
		e.t.Fatalf("want one %s event, got %d: %+v", typ, len(evs), evs)
	}
	ev := evs[0]
	var p payload
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		e.t.Fatal(err)
	}
	if ev.Type != typ || ev.WorkflowID != id || ev.ProjectID != e.project.ID || p.WorkflowID != id || p.Version != version || p.By != by {
		e.t.Fatalf("event %s %s %+v, want %s %s version %d by %q", ev.Type, ev.WorkflowID, p, typ, id, version, by)
	}
	if !ev.OnChannel("workflow:"+id) || ev.Seq == 0 {
		e.t.Fatalf("event not durable on workflow:%s: %+v", id, ev)
	}
	return p
}

func (e *env) noEvents() {
	e.t.Helper()
	if evs := e.takeEvents(); len(evs) != 0 {
		e.t.Fatalf("unexpected events: %+v", evs)
	}
}

func (e *env) save(id string, wf *flow.Workflow, base int64) int64 {
	e.t.Helper()
	v, err := e.svc.Save(context.Background(), e.project.ID, id, wf, base, "api")
	if err != nil {
		e.t.Fatalf("save %s: %v", id, err)
	}
	return v
}

func (e *env) file(id string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, id+".json"))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func (e *env) writeFile(id, content string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, id+".json"), []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) sync() {
	e.t.Helper()
	if err := e.svc.Sync(context.Background(), e.project.ID); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) entry(id string) store.WorkflowEntry {
	e.t.Helper()
	en, ok, err := e.db.WorkflowEntry(context.Background(), e.project.ID, id)
	if err != nil || !ok {
		e.t.Fatalf("entry %s: ok=%v err=%v", id, ok, err)
	}
	return en
}

func code(err error) string { return flow.ErrorCode(err) }

// diffLines returns the line numbers (1-based) that differ between a and b,
// which must have the same number of lines.
func diffLines(t testing.TB, a, b string) []int {
	t.Helper()
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(la) != len(lb) {
		t.Fatalf("line count changed: %d -> %d\n%s\n---\n%s", len(la), len(lb), a, b)
	}
	var out []int
	for i := range la {
		if la[i] != lb[i] {
			out = append(out, i+1)
		}
	}
	return out
}

func TestSaveWritesFileAndEvent(t *testing.T) {
	e := newEnv(t, Options{})
	v := e.save("build", validWorkflow(), 0)
	if v != 1 {
		t.Fatalf("version %d", v)
	}
	e.expectEvent(flow.EventWorkflowUpdated, "build", 1, "api")
	body := e.file("build")
	if !strings.HasSuffix(body, "}\n") || !json.Valid([]byte(body)) || !strings.Contains(body, "\n  \"layout\": {\n    \"build\": {\"x\": 0, \"y\": 0}\n  }\n}\n") {
		t.Fatalf("file:\n%s", body)
	}
	got, err := e.svc.Get(context.Background(), e.project.ID, "build")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "build" || got.Version != 1 || got.Name != "Build and test" || len(got.Nodes) != 3 || got.Nodes[0].Position == nil ||
		got.Nodes[2].Retry.Max != 2 || got.Nodes[1].Params["ms"] != 200.0 {
		t.Fatalf("get: %+v", got)
	}
	// No temp file is left behind.
	ents, _ := os.ReadDir(e.dir)
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries", len(ents))
	}
}

func TestResaveIsByteIdentical(t *testing.T) {
	e := newEnv(t, Options{})
	e.save("build", validWorkflow(), 0)
	first := e.file("build")
	fi1, _ := os.Stat(filepath.Join(e.dir, "build.json"))

	// What Get returns, saved back unchanged, gives the same bytes.
	got, err := e.svc.Get(context.Background(), e.project.ID, "build")
	if err != nil {
		t.Fatal(err)
	}
	if v := e.save("build", got, got.Version); v != 2 {
		t.Fatalf("version %d, want 2 (every save counts)", v)
	}
	if second := e.file("build"); second != first {
		t.Fatalf("re-save changed the file:\n%s\n---\n%s", first, second)
	}
	// Same content again from a fresh value: still identical, and not even
	// rewritten (mtime and inode unchanged).
	e.save("build", validWorkflow(), 2)
	fi2, _ := os.Stat(filepath.Join(e.dir, "build.json"))
	if e.file("build") != first || !os.SameFile(fi1, fi2) || !fi1.ModTime().Equal(fi2.ModTime()) {
		t.Fatal("identical content was rewritten")
	}
	e.takeEvents()
}

func TestOneParamChangesOneLine(t *testing.T) {
	e := newEnv(t, Options{})
	wf := validWorkflow()
	wf.Nodes[2].Params["env"] = map[string]any{"GOFLAGS": "-count=1", "CGO_ENABLED": "0"}
	e.save("build", wf, 0)
	before := e.file("build")

	wf.Nodes[2].Params["command"] = "go test -race ./..."
	e.save("build", wf, 1)
	after := e.file("build")
	if d := diffLines(t, before, after); len(d) != 1 || !strings.Contains(strings.Split(after, "\n")[d[0]-1], `"command": "go test -race ./..."`) {
		t.Fatalf("changed lines %v:\n%s", d, after)
	}

	// A nested param value is expanded too: one key, one line.
	wf.Nodes[2].Params["env"].(map[string]any)["GOFLAGS"] = "-count=2"
	e.save("build", wf, 2)
	if d := diffLines(t, after, e.file("build")); len(d) != 1 {
		t.Fatalf("nested change touched lines %v", d)
	}

	// So is retry.max and timeoutMs.
	before = e.file("build")
	wf.Nodes[2].Retry.Max = 3
	e.save("build", wf, 3)
	if d := diffLines(t, before, e.file("build")); len(d) != 1 {
		t.Fatalf("retry change touched lines %v", d)
	}
}

func TestLayoutChangeOnlyTouchesLayout(t *testing.T) {
	e := newEnv(t, Options{})
	wf := validWorkflow()
	e.save("build", wf, 0)
	before := e.file("build")
	wf.Nodes[0].Position = &flow.Position{X: 140, Y: -20.25}
	e.save("build", wf, 1)
	after := e.file("build")
	d := diffLines(t, before, after)
	layoutStart := strings.Count(before[:strings.Index(before, `"layout"`)], "\n") + 1
	if len(d) != 1 || d[0] <= layoutStart {
		t.Fatalf("moving a node changed lines %v (layout starts at %d):\n%s", d, layoutStart, after)
	}
	if !strings.Contains(after, `"build": {"x": 140, "y": -20.25}`) {
		t.Fatalf("layout line missing:\n%s", after)
	}
	// Placing a node that had no position adds exactly one layout line.
	wf.Nodes[1].Position = &flow.Position{X: 1, Y: 2}
	e.save("build", wf, 2)
	if n := strings.Count(e.file("build"), "\n") - strings.Count(after, "\n"); n != 1 {
		t.Fatalf("added %d lines", n)
	}
}

func TestConflict(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.save("build", validWorkflow(), 0)
	other := validWorkflow()
	other.Name = "edited elsewhere"
	e.save("build", other, 1)
	e.takeEvents()

	stale := validWorkflow()
	stale.Name = "my edit"
	_, err := e.svc.Save(ctx, e.project.ID, "build", stale, 1, "conn-1")
	var fe *flow.Error
	if !errors.As(err, &fe) || fe.Code != flow.ECONFLICT {
		t.Fatalf("want conflict, got %v", err)
	}
	c, ok := fe.Details.(flow.WorkflowConflict)
	if !ok || c.Version != 2 || c.Workflow == nil || c.Workflow.Name != "edited elsewhere" || c.Workflow.Version != 2 || c.Workflow.ID != "build" {
		t.Fatalf("details %+v", fe.Details)
	}
	e.noEvents()
	if !strings.Contains(e.file("build"), "edited elsewhere") {
		t.Fatal("conflicting save touched the file")
	}
	// Creating over an existing workflow with baseVersion 0 conflicts too.
	if _, err := e.svc.Save(ctx, e.project.ID, "build", stale, 0, "x"); code(err) != flow.ECONFLICT {
		t.Fatalf("create over existing: %v", err)
	}
	// baseVersion < 0 overwrites.
	if v, err := e.svc.Save(ctx, e.project.ID, "build", stale, -1, "conn-1"); err != nil || v != 3 {
		t.Fatalf("overwrite: %d %v", v, err)
	}
	e.expectEvent(flow.EventWorkflowUpdated, "build", 3, "conn-1")
	// A workflow that does not exist conflicts for any base but 0.
	_, err = e.svc.Save(ctx, e.project.ID, "fresh", stale, 4, "x")
	if !errors.As(err, &fe) || fe.Code != flow.ECONFLICT || fe.Details.(flow.WorkflowConflict).Version != 0 || fe.Details.(flow.WorkflowConflict).Workflow != nil {
		t.Fatalf("missing workflow: %v %+v", err, fe)
	}
}

func TestConcurrentSavesOneWinnerPerVersion(t *testing.T) {
	e := newEnv(t, Options{})
	e.save("build", validWorkflow(), 0)
	var wg sync.WaitGroup
	results := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			wf := validWorkflow()
			wf.Name = "writer " + string("abcdefgh"[i])
			_, err := e.svc.Save(context.Background(), e.project.ID, "build", wf, 1, "w")
			results <- err
		}(i)
	}
	wg.Wait()
	close(results)
	wins, conflicts := 0, 0
	for err := range results {
		switch code(err) {
		case "":
			wins++
		case flow.ECONFLICT:
			conflicts++
		default:
			t.Fatal(err)
		}
	}
	if wins != 1 || conflicts != 7 || e.entry("build").Version != 2 {
		t.Fatalf("wins %d conflicts %d version %d", wins, conflicts, e.entry("build").Version)
	}
}

func TestInvalidSaveListsEveryProblem(t *testing.T) {
	e := newEnv(t, Options{})
	wf := validWorkflow()
	wf.Name = ""
	wf.Nodes[1].Tool = "nope"
	wf.Edges = append(wf.Edges, flow.Edge{Source: "test", Target: "build"})
	_, err := e.svc.Save(context.Background(), e.project.ID, "build", wf, -1, "api")
	var fe *flow.Error
	if !errors.As(err, &fe) || fe.Code != flow.EINVALID || fe.Message != "workflow is invalid: 3 problems" {
		t.Fatalf("%v", err)
	}
	if ps := fe.Details.([]flow.Problem); len(ps) != 3 || ps[0].Field != "name" || ps[1].Field != "nodes[1].tool" || ps[2].Field != "edges" {
		t.Fatalf("%+v", ps)
	}
	e.noEvents()
	if _, err := os.Stat(filepath.Join(e.dir, "build.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("invalid workflow was written")
	}
}

func TestHostileWorkflowIDs(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	parentBefore, _ := os.ReadDir(filepath.Dir(e.project.Path))
	for _, id := range []string{"../x", "../../etc/passwd", "a/b", "..", ".", "", "a\\b", "x.json", "a\x00b", "/abs", strings.Repeat("a", 65)} {
		if _, err := e.svc.Save(ctx, e.project.ID, id, validWorkflow(), -1, "api"); code(err) != flow.EINVALID {
			t.Errorf("save %q: %v", id, err)
		}
		if _, err := e.svc.Get(ctx, e.project.ID, id); code(err) != flow.EINVALID {
			t.Errorf("get %q: %v", id, err)
		}
		if err := e.svc.Delete(ctx, e.project.ID, id); code(err) != flow.EINVALID {
			t.Errorf("delete %q: %v", id, err)
		}
	}
	// Nothing was created anywhere: not even the workflows directory.
	ents, _ := os.ReadDir(e.project.Path)
	parent, _ := os.ReadDir(filepath.Dir(e.project.Path))
	if len(ents) != 0 || len(parent) != len(parentBefore) {
		t.Fatalf("filesystem touched: %v / %v", ents, parent)
	}
	e.noEvents()
}

func TestUnknownProject(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	if _, err := e.svc.Save(ctx, "nope", "wf", validWorkflow(), -1, "api"); code(err) != flow.ENOTFOUND {
		t.Fatal(err)
	}
	if _, err := e.svc.List(ctx, "nope"); code(err) != flow.ENOTFOUND {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(ctx, e.project.ID, "missing"); code(err) != flow.ENOTFOUND {
		t.Fatal(err)
	}
	if err := e.svc.Delete(ctx, e.project.ID, "missing"); code(err) != flow.ENOTFOUND {
		t.Fatal(err)
	}
}

func TestSymlinkedDirectoryOutOfProjectIsRefused(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(e.project.Path, ".flowweaver"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, e.dir); err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(outside, "secret.json"), []byte(exampleFile), 0o644))

	_, err := e.svc.Save(ctx, e.project.ID, "build", validWorkflow(), -1, "api")
	if code(err) != flow.EFORBIDDEN || !strings.Contains(flow.ErrorMessage(err), "symbolic link") {
		t.Fatalf("save: %v", err)
	}
	if _, err := e.svc.Get(ctx, e.project.ID, "secret"); code(err) != flow.EFORBIDDEN {
		t.Fatalf("get: %v", err)
	}
	if _, err := e.svc.List(ctx, e.project.ID); code(err) != flow.EFORBIDDEN {
		t.Fatalf("list: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Fatalf("outside dir written: %v", ents)
	}
	e.noEvents()

	// The same with .flowweaver itself pointing out.
	_ = os.Remove(e.dir)
	_ = os.Remove(filepath.Join(e.project.Path, ".flowweaver"))
	must(t, os.Symlink(outside, filepath.Join(e.project.Path, ".flowweaver")))
	if _, err := e.svc.Save(ctx, e.project.ID, "build", validWorkflow(), -1, "api"); code(err) != flow.EFORBIDDEN {
		t.Fatalf("save via .flowweaver: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "workflows")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("created a directory outside the project")
	}
}

func TestSymlinkedFileOutOfProjectIsNotRead(t *testing.T) {
	e := newEnv(t, Options{})
	e.save("build", validWorkflow(), 0)
	e.takeEvents()
	outside := filepath.Join(t.TempDir(), "leak.json")
	if err := os.WriteFile(outside, []byte(exampleFile), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, os.Symlink(outside, filepath.Join(e.dir, "leak.json")))

	sums, err := e.svc.Summaries(context.Background(), e.project.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 2 || sums[1].ID != "leak" || sums[1].Valid || sums[1].Name != "" {
		t.Fatalf("%+v", sums)
	}
	snap, err := e.svc.Snapshot(context.Background(), e.project.ID, "leak")
	if err != nil || snap.Workflow != nil || len(snap.Problems) != 1 {
		t.Fatalf("snapshot %+v %v", snap, err)
	}
}

func TestSizeLimits(t *testing.T) {
	e := newEnv(t, Options{MaxFileSize: 4096})
	ctx := context.Background()
	wf := validWorkflow()
	wf.Nodes[0].Params["command"] = strings.Repeat("x", 5000)
	if _, err := e.svc.Save(ctx, e.project.ID, "big", wf, -1, "api"); code(err) != flow.EPAYLOADTOOLARGE {
		t.Fatalf("save: %v", err)
	}
	// A huge file put there by someone else is flagged, not read.
	must(t, os.MkdirAll(e.dir, 0o755))
	f, err := os.Create(filepath.Join(e.dir, "huge.json"))
	must(t, err)
	must(t, f.Truncate(1<<30)) // sparse: 1 GiB without using the disk
	_ = f.Close()
	sums, err := e.svc.Summaries(ctx, e.project.ID)
	if err != nil || len(sums) != 1 || sums[0].Valid || !strings.Contains(sums[0].Problems[0].Message, "at most 4096") {
		t.Fatalf("%+v %v", sums, err)
	}
	if _, err := e.svc.Get(ctx, e.project.ID, "huge"); code(err) != flow.EINVALID {
		t.Fatalf("get: %v", err)
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.save("build", validWorkflow(), 0)
	e.takeEvents()
	if err := e.svc.Delete(ctx, e.project.ID, "build"); err != nil {
		t.Fatal(err)
	}
	e.expectEvent(flow.EventWorkflowDeleted, "build", 2, "")
	if _, err := os.Stat(filepath.Join(e.dir, "build.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("file still there")
	}
	if err := e.svc.Delete(ctx, e.project.ID, "build"); code(err) != flow.ENOTFOUND {
		t.Fatal(err)
	}
	e.sync()
	e.noEvents()
}

func TestFailedCommitRestoresFile(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.save("build", validWorkflow(), 0)
	e.takeEvents()
	before := e.file("build")
	boom := errors.New("disk full")
	e.svc.afterFileChange = func() error { return boom }

	changed := validWorkflow()
	changed.Name = "changed"
	if _, err := e.svc.Save(ctx, e.project.ID, "build", changed, 1, "api"); !errors.Is(err, boom) {
		t.Fatalf("save: %v", err)
	}
	if e.file("build") != before || e.entry("build").Version != 1 {
		t.Fatal("failed save left its file or version behind")
	}
	if _, err := e.svc.Save(ctx, e.project.ID, "new", changed, 0, "api"); !errors.Is(err, boom) {
		t.Fatalf("save new: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "new.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("failed create left its file")
	}
	if err := e.svc.Delete(ctx, e.project.ID, "build"); !errors.Is(err, boom) {
		t.Fatalf("delete: %v", err)
	}
	if e.file("build") != before || e.entry("build").Deleted {
		t.Fatal("failed delete lost the file")
	}
	e.noEvents()
	e.svc.afterFileChange = nil
	e.sync()
	e.noEvents() // restored state matches the index exactly
}

func TestFailedFileWriteLeavesIndex(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	// A directory squats the workflow's file name: the rename must fail.
	must(t, os.MkdirAll(filepath.Join(e.dir, "build.json", "x"), 0o755))
	_, err := e.svc.Save(ctx, e.project.ID, "build", validWorkflow(), -1, "api")
	if code(err) != flow.EUNAVAILABLE || !strings.Contains(flow.ErrorMessage(err), "cannot write .flowweaver/workflows/build.json") {
		t.Fatalf("save over a directory: %v", err)
	}
	// The squatter was adopted as a (broken) disk entry; the failed save
	// added nothing on top.
	e.expectEvent(flow.EventWorkflowUpdated, "build", 1, "disk")
	if en := e.entry("build"); en.Version != 1 {
		t.Fatalf("%+v", en)
	}
	ents, _ := os.ReadDir(e.dir)
	if len(ents) != 1 {
		t.Fatalf("temp file left: %v", ents)
	}
}

func TestStaleTempFilesRemoved(t *testing.T) {
	now := time.Now()
	e := newEnv(t, Options{Now: func() time.Time { return now }})
	e.save("build", validWorkflow(), 0)
	stale := filepath.Join(e.dir, tempPrefix+"abc-build.json")
	fresh := filepath.Join(e.dir, tempPrefix+"def-build.json")
	if err := os.WriteFile(stale, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fresh, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := now.Add(-time.Hour)
	must(t, os.Chtimes(stale, old, old))
	e.sync()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("stale temp file kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatal("fresh temp file removed")
	}
}

func TestProjectDeleteCascades(t *testing.T) {
	e := newEnv(t, Options{})
	e.save("build", validWorkflow(), 0)
	if err := e.db.DeleteProject(context.Background(), e.project.ID); err != nil {
		t.Fatal(err)
	}
	if ents, err := e.db.WorkflowEntries(context.Background(), e.project.ID); err != nil || len(ents) != 0 {
		t.Fatalf("%v %v", ents, err)
	}
}

// must fails the test on a setup step's error, so a broken fixture is
// reported where it broke rather than as a confusing later assertion.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
