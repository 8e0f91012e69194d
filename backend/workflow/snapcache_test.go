package workflow

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// cleanClock is a clock an hour ahead: every file looks long settled, so
// Snapshot trusts the stat (no racy re-read) and these tests exercise the
// stat check itself.
func cleanClock() time.Time { return time.Now().Add(time.Hour) }

func (e *env) get(id string) *flow.Workflow {
	e.t.Helper()
	wf, err := e.svc.Get(context.Background(), e.project.ID, id)
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return wf
}

// needsCache skips a test that looks at cache entries where the cache is
// off (Windows, or a temp dir on a file system localFS does not trust).
func (e *env) needsCache() {
	e.t.Helper()
	if !localFS(e.project.Path) {
		e.t.Skip("no snapshot cache here: the temp dir's file system is not one whose stat is trusted")
	}
}

func (e *env) cached(id string) bool {
	_, ok := e.svc.snaps.get(snapKey{e.project.ID, id})
	return ok
}

// sneakyEdit rewrites the file in place (same inode) with content of the
// same size and puts the old mtime back, as `touch -r` or `rsync -t` would:
// only ctime shows the change.
func (e *env) sneakyEdit(id, from, to string) {
	e.t.Helper()
	if len(from) != len(to) {
		e.t.Fatalf("sneakyEdit needs same-size replacements")
	}
	path := filepath.Join(e.dir, FileName(id))
	fi, err := os.Stat(path)
	if err != nil {
		e.t.Fatal(err)
	}
	e.writeFile(id, strings.Replace(e.file(id), from, to, 1))
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		e.t.Fatal(err)
	}
	if after, _ := os.Stat(path); after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime()) {
		e.t.Fatalf("the edit changed size or mtime: %v %v", after.Size(), after.ModTime())
	}
}

// TestCachedGetSeesEditsMadeOutside: a Get answered from memory still
// returns every edit made by another program since the previous Get: an
// in-place write of the same size with the old mtime put back, a file
// renamed over it, a removal; each is adopted as a "disk" version.
func TestCachedGetSeesEditsMadeOutside(t *testing.T) {
	e := newEnv(t, Options{Now: cleanClock})
	e.needsCache()
	e.save("build", validWorkflow(), 0)
	e.takeEvents()
	if wf := e.get("build"); wf.Version != 1 || !e.cached("build") {
		t.Fatalf("first get: version %d, cached %v", wf.Version, e.cached("build"))
	}
	e.get("build") // from the cache
	e.noEvents()

	e.sneakyEdit("build", "go build", "go vet  ")
	if wf := e.get("build"); wf.Version != 2 || wf.Nodes[0].Params["command"] != "go vet   ./..." {
		t.Fatalf("after an in-place edit: version %d, %v", wf.Version, wf.Nodes[0].Params)
	}
	e.expectEvent(flow.EventWorkflowUpdated, "build", 2, "disk")

	// A file renamed over the workflow, with the same size and mtime.
	path := filepath.Join(e.dir, "build.json")
	fi, _ := os.Stat(path)
	tmp := filepath.Join(t.TempDir(), "x.json")
	must(t, os.WriteFile(tmp, []byte(strings.Replace(e.file("build"), "go vet  ", "go fmt  ", 1)), 0o644))
	must(t, os.Chtimes(tmp, fi.ModTime(), fi.ModTime()))
	must(t, os.Rename(tmp, path))
	if wf := e.get("build"); wf.Version != 3 || wf.Nodes[0].Params["command"] != "go fmt   ./..." {
		t.Fatalf("after a rename over it: version %d, %v", wf.Version, wf.Nodes[0].Params)
	}
	e.expectEvent(flow.EventWorkflowUpdated, "build", 3, "disk")

	must(t, os.Remove(path))
	if _, err := e.svc.Get(context.Background(), e.project.ID, "build"); code(err) != flow.ENOTFOUND {
		t.Fatalf("after removal: %v", err)
	}
	e.expectEvent(flow.EventWorkflowDeleted, "build", 4, "disk")
}

