package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// writeNotifications creates project p1 (unless it exists) and commits n transactions of
// perCommit notifications of about 1 KB each into it.
func writeNotifications(t *testing.T, db *DB, n, perCommit int) {
	t.Helper()
	ctx := context.Background()
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p1", Path: "/p1"}); err != nil && flow.ErrorCode(err) != flow.ECONFLICT {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 1000)
	for range n {
		if err := db.Write(ctx, func(tx *Tx) error {
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
}

// TestCommitsReachTheDatabaseFileWhileItIsOpen: with the writer no longer
// checkpointing inside its commits, the background checkpointer must copy
// the WAL into the database file on its own: a copy of the database file
// alone (no -wal beside it), taken while the database is still open and
// without any call to Checkpoint or Close, holds every committed event.
func TestCommitsReachTheDatabaseFileWhileItIsOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fw.db")
	db := openTest(t, path, Options{})
	const commits, perCommit = 40, 25
	writeNotifications(t, db, commits, perCommit)
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
// the notifications in the copy; -1 when the copy cannot be read (a
// checkpoint was writing the file while it was copied).
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

// TestWALRestartsUnderSteadyWrites: a WAL starts again from its beginning
// only when a commit finds all of it copied, which a checkpoint running
// beside a writer that never pauses does not achieve alone (the first
// version of the checkpointer let the WAL of a busy server grow to
// hundreds of MB). Commits come back to back here, and the WAL must start
// again while they do: SQLite counts its restarts in the WAL header.
func TestWALRestartsUnderSteadyWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fw.db")
	const restartFrames = 64 // 256 KiB
	db := openTest(t, path, Options{checkpointInterval: 5 * time.Millisecond, walRestartFrames: restartFrames})
	writeNotifications(t, db, 1, 1)
	before := walRestarts(t, path)
	writeNotifications(t, db, 4000, 4) // 16 MB, commits back to back
	after := walRestarts(t, path)
	t.Logf("WAL restarts: %d before, %d after", before, after)
	if after <= before {
		t.Fatalf("the WAL did not start again while 16 MB were committed (restart count %d before, %d after)", before, after)
	}
}

// walRestarts reads the checkpoint sequence number of the WAL header of
// the database at path: SQLite increments it each time the WAL starts
// again from its beginning.
func walRestarts(t *testing.T, path string) uint32 {
	t.Helper()
	f, err := os.Open(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var h [16]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.Uint32(h[12:16])
}

// TestWriterDoesNotCheckpoint: the write connection has SQLite's automatic
// checkpoint turned off, so no commit stops to copy the WAL.
func TestWriterDoesNotCheckpoint(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "fw.db"), Options{})
	var pages int
	if err := db.Write(context.Background(), func(tx *Tx) error {
		return tx.QueryRowContext(context.Background(), "PRAGMA wal_autocheckpoint").Scan(&pages)
	}); err != nil {
		t.Fatal(err)
	}
	if pages != 0 {
		t.Fatalf("the writer checkpoints every %d pages", pages)
	}
}

// TestCloseTwice: closing a database twice (a deferred Close after an
// explicit one) stops its checkpointer once and does not panic.
func TestCloseTwice(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "fw.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Logf("second close: %v", err)
	}
}
