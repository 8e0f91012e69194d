package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Migrations land in parallel with numbers given out in advance, so a data
// dir can have a later one applied before an earlier one exists: the
// earlier one is still applied when it arrives.
func TestMigrationAppliedWhenAnOlderNumberArrivesLater(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fw.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Pretend 0005 (settings) did not exist when this data dir was migrated.
	if _, err := db.write.Exec("DROP TABLE settings; DELETE FROM schema_migrations WHERE version = 5"); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	db2 := openTest(t, path, Options{})
	if err := db2.SetSetting(ctx, "k", []byte("v")); err != nil {
		t.Fatalf("the missing migration was not applied: %v", err)
	}
}

func TestSecretRowsCascadeWithTheirProject(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, testDSN(t), Options{})
	if err := db.PutSecret(ctx, &SecretRow{ProjectID: "nope", Name: "A", Nonce: []byte{1}, Ciphertext: []byte{2}}); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("secret of unknown project: %v", err)
	}
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "a", Path: "/a"}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"one", "two"} {
		if err := db.PutSecret(ctx, &SecretRow{ProjectID: "p1", Name: "A", Nonce: []byte(v), Ciphertext: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.Secrets(ctx, "p1")
	if err != nil || len(rows) != 1 || string(rows[0].Ciphertext) != "two" {
		t.Fatalf("after replace: %+v %v", rows, err)
	}
	if err := db.DeleteSecret(ctx, "p1", "B"); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("delete missing: %v", err)
	}
	if err := db.DeleteProject(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = db.Read().QueryRowContext(ctx, "SELECT COUNT(*) FROM secrets").Scan(&n)
	if n != 0 {
		t.Fatalf("%d secrets outlived their project", n)
	}
}

// Migration 0017 rewrites the NUL separator of stored schedule specs to a
// newline, so upgraded data dirs keep their schedules' next slots.
func TestScheduleSpecSeparatorMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fw.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "a", Path: "/a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec("INSERT INTO trigger_schedules(project_id, workflow_id, trigger_id, spec, next_at) VALUES ('p1', 'w', 't', '0 * * * *' || char(0) || 'UTC', 5); DELETE FROM schema_migrations WHERE version = 17"); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	db2 := openTest(t, path, Options{})
	slots, err := db2.ScheduleSlots(ctx, "p1")
	if err != nil || len(slots) != 1 || slots[0].Spec != "0 * * * *\nUTC" || slots[0].NextAt.UnixMilli() != 5 {
		t.Fatalf("slots after migration: %+v %v", slots, err)
	}
}