// TestCachedGetAfterOwnChanges: our own save of identical content (the
// file is not rewritten, so its stat stays) and our own delete are seen by
// the next Get.
func TestCachedGetAfterOwnChanges(t *testing.T) {
	e := newEnv(t, Options{Now: cleanClock})
	e.save("build", validWorkflow(), 0)
	e.get("build")
	if v := e.save("build", validWorkflow(), 1); v != 2 {
		t.Fatalf("resave: version %d", v)
	}
	if wf := e.get("build"); wf.Version != 2 {
		t.Fatalf("get after an identical save: version %d", wf.Version)
	}
	changed := validWorkflow()
	changed.Name = "Renamed"
	e.save("build", changed, 2)
	if wf := e.get("build"); wf.Version != 3 || wf.Name != "Renamed" {
		t.Fatalf("get after a save: %d %q", wf.Version, wf.Name)
	}
	must(t, e.svc.Delete(context.Background(), e.project.ID, "build"))
	if _, err := e.svc.Get(context.Background(), e.project.ID, "build"); code(err) != flow.ENOTFOUND {
		t.Fatalf("get after delete: %v", err)
	}
}

// TestCachedGetReturnsACopy: what a caller does to a workflow it got does
// not reach the next caller.
func TestCachedGetReturnsACopy(t *testing.T) {
	e := newEnv(t, Options{Now: cleanClock})
	wf := validWorkflow()
	wf.Triggers = []flow.Trigger{{ID: "t", Type: "webhook", Enabled: new(bool)}}
	wf.Inputs = []byte(`{"type":"object"}`)
	e.save("build", wf, 0)
	inputs := string(e.get("build").Inputs)
	for i := 0; i < 2; i++ { // the first from the file, the second from memory
		got := e.get("build")
		got.Name = "x"
		got.Nodes[0].Params["command"] = "rm -rf /"
		got.Nodes[2].Retry.Max = 99
		got.Nodes[0].Position.X = 5
		got.Edges[0].Target = "nowhere"
		got.Triggers[0].ID = "u"
		*got.Triggers[0].Enabled = true
		got.Inputs[0] = '['
		got.Nodes = got.Nodes[:1]
	}
	got := e.get("build")
	if got.Name != "Build and test" || len(got.Nodes) != 3 || got.Nodes[0].Params["command"] != "go build ./..." ||
		got.Nodes[2].Retry.Max != 2 || got.Nodes[0].Position.X != 0 || got.Edges[0].Target != "pause" ||
		got.Triggers[0].ID != "t" || *got.Triggers[0].Enabled || string(got.Inputs) != inputs {
		t.Fatalf("a caller's change leaked into the cache: %+v", got)
	}
}

// switchableTools is a tool registry whose tools come and go.
type switchableTools struct {
	mu   sync.Mutex
	tool map[string]bool
}

func (s *switchableTools) Has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tool[name]
}

func (s *switchableTools) set(name string, has bool) {
	s.mu.Lock()
	s.tool[name] = has
	s.mu.Unlock()
}

// TestCachedGetFollowsTheToolRegistry: a cached workflow is validated
// against the registry as it is now: a tool that went away makes it
// invalid, one that came back makes it valid again.
func TestCachedGetFollowsTheToolRegistry(t *testing.T) {
	e := newEnv(t, Options{Now: cleanClock})
	tools := &switchableTools{tool: map[string]bool{"shell": true, "delay": true}}
	e.svc.tools = tools
	ctx := context.Background()
	e.save("build", validWorkflow(), 0)
	e.get("build")
	e.get("build")
	tools.set("delay", false)
	_, err := e.svc.Get(ctx, e.project.ID, "build")
	if code(err) != flow.EINVALID || !strings.Contains(fmt.Sprint(err.(*flow.Error).Details), `unknown tool "delay"`) {
		t.Fatalf("after the tool went away: %v", err)
	}
	tools.set("delay", true)
	if wf := e.get("build"); wf.Version != 1 {
		t.Fatalf("after the tool came back: %+v", wf)
	}
}

