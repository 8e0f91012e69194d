package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Events of one transaction are inserted in chunks of eventRowsPerInsert
// rows before the commit: every one of them is stored once, in seq order,
// with its own payload, whatever the count (one chunk, several, a partial
// last one), and the commit hook sees the same events.
func TestManyEventsInOneTransaction(t *testing.T) {
	ctx := context.Background()
	var published []flow.Event
	db := openTest(t, filepath.Join(t.TempDir(), "fw.db"), Options{OnCommit: func(evs []flow.Event) { published = append(published, evs...) }})
	for _, p := range []string{"p1", "p2"} {
		if err := db.CreateProject(ctx, &flow.Project{ID: p, Name: p, Path: "/tmp/" + p + t.Name()}); err != nil {
			t.Fatal(err)
		}
	}
	counts := []int{1, eventRowsPerInsert, 2*eventRowsPerInsert + 5}
	want := map[string]int{}
	for _, n := range counts {
		err := db.Write(ctx, func(tx *Tx) error {
			for i := 0; i < n; i++ {
				p := []string{"p1", "p2"}[i%2]
				want[p]++
				ev := flow.NewEvent(p, "notification", "", "", map[string]any{"i": want[p]})
				if err := tx.AppendEvent(ctx, &ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%d events: %v", n, err)
		}
	}
	for _, p := range []string{"p1", "p2"} {
		evs, err := db.EventsAfter(ctx, p, "project:"+p, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != want[p] {
			t.Fatalf("%s: %d events stored, want %d", p, len(evs), want[p])
		}
		for i, ev := range evs {
			if ev.Seq != int64(i+1) || string(ev.Payload) != fmt.Sprintf(`{"i":%d}`, i+1) {
				t.Fatalf("%s event %d: seq %d payload %s", p, i, ev.Seq, ev.Payload)
			}
		}
	}
	if len(published) != want["p1"]+want["p2"] {
		t.Fatalf("published %d events, want %d", len(published), want["p1"]+want["p2"])
	}
}

// TestEventsInBlocksOfProjects: the events of a transaction are written
// per run of consecutive events of one project (its id and the
// transaction's clock bound once per statement), so blocks of different
// lengths, interleaved, longer than a chunk or of one event, all land in
// their own project with their own seq, type, run, workflow and payload
// and the transaction's timestamp.
func TestEventsInBlocksOfProjects(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1_700_000_000_123).UTC()
	db := openTest(t, filepath.Join(t.TempDir(), "fw.db"), Options{Now: func() time.Time { return now }})
	for _, p := range []string{"p1", "p2"} {
		if err := db.CreateProject(ctx, &flow.Project{ID: p, Name: p, Path: "/tmp/" + p + t.Name()}); err != nil {
			t.Fatal(err)
		}
	}
	blocks := []struct {
		project string
		n       int
	}{{"p1", 3}, {"p2", eventRowsPerInsert + 2}, {"p1", 1}, {"p2", 1}, {"p1", 2*eventRowsPerInsert + 1}}
	want := map[string]int{}
	err := db.Write(ctx, func(tx *Tx) error {
		for _, bl := range blocks {
			for range bl.n {
				want[bl.project]++
				i := want[bl.project]
				ev := flow.NewEvent(bl.project, flow.EventRunStarted, fmt.Sprintf("r%d", i), fmt.Sprintf("w%d", i%3), map[string]any{"i": i})
				if err := tx.AppendEvent(ctx, &ev); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"p1", "p2"} {
		evs, err := db.EventsSince(ctx, p, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != want[p] {
			t.Fatalf("%s: %d events stored, want %d", p, len(evs), want[p])
		}
		for k, ev := range evs {
			i := k + 1
			if ev.Seq != int64(i) || ev.Type != flow.EventRunStarted || ev.RunID != fmt.Sprintf("r%d", i) ||
				ev.WorkflowID != fmt.Sprintf("w%d", i%3) || !ev.TS.Equal(now) || string(ev.Payload) != fmt.Sprintf(`{"i":%d}`, i) {
				t.Fatalf("%s event %d: %+v (payload %s)", p, i, ev, ev.Payload)
			}
		}
	}
}
