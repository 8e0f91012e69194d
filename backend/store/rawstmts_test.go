package store

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func newRawTestDB(t *testing.T) *DB {
	t.Helper()
	db := openTest(t, filepath.Join(t.TempDir(), "fw.db"), Options{})
	if err := db.CreateProject(context.Background(), &flow.Project{ID: "p1", Name: "p1", Path: "/tmp/p1" + t.Name()}); err != nil {
		t.Fatal(err)
	}
	return db
}

func insertTestRun(ctx context.Context, tx *Tx, id string) error {
	return tx.InsertRun(ctx, &RunRow{Run: flow.Run{ID: id, ProjectID: "p1", WorkflowID: "w", Status: flow.RunQueued, Workflow: []byte(`{}`)}}, []string{"n1"})
}

// TestRawExecFailureRollsBackAndStatementStaysUsable: a write statement
// run on the driver connection that fails (a duplicate run id) reports
// the driver's error unchanged (callers classify it), rolls back the
// whole transaction, and the same prepared statement works in the next.
func TestRawExecFailureRollsBackAndStatementStaysUsable(t *testing.T) {
	ctx := context.Background()
	db := newRawTestDB(t)
	if err := db.Write(ctx, func(tx *Tx) error { return insertTestRun(ctx, tx, "r1") }); err != nil {
		t.Fatal(err)
	}
	err := db.Write(ctx, func(tx *Tx) error {
		if err := insertTestRun(ctx, tx, "r2"); err != nil {
			return err
		}
		return insertTestRun(ctx, tx, "r1")
	})
	if !isUniqueViolation(err) {
		t.Fatalf("duplicate run: got %v, want a unique violation", err)
	}
	if _, err := db.GetRun(ctx, "p1", "r2"); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("run r2 of the failed transaction: got %v, want not found", err)
	}
	if err := db.Write(ctx, func(tx *Tx) error { return insertTestRun(ctx, tx, "r2") }); err != nil {
		t.Fatalf("the statement after a failure: %v", err)
	}
	if r, err := db.GetRun(ctx, "p1", "r2"); err != nil || len(r.Nodes) != 1 {
		t.Fatalf("run r2: %+v, %v", r, err)
	}
}

// TestRawStatementsFollowAReplacedConnection: when the pool discards the
// write connection (the driver reported it broken), the statements
// prepared on it are not used again: the next transaction prepares them
// on the new connection and its writes land.
func TestRawStatementsFollowAReplacedConnection(t *testing.T) {
	ctx := context.Background()
	db := newRawTestDB(t)
	if err := db.Write(ctx, func(tx *Tx) error { return insertTestRun(ctx, tx, "r1") }); err != nil {
		t.Fatal(err)
	}
	before := db.raw.conn
	conn, err := db.write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Raw(func(any) error { return driver.ErrBadConn }); !errors.Is(err, driver.ErrBadConn) {
		t.Fatalf("breaking the connection: %v", err)
	}
	_ = conn.Close()
	if err := db.Write(ctx, func(tx *Tx) error { return insertTestRun(ctx, tx, "r2") }); err != nil {
		t.Fatalf("write on the new connection: %v", err)
	}
	if db.raw.conn == before {
		t.Fatal("the statements of the discarded connection were used again")
	}
	for _, id := range []string{"r1", "r2"} {
		if _, err := db.GetRun(ctx, "p1", id); err != nil {
			t.Fatalf("run %s: %v", id, err)
		}
	}
}

// TestNamedValuesConvertLikeDatabaseSQL: arguments of raw statements are
// converted as database/sql converts them for the driver, and a value it
// refuses is refused with the argument's position.
func TestNamedValuesConvertLikeDatabaseSQL(t *testing.T) {
	type status string
	got, err := appendNamedValues(nil, []any{"s", 7, int64(8), []byte("b"), nil, status("running"), json.RawMessage(`{}`), true, 1.5, uint8(3)})
	if err != nil {
		t.Fatal(err)
	}
	want := []driver.Value{"s", int64(7), int64(8), []byte("b"), nil, "running", []byte(`{}`), true, 1.5, int64(3)}
	for i, nv := range got {
		if nv.Ordinal != i+1 {
			t.Errorf("argument %d: ordinal %d", i, nv.Ordinal)
		}
		if b, ok := want[i].([]byte); ok {
			if gb, ok := nv.Value.([]byte); !ok || string(gb) != string(b) {
				t.Errorf("argument %d: %T %v, want []byte %q", i, nv.Value, nv.Value, b)
			}
			continue
		}
		if nv.Value != want[i] {
			t.Errorf("argument %d: %T %v, want %T %v", i, nv.Value, nv.Value, want[i], want[i])
		}
	}
	if _, err := appendNamedValues(nil, []any{"ok", uint64(1 << 63)}); err == nil {
		t.Error("a uint64 above the int64 range was accepted")
	}
	if _, err := appendNamedValues(nil, []any{struct{}{}}); err == nil {
		t.Error("a struct was accepted as an argument")
	}
}

// TestRawExecAfterCanceledContextWritesNothing: when the context of a
// write transaction ends mid-way, database/sql rolls the transaction
// back behind the store's back; a raw statement after that would run on
// the bare connection and commit on its own. Nothing of the transaction
// may be stored, before or after the cancellation. (The pause only gives
// database/sql's rollback time to happen first, the case that would
// leak; the test passes however the two race.)
func TestRawExecAfterCanceledContextWritesNothing(t *testing.T) {
	db := newRawTestDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := db.Write(ctx, func(tx *Tx) error {
		if err := insertTestRun(ctx, tx, "r1"); err != nil {
			return err
		}
		cancel()
		time.Sleep(20 * time.Millisecond)
		return insertTestRun(ctx, tx, "r2")
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("write with a canceled context: %v, want context.Canceled", err)
	}
	bg := context.Background()
	for _, id := range []string{"r1", "r2"} {
		if _, err := db.GetRun(bg, "p1", id); flow.ErrorCode(err) != flow.ENOTFOUND {
			t.Fatalf("run %s of the canceled transaction: got %v, want not found", id, err)
		}
	}
	if err := db.Write(bg, func(tx *Tx) error { return insertTestRun(bg, tx, "r3") }); err != nil {
		t.Fatalf("the next write: %v", err)
	}
}