// TestRacilyCleanFileIsReadAgain: on a file system whose timestamps are
// too coarse to show a second write (played by a stat that never changes),
// a file that changed within RacyWindow of being read is read again, so
// the edit is still seen.
func TestRacilyCleanFileIsReadAgain(t *testing.T) {
	e := newEnv(t, Options{Now: time.Now})
	e.needsCache()
	e.save("build", validWorkflow(), 0)
	e.takeEvents()
	e.get("build")
	ent, ok := e.svc.snaps.get(snapKey{e.project.ID, "build"})
	if !ok || !ent.ident.racy(ent.readAt) {
		t.Fatalf("entry cached %v, racy %v", ok, ok && ent.ident.racy(ent.readAt))
	}
	e.svc.statFile = func(string) (fileIdent, bool) { return ent.ident, true }
	e.writeFile("build", strings.Replace(e.file("build"), "go build", "go vet  ", 1))
	if wf := e.get("build"); wf.Version != 2 || wf.Nodes[0].Params["command"] != "go vet   ./..." {
		t.Fatalf("racy edit missed: version %d, %v", wf.Version, wf.Nodes[0].Params)
	}
	e.expectEvent(flow.EventWorkflowUpdated, "build", 2, "disk")
}

// TestRacyReReadNeverFollowsAPathElsewhere: the racy re-read opens the
// path itself, so it must not accept what a symlink put in the file's
// place leads to (here: out of the project, the same bytes), even with a
// stat that claims nothing changed; the confined read then flags the
// symlink.
func TestRacyReReadNeverFollowsAPathElsewhere(t *testing.T) {
	e := newEnv(t, Options{Now: time.Now})
	e.needsCache()
	e.save("build", validWorkflow(), 0)
	e.takeEvents()
	content := e.file("build")
	e.get("build")
	ent, ok := e.svc.snaps.get(snapKey{e.project.ID, "build"})
	if !ok || !ent.ident.racy(ent.readAt) {
		t.Fatalf("entry cached %v", ok)
	}
	e.svc.statFile = func(string) (fileIdent, bool) { return ent.ident, true }
	outside := filepath.Join(t.TempDir(), "elsewhere.json")
	must(t, os.WriteFile(outside, []byte(content), 0o644)) // even the same bytes: not this file
	path := filepath.Join(e.dir, "build.json")
	must(t, os.Remove(path))
	must(t, os.Symlink(outside, path))
	snap, err := e.svc.Snapshot(context.Background(), e.project.ID, "build")
	if err != nil || snap.Workflow != nil || len(snap.Problems) != 1 {
		t.Fatalf("snapshot through a symlink out of the project: %+v %v", snap, err)
	}
}

// TestCachedIndexRowIsReadAgainAfterTTL: a change of the index row that
// this process did not make (another node on the same database saving the
// same bytes) is seen once CacheTTL has passed; a deleted project is gone
// at once after ForgetProject.
func TestCachedIndexRowIsReadAgainAfterTTL(t *testing.T) {
	var mu sync.Mutex
	now := time.Now().Add(time.Hour)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnv(t, Options{Now: clock})
	ctx := context.Background()
	e.save("build", validWorkflow(), 0)
	e.get("build")
	en := e.entry("build")
	en.Version = 7
	must(t, e.db.Write(ctx, func(tx *store.Tx) error { return tx.PutWorkflowEntry(ctx, &en) }))
	mu.Lock()
	now = now.Add(CacheTTL)
	mu.Unlock()
	if wf := e.get("build"); wf.Version != 7 {
		t.Fatalf("after the TTL: version %d, want 7", wf.Version)
	}

	must(t, e.db.DeleteProject(ctx, e.project.ID))
	e.svc.ForgetProject(e.project.ID)
	if _, err := e.svc.Get(ctx, e.project.ID, "build"); code(err) != flow.ENOTFOUND {
		t.Fatalf("deleted project: %v", err)
	}
}

