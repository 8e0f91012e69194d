package store

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// A database that cannot grow (SQLite's max_page_count, the same
// SQLITE_FULL a full disk gives) answers writes with disk_full and a clear
// message; the failed transaction leaves nothing, reads go on, and writes
// work again once there is room.
func TestDiskFullMapsToDiskFull(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "fw.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p1", Path: "/tmp/p1"}); err != nil {
		t.Fatal(err)
	}
	var pages int64
	if err := db.write.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `PRAGMA max_page_count = `+itoa(pages+2)); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 16<<10)
	var full error
	written := 0
	for i := 0; i < 100 && full == nil; i++ {
		ev := flow.NewEvent("p1", "notification", "", "", map[string]any{"level": "info", "message": big})
		if full = db.AppendEvent(ctx, &ev); full == nil {
			written++
		}
	}
	if full == nil {
		t.Fatal("the database never filled up")
	}
	if code := flow.ErrorCode(full); code != flow.EDISKFULL {
		t.Fatalf("code %q for %v, want disk_full", code, full)
	}
	if msg := flow.ErrorMessage(full); !strings.Contains(msg, "disk is full") || strings.Contains(msg, "fw.db") {
		t.Fatalf("message %q", msg)
	}
	// Reads still work and the failed write left nothing behind.
	_, last, err := db.SeqRange(ctx, "p1")
	if err != nil || last != int64(written) {
		t.Fatalf("after disk full: last seq %d (%v), %d written", last, err, written)
	}
	// Room again: writes go on where they stopped.
	if _, err := db.write.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	ev := flow.NewEvent("p1", "notification", "", "", map[string]any{"level": "info", "message": "again"})
	if err := db.AppendEvent(ctx, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Seq != int64(written)+1 {
		t.Fatalf("seq after recovery %d, want %d", ev.Seq, written+1)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
