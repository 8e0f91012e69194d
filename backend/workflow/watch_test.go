package workflow

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// The watcher: external edits arrive as events without a request, it stops
// with its context, one watcher serves every project, and the stat fast path.

func TestWatcherPicksUpExternalEdits(t *testing.T) {
	e := newEnv(t, Options{PollInterval: 20 * time.Millisecond})
	ctx := context.Background()
	e.save("build", validWorkflow(), 0)
	e.takeEvents()
	if err := e.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { must(t, e.svc.Stop(ctx)) }()
	must(t, e.svc.Start(ctx)) // second Start is a no-op
	e.svc.Watch(e.project.ID)
	e.svc.Watch(e.project.ID)
	e.svc.Unwatch(e.project.ID) // still watched once

	wait := func(typ string) payload {
		t.Helper()
		deadline := time.After(30 * time.Second) // hang guard only
		for {
			e.mu.Lock()
			evs := e.events
			e.mu.Unlock()
			if len(evs) > 0 {
				break
			}
			select {
			case <-e.notify:
			case <-deadline:
				t.Fatalf("no %s event from the watcher", typ)
			}
		}
		e.mu.Lock()
		ev := e.events[0]
		e.events = e.events[1:]
		e.mu.Unlock()
		var p payload
		must(t, json.Unmarshal(ev.Payload, &p))
		if ev.Type != typ || p.By != "disk" {
			t.Fatalf("%s %+v", ev.Type, p)
		}
		return p
	}

	e.writeFile("build", strings.Replace(e.file("build"), "go build", "go vet ", 1)) // same size, same tick likely
	if p := wait(flow.EventWorkflowUpdated); p.Version != 2 {
		t.Fatalf("%+v", p)
	}
	e.writeFile("broken", "{")
	if p := wait(flow.EventWorkflowUpdated); p.WorkflowID != "broken" || len(p.Problems) != 1 {
		t.Fatalf("%+v", p)
	}
	_ = os.Remove(filepath.Join(e.dir, "build.json"))
	if p := wait(flow.EventWorkflowDeleted); p.WorkflowID != "build" || p.Version != 3 {
		t.Fatalf("%+v", p)
	}
	if err := e.svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Stop(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	e.svc.Unwatch(e.project.ID)
	if w := e.svc.Watched(); len(w) != 0 {
		t.Fatalf("still watched: %v", w)
	}
}

func TestWatcherStopsWithContext(t *testing.T) {
	e := newEnv(t, Options{PollInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	e.svc.Watch(e.project.ID)
	if err := e.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	stopCtx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	if err := e.svc.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
}

func TestWatchAllProjects(t *testing.T) {
	e := newEnv(t, Options{PollInterval: 20 * time.Millisecond, WatchAllProjects: true})
	ctx := context.Background()
	e.save("build", validWorkflow(), 0)
	e.takeEvents()
	if err := e.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.svc.Stop(ctx) }()
	_ = os.Remove(filepath.Join(e.dir, "build.json")) // no Watch call
	deadline := time.After(30 * time.Second)          // hang guard only
	for {
		select {
		case <-e.notify:
		case <-deadline:
			t.Fatal("no event")
		}
		if evs := e.takeEvents(); len(evs) > 0 {
			if len(evs) != 1 || evs[0].Type != flow.EventWorkflowDeleted {
				t.Fatalf("%+v", evs)
			}
			return
		}
	}
}

// TestStatFastPath pins down the trade-off of the watcher: a file whose
// mtime and size match the index and that is not racily clean is not read
// by Sync, so an edit that restores the old mtime with the same size is
// only seen on the next access (Get always hashes); an edit within the
// racy window is seen even with an unchanged stat.
func TestStatFastPath(t *testing.T) {
	var now time.Time
	e := newEnv(t, Options{Now: func() time.Time { return now }})
	e.save("build", validWorkflow(), 0)
	e.takeEvents()
	path := filepath.Join(e.dir, "build.json")
	fi, _ := os.Stat(path)
	sneaky := func(from, to string) {
		e.writeFile("build", strings.Replace(e.file("build"), from, to, 1))
		if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}

	now = fi.ModTime().Add(time.Second) // racy: hashed despite the same stat
	sneaky("go build", "go vet ")
	e.sync()
	e.expectEvent(flow.EventWorkflowUpdated, "build", 2, "disk")
	fi, _ = os.Stat(path)

	now = fi.ModTime().Add(time.Hour) // clean: the stat is trusted
	sneaky("go vet ", "go fmt ")
	e.sync()
	e.noEvents()
	got, err := e.svc.Get(context.Background(), e.project.ID, "build")
	if err != nil || got.Version != 3 || got.Nodes[0].Params["command"] != "go fmt  ./..." {
		t.Fatalf("%+v %v", got, err)
	}
	e.expectEvent(flow.EventWorkflowUpdated, "build", 3, "disk")
}
