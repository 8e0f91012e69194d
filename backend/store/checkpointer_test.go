package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
)

// TestCommitsReachTheDatabaseFileWhileItIsOpen: with the writer no longer
// checkpointing inside its commits, the background checkpointer must fold
// the WAL into the database file on its own: a copy of the database file
// alone (no -wal beside it), taken while the database is still open and
// without any call to Checkpoint or Close, holds every committed event.
func TestCommitsReachTheDatabaseFileWhileItIsOpen(t *testing.T) {
	if storetest.Backend() != store.SQLite {
		t.Skip("SQLite's WAL")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fw.db")
	db := storetest.OpenDSN(t, path, store.Options{})
	createProjects(t, db, "p1")
	const commits, perCommit = 40, 25
	big := strings.Repeat("x", 1000) // enough pages that the copy cannot be the file as migrated
	for range commits {
		if err := db.Write(ctx, func(tx *store.Tx) error {
			for range perCommit {
				ev := flow.NewEvent("p1", flow.EventNotification, "", "", map[string]string{"message": big})
				if err := tx.AppendEvent(ctx, &ev); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := commits * perCommit
	deadline := time.Now().Add(30 * time.Second)
	got := -1
	for time.Now().Before(deadline) {
		if got = eventsInFileAlone(t, path); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the database file alone holds %d of %d committed events after 30 s (is anything checkpointing?)", got, want)
}

// eventsInFileAlone copies the database file without its WAL and counts
// the events of the copy; -1 when the copy cannot be read (a checkpoint
// was writing the file while it was copied).
func eventsInFileAlone(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(cp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := sql.Open("sqlite", "file:"+cp+"?mode=ro&immutable=1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	n := -1
	if err := c.QueryRow("SELECT count(*) FROM events WHERE type = 'notification'").Scan(&n); err != nil {
		return -1
	}
	return n
}

// TestWriterDoesNotCheckpoint: the write connection has SQLite's automatic
// checkpoint turned off, so no commit stops to copy the WAL.
func TestWriterDoesNotCheckpoint(t *testing.T) {
	if storetest.Backend() != store.SQLite {
		t.Skip("SQLite's WAL")
	}
	db := storetest.Open(t, store.Options{})
	var pages int
	if err := db.Write(context.Background(), func(tx *store.Tx) error {
		return tx.QueryRowContext(context.Background(), "PRAGMA wal_autocheckpoint").Scan(&pages)
	}); err != nil {
		t.Fatal(err)
	}
	if pages != 0 {
		t.Fatalf("the writer checkpoints every %d pages", pages)
	}
}
