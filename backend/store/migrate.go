package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// SQLite's migrations are migrations/NNNN_name.sql, PostgreSQL's are
// migrations/postgres/NNNN_name.sql with the same version numbers: one
// schema, written once per dialect.
//
//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

func migrationDir(d Dialect) string {
	if d == Postgres {
		return "migrations/postgres"
	}
	return "migrations"
}

// migrationConn is what migrate needs: a *sql.DB (SQLite's write
// connection) or the *sql.Conn that holds PostgreSQL's migration lock.
type migrationConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the dialect's NNNN_name.sql files in version order.
func loadMigrations(d Dialect) ([]migration, error) {
	dir := migrationDir(d)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %q: name must start with a number and '_'", e.Name())
		}
		b, err := migrationFiles.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("two migrations with version %d", ms[i].version)
		}
	}
	return ms, nil
}

// LatestSchema is the schema version this binary migrates to.
func LatestSchema() int {
	ms, err := loadMigrations(SQLite)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrate applies every migration newer than the database's version, each in
// its own transaction together with its schema_migrations row. Migrations
// are forward-only; a database whose version is newer than this binary knows
// is refused rather than touched.
func migrate(ctx context.Context, db migrationConn, d Dialect) error {
	ms, err := loadMigrations(d)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (datetime('now')))`
	record := "INSERT INTO schema_migrations(version, name) VALUES (?, ?)"
	if d == Postgres {
		create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`
		record = "INSERT INTO schema_migrations(version, name) VALUES ($1, $2)"
	}
	if _, err := db.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, current, err := appliedMigrations(ctx, db)
	if err != nil {
		return err
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	if current > latest {
		return fmt.Errorf("%w: schema version %d, this binary knows up to %d; upgrade Flow Weaver or use another --data-dir", ErrTooNew, current, latest)
	}
	for _, m := range ms {
		// Versions are applied by set, not by "newer than the newest": engineers
		// land numbered migrations in parallel, so a data dir may have
		// applied 0010 before 0008 existed in its binary.
		if applied[m.version] {
			continue
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			_ = tx.Rollback() // the exec error is the one to report
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, record, m.version, m.name); err != nil {
			_ = tx.Rollback() // the exec error is the one to report
			return fmt.Errorf("migration %s: record: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: commit: %w", m.name, err)
		}
	}
	return nil
}

// appliedMigrations returns the versions recorded in schema_migrations and
// the highest of them.
func appliedMigrations(ctx context.Context, db migrationConn) (map[int]bool, int, error) {
	rows, err := db.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, 0, fmt.Errorf("read schema version: %w", err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	current := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, 0, fmt.Errorf("read schema version: %w", err)
		}
		applied[v] = true
		current = max(current, v)
	}
	return applied, current, rows.Err()
}
