package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Edits made outside the service (an editor, git, a script) are picked up
// by Sync or on the next access: new versions, new and deleted files, and
// files that do not parse, which are flagged rather than dropped.

func TestExternalEditSeenBySync(t *testing.T) {
	e := newEnv(t, Options{})
	e.save("build", validWorkflow(), 0)
	e.takeEvents()
	e.sync()
	e.noEvents() // nothing changed

	edited := strings.Replace(e.file("build"), "go build ./...", "go vet ./...", 1) // same length
	e.writeFile("build", edited)
	e.sync()
	e.expectEvent(flow.EventWorkflowUpdated, "build", 2, "disk")
	e.sync()
	e.noEvents() // adopted once

	got, err := e.svc.Get(context.Background(), e.project.ID, "build")
	if err != nil || got.Version != 2 || got.Nodes[0].Params["command"] != "go vet ./..." {
		t.Fatalf("%+v %v", got, err)
	}
	// A save based on the version before the edit conflicts instead of
	// silently overwriting the edit.
	if _, err := e.svc.Save(context.Background(), e.project.ID, "build", validWorkflow(), 1, "api"); code(err) != flow.ECONFLICT {
		t.Fatalf("stale save: %v", err)
	}
}

func TestExternalEditSeenOnAccessWithoutWatcher(t *testing.T) {
	e := newEnv(t, Options{})
	e.save("build", validWorkflow(), 0)
	e.takeEvents()
	e.writeFile("build", strings.Replace(e.file("build"), `"ms": 200`, `"ms": 300`, 1))
	got, err := e.svc.Get(context.Background(), e.project.ID, "build")
	if err != nil || got.Version != 2 || got.Nodes[1].Params["ms"] != 300.0 {
		t.Fatalf("%+v %v", got, err)
	}
	e.expectEvent(flow.EventWorkflowUpdated, "build", 2, "disk")

	// An edit just before a save is adopted first, so the save with the
	// old base conflicts and the edit is kept.
	e.writeFile("build", strings.Replace(e.file("build"), `"ms": 300`, `"ms": 400`, 1))
	_, err = e.svc.Save(context.Background(), e.project.ID, "build", validWorkflow(), 2, "api")
	var fe *flow.Error
	if !errors.As(err, &fe) || fe.Code != flow.ECONFLICT || fe.Details.(flow.WorkflowConflict).Version != 3 ||
		fe.Details.(flow.WorkflowConflict).Workflow.Nodes[1].Params["ms"] != 400.0 {
		t.Fatalf("%v", err)
	}
	e.expectEvent(flow.EventWorkflowUpdated, "build", 3, "disk")
}

func TestTouchWithoutChangeIsNotAnEdit(t *testing.T) {
	e := newEnv(t, Options{})
	e.save("build", validWorkflow(), 0)
	e.takeEvents()
	later := time.Now().Add(time.Hour)
	must(t, os.Chtimes(filepath.Join(e.dir, "build.json"), later, later))
	e.sync()
	e.noEvents()
	if en := e.entry("build"); en.Version != 1 || en.MtimeNs != later.UnixNano() {
		t.Fatalf("%+v", en)
	}
}

func TestExternalCreateAndDelete(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	must(t, os.MkdirAll(e.dir, 0o755))
	e.writeFile("checkout", exampleFile) // e.g. git checkout brought it
	e.sync()
	e.expectEvent(flow.EventWorkflowUpdated, "checkout", 1, "disk")

	_ = os.Remove(filepath.Join(e.dir, "checkout.json"))
	e.sync()
	e.expectEvent(flow.EventWorkflowDeleted, "checkout", 2, "disk")
	if _, err := e.svc.Get(ctx, e.project.ID, "checkout"); code(err) != flow.ENOTFOUND {
		t.Fatal(err)
	}
	if en := e.entry("checkout"); !en.Deleted {
		t.Fatalf("%+v", en)
	}
	// Re-created: the version keeps counting, base 0 means "create".
	if v := e.save("checkout", validWorkflow(), 0); v != 3 {
		t.Fatalf("version %d", v)
	}
	e.expectEvent(flow.EventWorkflowUpdated, "checkout", 3, "api")

	// Removing the whole directory deletes everything in it.
	must(t, os.RemoveAll(filepath.Join(e.project.Path, ".flowweaver")))
	e.sync()
	e.expectEvent(flow.EventWorkflowDeleted, "checkout", 4, "disk")

	// A project folder that vanished is an error, not a mass deletion.
	e.save("again", validWorkflow(), 0)
	e.takeEvents()
	moved := e.project.Path + "-moved"
	must(t, os.Rename(e.project.Path, moved))
	t.Cleanup(func() { _ = os.RemoveAll(moved) })
	if err := e.svc.Sync(ctx, e.project.ID); code(err) != flow.EUNAVAILABLE {
		t.Fatalf("sync of a missing folder: %v", err)
	}
	e.noEvents()
}

func TestInvalidExternalFileIsFlagged(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.save("good", validWorkflow(), 0)
	e.save("build", validWorkflow(), 0)
	e.takeEvents()

	e.writeFile("build", `{"name": "half written", "nodes": [`)
	e.writeFile("cyclic", `{"name":"c","nodes":[{"id":"a","tool":"log"},{"id":"b","tool":"log"}],"edges":[{"source":"a","target":"b"},{"source":"b","target":"a"}]}`)
	e.writeFile("notes", "") // empty file
	e.sync()
	evs := e.takeEvents()
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	for _, ev := range evs {
		var p payload
		must(t, json.Unmarshal(ev.Payload, &p))
		if ev.Type != flow.EventWorkflowUpdated || p.By != "disk" || len(p.Problems) == 0 {
			t.Fatalf("%s %+v", ev.Type, p)
		}
	}

	sums, err := e.svc.Summaries(ctx, e.project.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id    string
		valid bool
		name  string
		nodes int
		msg   string
	}{
		{"build", false, "", 0, "cut short"},
		{"cyclic", false, "c", 2, "a -> b -> a"},
		{"good", true, "Build and test", 3, ""},
		{"notes", false, "", 0, "empty"},
	}
	if len(sums) != len(want) {
		t.Fatalf("%+v", sums)
	}
	for i, w := range want {
		s := sums[i]
		if s.ID != w.id || s.Valid != w.valid || s.Name != w.name || s.NodeCount != w.nodes || (w.msg != "" && !strings.Contains(s.Problems[0].Message, w.msg)) {
			t.Errorf("summary %d: %+v, want %+v", i, s, w)
		}
	}
	list, err := e.svc.List(ctx, e.project.ID)
	if err != nil || len(list) != 1 || list[0].ID != "good" || list[0].Version != 1 {
		t.Fatalf("list %+v %v", list, err)
	}
	_, err = e.svc.Get(ctx, e.project.ID, "cyclic")
	var fe *flow.Error
	if !errors.As(err, &fe) || fe.Code != flow.EINVALID || !strings.Contains(fe.Message, ".flowweaver/workflows/cyclic.json is invalid: 1 problems") {
		t.Fatalf("get invalid: %v", err)
	}
	snap, err := e.svc.Snapshot(ctx, e.project.ID, "cyclic")
	if err != nil || snap.Version != 1 || snap.Workflow == nil || len(snap.Problems) != 1 {
		t.Fatalf("snapshot %+v %v", snap, err)
	}
	e.noEvents()

	// The editor fixes it with a normal save.
	if v := e.save("build", validWorkflow(), 2); v != 3 {
		t.Fatalf("version %d", v)
	}
}
