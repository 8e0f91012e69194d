// Package storetest opens a fresh Flow Weaver database for a test on the
// backend FW_STORE selects: "sqlite" (the default: a file in the test's
// temporary directory) or "postgres" (a fresh database on the test
// binary's throwaway PostgreSQL cluster, see package pgtest). The store
// and queue suites call it, so one suite proves both backends behave the
// same. A package that uses it needs a TestMain that calls pgtest.Main or
// pgtest.Run (Main below), which stops the cluster.
package storetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowweaver/flowweaver/backend/pgtest"
	"github.com/flowweaver/flowweaver/backend/store"
	"go.uber.org/goleak"
)

// Backend is the backend FW_STORE selects.
func Backend() store.Dialect {
	if os.Getenv("FW_STORE") == string(store.Postgres) {
		return store.Postgres
	}
	return store.SQLite
}

// DSN returns a fresh, empty database for the test: a SQLite path or a
// PostgreSQL URL.
func DSN(t testing.TB) string {
	t.Helper()
	if Backend() == store.Postgres {
		return pgtest.DB(t)
	}
	return filepath.Join(t.TempDir(), "fw.db")
}

// Open opens a fresh database (DSN) and closes it when the test ends.
func Open(t testing.TB, opts store.Options) *store.DB {
	t.Helper()
	return OpenDSN(t, DSN(t), opts)
}

// OpenDSN opens dsn (another handle on a database of the test: a second
// node) and closes it when the test ends.
func OpenDSN(t testing.TB, dsn string, opts store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, opts)
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

// Main is a TestMain for packages whose tests open databases through this
// package: it runs the tests (pgtest.Run, which stops the shared
// PostgreSQL cluster afterwards) and then fails if any goroutine outlived
// them (goleak).
func Main(m *testing.M) {
	goleak.VerifyTestMain(runner{m})
}

type runner struct{ m *testing.M }

func (r runner) Run() int { return pgtest.Run(r.m) }
