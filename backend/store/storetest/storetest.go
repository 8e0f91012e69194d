// Package storetest opens a fresh Flow Weaver database for a test on the
// backend FW_STORE selects: "sqlite" (the default: a file in the test's
// temporary directory) or "postgres" (a fresh database on the test
// binary's throwaway PostgreSQL cluster). The store and queue suites call
// it, so one suite proves both backends behave the same.
package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/jackc/pgx/v5"
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
		return pgDB(t)
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

var dbSeq atomic.Int64

// pgDB creates a database on the cluster FW_TEST_PG_ADMIN names.
// TODO(pgstore): pgtest.DB once backend/pgtest is on main.
func pgDB(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("FW_TEST_PG_ADMIN")
	if admin == "" {
		t.Skip("FW_TEST_PG_ADMIN not set")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	name := fmt.Sprintf("fwtest_%d_%d", os.Getpid(), dbSeq.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	cfg, _ := pgx.ParseConfig(admin)
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
}
