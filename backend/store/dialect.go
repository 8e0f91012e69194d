package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect is the SQL engine behind a DB. The repositories are written once
// in the SQL both engines share (? placeholders, ON CONFLICT upserts,
// RETURNING); the few statements that differ (the job claim, the event
// sequence, migrations) are chosen by dialect.
type Dialect string

const (
	// SQLite: one file in the data dir, one writer at a time (the default).
	SQLite Dialect = "sqlite"
	// Postgres: a PostgreSQL database shared by several Flow Weaver nodes.
	Postgres Dialect = "postgres"
)

// IsPostgresDSN reports whether dsn names a PostgreSQL database
// (postgres:// or postgresql:// URL) rather than a SQLite file path.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// rebinder turns the ? placeholders the repositories are written with into
// PostgreSQL's $1, $2, ... (?NNN becomes $NNN). Question marks inside
// '...' literals are left alone. Results are cached: the set of queries is
// small and fixed.
type rebinder struct {
	on    bool
	cache sync.Map // string -> string
}

func (r *rebinder) rebind(q string) string {
	if !r.on || !strings.Contains(q, "?") {
		return q
	}
	if v, ok := r.cache.Load(q); ok {
		return v.(string)
	}
	out := rebindDollar(q)
	r.cache.Store(q, out)
	return out
}

// args makes string arguments storable in PostgreSQL text, which cannot
// hold a NUL byte: a NUL (from a process's stderr in a node error, say)
// becomes U+FFFD instead of failing the whole transaction. SQLite stores
// strings as they are.
func (r *rebinder) args(args []any) []any {
	if !r.on {
		return args
	}
	var out []any
	for i, a := range args {
		s, ok := a.(string)
		if !ok || !strings.Contains(s, "\x00") {
			continue
		}
		if out == nil {
			out = slices.Clone(args)
		}
		out[i] = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	if out == nil {
		return args
	}
	return out
}

// rebindDollar numbers parameters as SQLite does: ?NNN is parameter NNN,
// and a plain ? is one more than the largest number assigned before it
// (so "?1, ?" is $1, $2).
func rebindDollar(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n, quoted := 0, false // n: the largest parameter number so far
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(q[i+1 : j])
				if k, err := strconv.Atoi(q[i+1 : j]); err == nil && k > n {
					n = k
				}
				i = j - 1
			} else {
				n++
				b.WriteString(strconv.Itoa(n))
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Pool is a *sql.DB whose query methods accept ? placeholders on every
// dialect. The repositories read through it (DB.read).
type Pool struct {
	*sql.DB
	rb *rebinder
}

// QueryContext runs a query written with ? placeholders.
func (p *Pool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return p.DB.QueryContext(ctx, p.rb.rebind(q), p.rb.args(args)...)
}

// QueryRowContext runs a one-row query written with ? placeholders.
func (p *Pool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return p.DB.QueryRowContext(ctx, p.rb.rebind(q), p.rb.args(args)...)
}

// ExecContext runs a statement written with ? placeholders.
func (p *Pool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return p.DB.ExecContext(ctx, p.rb.rebind(q), p.rb.args(args)...)
}

// PrepareContext prepares a statement written with ? placeholders.
func (p *Pool) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return p.DB.PrepareContext(ctx, p.rb.rebind(q))
}

// ExecContext runs a statement written with ? placeholders in the
// transaction (it shadows sql.Tx's method so callers outside the package
// write one SQL for both dialects). SQL run this way is not tracked by
// the claim cache, which forgets what it knows if the SQL may touch jobs
// (claims.go).
func (tx *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	tx.untracked(q)
	return tx.execRebound(ctx, q, args...)
}

// QueryContext runs a query written with ? placeholders in the
// transaction (an UPDATE ... RETURNING writes too; see ExecContext).
func (tx *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	tx.untracked(q)
	return tx.queryRebound(ctx, q, args...)
}

// QueryRowContext runs a one-row query written with ? placeholders in the
// transaction (see QueryContext).
func (tx *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	tx.untracked(q)
	return tx.queryRowRebound(ctx, q, args...)
}

// execRebound, queryRebound and queryRowRebound are the package's own
// unprepared statements: their callers track the claims they change.
func (tx *Tx) execRebound(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.db.rb.rebind(q), tx.db.rb.args(args)...)
}

func (tx *Tx) queryRebound(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.db.rb.rebind(q), tx.db.rb.args(args)...)
}

func (tx *Tx) queryRowRebound(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.db.rb.rebind(q), tx.db.rb.args(args)...)
}

// isUniqueViolation reports whether err is a UNIQUE/PRIMARY KEY conflict.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKeyViolation reports whether err is a FOREIGN KEY failure.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}
