package store_test

// The conformance suite: every test here runs against the backend FW_STORE
// selects (sqlite by default, postgres in CI's second pass), and asserts
// what both must guarantee the same way.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
)

func createProjects(t *testing.T, db *store.DB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := db.CreateProject(context.Background(), &flow.Project{ID: id, Name: id, Path: "/work/" + id}); err != nil {
			t.Fatal(err)
		}
	}
}

// recorder collects what OnCommit publishes.
type recorder struct {
	mu  sync.Mutex
	evs []flow.Event
}

func (r *recorder) onCommit(evs []flow.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, evs...)
	r.mu.Unlock()
}

func (r *recorder) events() []flow.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

func TestConformanceMigrationsFromEmpty(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t)
	db, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if db.Dialect() != storetest.Backend() {
		t.Fatalf("opened %s, want %s", db.Dialect(), storetest.Backend())
	}
	var applied int
	if err := db.Read().QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied == 0 {
		t.Fatal("no migration recorded")
	}
	createProjects(t, db, "p1")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening migrates nothing and keeps the data.
	db2 := storetest.OpenDSN(t, dsn, store.Options{})
	var again int
	if err := db2.Read().QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&again); err != nil {
		t.Fatal(err)
	}
	if again != applied {
		t.Fatalf("reopen recorded %d migrations, first open %d", again, applied)
	}
	if _, err := db2.Project(ctx, "p1"); err != nil {
		t.Fatalf("project lost on reopen: %v", err)
	}
}

// TestConformanceRollbackLeavesNothing: a job, a run and events written
// in one transaction that fails are all gone, nothing is published, and
// the next event takes the seq the rolled-back one had.
func TestConformanceRollbackLeavesNothing(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	db := storetest.Open(t, store.Options{OnCommit: rec.onCommit})
	createProjects(t, db, "p1")
	boom := errors.New("boom")
	err := db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertRun(ctx, &store.RunRow{Run: flow.Run{ID: "r1", ProjectID: "p1", WorkflowID: "w", Status: flow.RunQueued, Workflow: []byte("{}")}}, []string{"a", "b"}); err != nil {
			return err
		}
		if err := tx.InsertJob(ctx, &store.JobRow{ProjectID: "p1", Kind: "run", Ref: "r1", MaxAttempts: 3}); err != nil {
			return err
		}
		for range 3 {
			ev := flow.NewEvent("p1", flow.EventNotification, "r1", "", map[string]string{"m": "x"})
			if err := tx.AppendEvent(ctx, &ev); err != nil {
				return err
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write: %v", err)
	}
	counts, err := db.JobCounts(ctx)
	if err != nil || counts["available"] != 0 {
		t.Fatalf("job survived the rollback: %v %v", counts, err)
	}
	if _, err := db.GetRun(ctx, "p1", "r1"); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("run survived the rollback: %v", err)
	}
	if evs, err := db.EventsSince(ctx, "p1", 0, 100); err != nil || len(evs) != 0 {
		t.Fatalf("events survived the rollback: %v %v", evs, err)
	}
	if _, last, _ := db.SeqRange(ctx, "p1"); last != 0 {
		t.Fatalf("last_seq %d after rollback", last)
	}
	if n := len(rec.events()); n != 0 {
		t.Fatalf("published %d events of a rolled-back transaction", n)
	}
	ev := flow.NewEvent("p1", flow.EventNotification, "", "", nil)
	if err := db.AppendEvent(ctx, &ev); err != nil || ev.Seq != 1 {
		t.Fatalf("seq after rollback = %d (%v), want 1", ev.Seq, err)
	}
	bad := flow.NewEvent("nope", flow.EventNotification, "", "", nil)
	if err := db.AppendEvent(ctx, &bad); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("event for unknown project: %v", err)
	}
}

