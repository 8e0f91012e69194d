package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// openTest opens the database at path for a test or benchmark and closes
// it at cleanup.
func openTest(t testing.TB, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close db: %v", err)
		}
	})
	return db
}

func TestMigrationsFreshAndReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fw.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Read().QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	ms, _ := loadMigrations(SQLite)
	if n != len(ms) {
		t.Fatalf("recorded %d migrations, have %d", n, len(ms))
	}
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "a", Path: "/a"}); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := db.Read().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Fatalf("journal mode %q", mode)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db2 := openTest(t, path, Options{})
	if _, err := db2.Project(ctx, "p1"); err != nil {
		t.Fatalf("data lost on reopen: %v", err)
	}
	if err := db2.Read().QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Fatalf("reopen re-ran migrations: %d rows", n)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fw.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec("INSERT INTO schema_migrations(version, name) VALUES (9999, '9999_future.sql')"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path, Options{})
	if !errors.Is(err, ErrTooNew) {
		t.Fatalf("newer schema: err = %v, want ErrTooNew", err)
	}
}

func TestCorruptFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fw.db")
	junk := make([]byte, 8192)
	for i := range junk {
		junk[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path, Options{})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt file: err = %v, want ErrCorrupt", err)
	}
	if b, _ := os.ReadFile(path); string(b) != string(junk) {
		t.Fatal("corrupt file was modified")
	}
}

func TestEventSeqPerProjectAndCommitOrder(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var published []flow.Event
	db := openTest(t, testDSN(t), Options{OnCommit: func(evs []flow.Event) {
		mu.Lock()
		published = append(published, evs...)
		mu.Unlock()
	}})
	for _, id := range []string{"a", "b"} {
		if err := db.CreateProject(ctx, &flow.Project{ID: id, Name: id, Path: "/" + id}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				p := []string{"a", "b"}[(w+i)%2]
				ev := flow.NewEvent(p, flow.EventNotification, "", "", map[string]int{"w": w, "i": i})
				if err := db.AppendEvent(ctx, &ev); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	last := map[string]int64{}
	for _, ev := range published {
		if ev.Seq != last[ev.ProjectID]+1 {
			t.Fatalf("project %s: published seq %d after %d", ev.ProjectID, ev.Seq, last[ev.ProjectID])
		}
		last[ev.ProjectID] = ev.Seq
	}
	if last["a"]+last["b"] != 400 {
		t.Fatalf("published %d events", last["a"]+last["b"])
	}
	evs, err := db.EventsAfter(ctx, "a", "project:a", 10, 1000)
	if err != nil || int64(len(evs)) != last["a"]-10 || evs[0].Seq != 11 {
		t.Fatalf("EventsAfter: %v, %d events", err, len(evs))
	}
	oldest, lastSeq, _ := db.SeqRange(ctx, "a")
	if oldest != 1 || lastSeq != last["a"] {
		t.Fatalf("SeqRange = %d, %d", oldest, lastSeq)
	}
	if _, err := db.PruneEvents(ctx, 5); err != nil {
		t.Fatal(err)
	}
	oldest, _, _ = db.SeqRange(ctx, "a")
	if oldest != last["a"]-4 {
		t.Fatalf("after prune oldest = %d, want %d", oldest, last["a"]-4)
	}
}

func TestFailedTransactionPublishesNothing(t *testing.T) {
	ctx := context.Background()
	calls := 0
	db := openTest(t, testDSN(t), Options{OnCommit: func([]flow.Event) { calls++ }})
	if err := db.CreateProject(ctx, &flow.Project{ID: "a", Name: "a", Path: "/a"}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := db.Write(ctx, func(tx *Tx) error {
		ev := flow.NewEvent("a", flow.EventNotification, "", "", nil)
		if err := tx.AppendEvent(ctx, &ev); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || calls != 0 {
		t.Fatalf("err %v calls %d", err, calls)
	}
	ev := flow.NewEvent("a", flow.EventNotification, "", "", nil)
	if err := db.AppendEvent(ctx, &ev); err != nil || ev.Seq != 1 {
		t.Fatalf("seq after rollback = %d (%v), want 1", ev.Seq, err)
	}
	bad := flow.NewEvent("nope", flow.EventNotification, "", "", nil)
	if err := db.AppendEvent(ctx, &bad); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("event for unknown project: %v", err)
	}
}

func TestLockedByAnotherWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fw.db")
	// Another program holds an exclusive lock on a rollback-journal file.
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Close() }() // after the test; nothing left to check
	other.SetMaxOpenConns(1)
	if _, err := other.ExecContext(ctx, "BEGIN EXCLUSIVE; CREATE TABLE x(a);"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = other.ExecContext(ctx, "ROLLBACK") }() // releases the lock; the test is over
	_, err = Open(ctx, path, Options{BusyTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("locked database: err = %v, want ErrLocked", err)
	}
}