// TestCachedGetNeverMixesVersions: readers racing saves (every other save
// has identical content, so its file is not rewritten) only ever see a
// version together with the content that version was saved with.
func TestCachedGetNeverMixesVersions(t *testing.T) {
	e := newEnv(t, Options{Now: cleanClock})
	ctx := context.Background()
	wf := validWorkflow()
	wf.Nodes[1].Params["ms"] = 0.0
	e.save("build", wf, 0)
	saved := sync.Map{} // version -> ms
	saved.Store(int64(1), 0.0)
	var stop atomic.Bool
	var wg sync.WaitGroup
	type seen struct {
		v  int64
		ms any
	}
	reads := make([][]seen, 4)
	for r := range reads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				got, err := e.svc.Get(ctx, e.project.ID, "build")
				if err != nil {
					t.Error(err)
					return
				}
				reads[r] = append(reads[r], seen{got.Version, got.Nodes[1].Params["ms"]})
			}
		}()
	}
	for i := 1; i <= 60; i++ {
		wf.Nodes[1].Params["ms"] = float64(i / 2) // each content twice in a row
		v, err := e.svc.Save(ctx, e.project.ID, "build", wf, -1, "api")
		if err != nil {
			t.Fatal(err)
		}
		saved.Store(v, float64(i/2))
	}
	stop.Store(true)
	wg.Wait()
	n := 0
	for _, rs := range reads {
		for _, s := range rs {
			ms, ok := saved.Load(s.v)
			if !ok || ms != s.ms {
				t.Fatalf("version %d read with ms %v, saved with %v", s.v, s.ms, ms)
			}
			n++
		}
	}
	if got := e.get("build"); got.Version != 61 || got.Nodes[1].Params["ms"] != 30.0 {
		t.Fatalf("last: %d %v", got.Version, got.Nodes[1].Params["ms"])
	}
	t.Logf("%d reads checked", n)
}

// BenchmarkGetCached: what the engine pays per StartRun for an unchanged
// workflow (a stat, a clone, a validation).
func BenchmarkGetCached(b *testing.B) {
	e := newEnv(b, Options{Now: cleanClock})
	ctx := context.Background()
	e.save("build", validWorkflow(), -1)
	for b.Loop() {
		if _, err := e.svc.Get(ctx, e.project.ID, "build"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetRacy: the same Get while the file changed less than
// RacyWindow before it was read (just saved): its bytes are read again and
// compared, but not decoded, validated or looked up in the database.
func BenchmarkGetRacy(b *testing.B) {
	e := newEnv(b, Options{Now: time.Now})
	ctx := context.Background()
	e.save("build", validWorkflow(), -1)
	for b.Loop() {
		if _, err := e.svc.Get(ctx, e.project.ID, "build"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSharedIsOneValueUntilTheFileChanges: Shared hands out the same value
// while the file is unchanged, so the engine may keep what it derived from
// it, and a new one, with the new content, after any change: an outside
// edit, a save of ours. An invalid file is an error, as for Get.
func TestSharedIsOneValueUntilTheFileChanges(t *testing.T) {
	e := newEnv(t, Options{Now: cleanClock})
	e.needsCache()
	ctx := context.Background()
	shared := func() *flow.Workflow {
		t.Helper()
		wf, err := e.svc.Shared(ctx, e.project.ID, "build")
		if err != nil {
			t.Fatal(err)
		}
		return wf
	}
	e.save("build", validWorkflow(), 0)
	shared() // reads the file, fills the cache
	one := shared()
	if again := shared(); again != one || one.ID != "build" || one.Version != 1 {
		t.Fatalf("unchanged file: %p %p, id %q version %d", one, again, one.ID, one.Version)
	}
	if got := e.get("build"); got == one {
		t.Fatal("Get handed out the shared value")
	}

	e.sneakyEdit("build", "go build", "go vet  ")
	edited := shared()
	if edited == one || edited.Version != 2 || edited.Nodes[0].Params["command"] != "go vet   ./..." {
		t.Fatalf("after an outside edit: same %v, version %d, %v", edited == one, edited.Version, edited.Nodes[0].Params)
	}
	if one.Version != 1 || one.Nodes[0].Params["command"] != "go build ./..." {
		t.Fatalf("the value handed out before the edit changed: %d %v", one.Version, one.Nodes[0].Params)
	}

	changed := validWorkflow()
	changed.Name = "Renamed"
	e.save("build", changed, 2)
	if saved := shared(); saved == edited || saved.Name != "Renamed" || saved.Version != 3 {
		t.Fatalf("after a save: same %v, %q version %d", saved == edited, saved.Name, saved.Version)
	}

	e.writeFile("build", `{"name": "broken", "nodes": [{"id": "a", "tool": ""}], "edges": []}`)
	if _, err := e.svc.Shared(ctx, e.project.ID, "build"); code(err) != flow.EINVALID {
		t.Fatalf("invalid file: %v", err)
	}
}