// TestConformanceGaplessSeqUnderConcurrentWriters: writers append 1-3
// events per transaction to two projects and hold their transaction open
// for a random time before committing (some roll back). Per project, the
// log holds exactly seqs 1..n, and OnCommit published exactly those, in
// seq order, each once.
func TestConformanceGaplessSeqUnderConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	db := storetest.Open(t, store.Options{OnCommit: rec.onCommit})
	createProjects(t, db, "a", "b")
	const writers, txs = 8, 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	committed := map[string]int64{}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
			for i := range txs {
				n := 1 + rng.IntN(3)
				per := map[string]int64{}
				rollback := rng.IntN(5) == 0
				err := db.Write(ctx, func(tx *store.Tx) error {
					for k := range n {
						p := []string{"a", "b"}[rng.IntN(2)]
						ev := flow.NewEvent(p, flow.EventNotification, "", "", map[string]int{"w": w, "i": i, "k": k})
						if err := tx.AppendEvent(ctx, &ev); err != nil {
							return err
						}
						per[p]++
					}
					time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
					if rollback {
						return errRollback
					}
					return nil
				})
				if rollback && errors.Is(err, errRollback) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for p, c := range per {
					committed[p] += c
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	published := map[string][]int64{}
	for _, ev := range rec.events() {
		published[ev.ProjectID] = append(published[ev.ProjectID], ev.Seq)
	}
	for _, p := range []string{"a", "b"} {
		want := make([]int64, committed[p])
		for i := range want {
			want[i] = int64(i + 1)
		}
		evs, err := db.EventsSince(ctx, p, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		var logged []int64
		for _, ev := range evs {
			logged = append(logged, ev.Seq)
		}
		if !slices.Equal(logged, want) {
			t.Fatalf("project %s: log seqs %v, want 1..%d", p, logged, committed[p])
		}
		if !slices.Equal(published[p], want) {
			t.Fatalf("project %s: published %v, want 1..%d in order", p, published[p], committed[p])
		}
		if _, last, _ := db.SeqRange(ctx, p); last != committed[p] {
			t.Fatalf("project %s: last_seq %d, committed %d", p, last, committed[p])
		}
	}
}

var errRollback = errors.New("roll back on purpose")

// TestConformanceExactReplayWithPaging: reading a channel page by page
// from any cursor returns exactly its events, in order, none twice.
func TestConformanceExactReplayWithPaging(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Options{})
	createProjects(t, db, "p1")
	const total = 300
	err := db.Write(ctx, func(tx *store.Tx) error {
		for i := range total {
			var ev flow.Event
			switch i % 3 {
			case 0:
				ev = flow.NewEvent("p1", flow.EventNotification, "", "", map[string]int{"i": i})
			case 1:
				ev = flow.NewEvent("p1", "run.started", "r1", "w1", map[string]int{"i": i})
			default:
				ev = flow.NewEvent("p1", "node.started", "r1", "w1", map[string]int{"i": i})
			}
			if err := tx.AppendEvent(ctx, &ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all, err := db.EventsSince(ctx, "p1", 0, total+10)
	if err != nil || len(all) != total {
		t.Fatalf("all events: %d %v", len(all), err)
	}
	for _, channel := range []string{"project:p1", "run:r1"} {
		var want []flow.Event
		for _, ev := range all {
			isNode := strings.HasPrefix(ev.Type, "node.")
			inProject := !isNode && !strings.HasPrefix(ev.Type, "tools.")
			inRun := ev.RunID == "r1" && (isNode || strings.HasPrefix(ev.Type, "run."))
			if (channel == "project:p1" && inProject) || (channel == "run:r1" && inRun) {
				want = append(want, ev)
			}
		}
		for _, from := range []int64{0, 1, 57, total - 1} {
			var got []flow.Event
			cursor := from
			for {
				page, err := db.EventsAfter(ctx, "p1", channel, cursor, 7)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				cursor = page[len(page)-1].Seq
			}
			var exp []flow.Event
			for _, ev := range want {
				if ev.Seq > from {
					exp = append(exp, ev)
				}
			}
			if len(got) != len(exp) {
				t.Fatalf("%s from %d: %d events, want %d", channel, from, len(got), len(exp))
			}
			for i := range got {
				if got[i].Seq != exp[i].Seq || got[i].Type != exp[i].Type || !bytes.Equal(got[i].Payload, exp[i].Payload) || !got[i].TS.Equal(exp[i].TS) {
					t.Fatalf("%s from %d: event %d = %+v, want %+v", channel, from, i, got[i], exp[i])
				}
			}
		}
	}
	// Paging the whole log by cursor gives every seq once.
	var seqs []int64
	for cursor := int64(0); ; {
		page, err := db.EventsSince(ctx, "p1", cursor, 11)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, ev := range page {
			seqs = append(seqs, ev.Seq)
		}
		cursor = page[len(page)-1].Seq
	}
	if len(seqs) != total || seqs[0] != 1 || seqs[total-1] != total {
		t.Fatalf("cursor paging: %d seqs, %v..%v", len(seqs), seqs[0], seqs[len(seqs)-1])
	}
}

// TestConformancePayloadsOver8KB: large payloads (beyond PostgreSQL's
// 8 KB page, where TOAST takes over, and SQLite's overflow pages) come
// back byte for byte: events, job payloads, node outputs, settings.
func TestConformancePayloadsOver8KB(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Options{})
	createProjects(t, db, "p1")
	for _, size := range []int{9 * 1024, 200 * 1024, 2 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			blob := make([]byte, size)
			for i := range blob {
				blob[i] = 'a' + byte(i*31%26)
			}
			payload := []byte(`{"data":"` + string(blob) + `"}`)
			ev := flow.Event{ProjectID: "p1", Type: flow.EventNotification, Payload: payload}
			runID := fmt.Sprint("r", size)
			var job store.JobRow
			err := db.Write(ctx, func(tx *store.Tx) error {
				if err := tx.AppendEvent(ctx, &ev); err != nil {
					return err
				}
				job = store.JobRow{ProjectID: "p1", Kind: "k", Payload: blob, MaxAttempts: 1}
				if err := tx.InsertJob(ctx, &job); err != nil {
					return err
				}
				if err := tx.InsertRun(ctx, &store.RunRow{Run: flow.Run{ID: runID, ProjectID: "p1", WorkflowID: "w", Status: flow.RunQueued, Workflow: payload}}, []string{"n1"}); err != nil {
					return err
				}
				return tx.FinishNode(ctx, runID, "n1", flow.NodeSucceeded, 1, 5, payload, "")
			})
			if err != nil {
				t.Fatal(err)
			}
			evs, err := db.EventsAfter(ctx, "p1", "project:p1", ev.Seq-1, 1)
			if err != nil || len(evs) != 1 || !bytes.Equal(evs[0].Payload, payload) {
				t.Fatalf("event payload of %d bytes did not round-trip (%v)", len(payload), err)
			}
			got, ok, err := db.Job(ctx, job.ID)
			if err != nil || !ok || !bytes.Equal(got.Payload, blob) {
				t.Fatalf("job payload of %d bytes did not round-trip (%v)", len(blob), err)
			}
			run, err := db.GetRun(ctx, "p1", runID)
			if err != nil || !bytes.Equal(run.Workflow, payload) || len(run.Nodes) != 1 || !bytes.Equal(run.Nodes[0].Output, payload) {
				t.Fatalf("run snapshot / node output did not round-trip (%v)", err)
			}
			if err := db.SetSetting(ctx, "big", blob); err != nil {
				t.Fatal(err)
			}
			if v, err := db.Setting(ctx, "big"); err != nil || !bytes.Equal(v, blob) {
				t.Fatalf("setting of %d bytes did not round-trip (%v)", len(blob), err)
			}
		})
	}
}

// TestConformanceNulInTextIsStored: a NUL byte in a text value (a node's
// error taken from a process's stderr) does not fail the transaction on
// PostgreSQL, whose text cannot hold it; it reads back as U+FFFD there and
// unchanged on SQLite.
func TestConformanceNulInTextIsStored(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Options{})
	createProjects(t, db, "p1")
	err := db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertRun(ctx, &store.RunRow{Run: flow.Run{ID: "r1", ProjectID: "p1", WorkflowID: "w", Status: flow.RunQueued, Workflow: []byte("{}")}}, []string{"n1"}); err != nil {
			return err
		}
		return tx.FinishNode(ctx, "r1", "n1", flow.NodeFailed, 1, 1, nil, "bad\x00byte")
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := db.GetRun(ctx, "p1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	want := "bad\x00byte"
	if db.Dialect() == store.Postgres {
		want = "bad\uFFFDbyte"
	}
	if got := run.Nodes[0].Error; got != want {
		t.Fatalf("error %q, want %q", got, want)
	}
}
