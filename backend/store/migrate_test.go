package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flowweaver/flowweaver/backend/pgtest"
)

// testDSN is a fresh database on the backend FW_STORE selects (package
// storetest does the same for other packages; it cannot be imported here).
func testDSN(t *testing.T) string {
	t.Helper()
	if os.Getenv("FW_STORE") == string(Postgres) {
		return pgtest.DB(t)
	}
	return filepath.Join(t.TempDir(), "fw.db")
}

// TestEveryMigrationHasAPostgresTwin: the two dialects describe one schema,
// so a migration added for one without the other would leave PostgreSQL
// deployments (or SQLite data dirs) without its tables or columns.
func TestEveryMigrationHasAPostgresTwin(t *testing.T) {
	lite, err := loadMigrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := loadMigrations(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	versions := func(ms []migration) map[int]string {
		out := map[int]string{}
		for _, m := range ms {
			out[m.version] = m.name
		}
		return out
	}
	lv, pv := versions(lite), versions(pg)
	for v, name := range lv {
		if _, ok := pv[v]; !ok {
			t.Errorf("migrations/%s has no PostgreSQL twin: add migrations/postgres/%s with the same schema change in PostgreSQL's SQL (BIGINT for INTEGER times and ids, BYTEA for BLOB, no STRICT/WITHOUT ROWID)", name, name)
		}
	}
	for v, name := range pv {
		if _, ok := lv[v]; !ok {
			t.Errorf("migrations/postgres/%s has no SQLite twin in migrations/", name)
		}
	}
}
