// Package store is Flow Weaver's storage: opening the database (a SQLite
// file by default, or a PostgreSQL database shared by several nodes),
// embedded versioned migrations per dialect, and the repositories. It is the
// only package that writes SQL.
//
// Concurrency model on SQLite: SQLite allows one writer at a time, so the
// store keeps exactly one write connection, serialises writers with a Go
// mutex (no SQLITE_BUSY ever reaches a caller from our own writers) and
// opens every write transaction with BEGIN IMMEDIATE. Reads go to a bounded
// pool of read-only connections that WAL lets run beside the writer.
//
// On PostgreSQL (postgres.go) writers run concurrently on one connection
// pool and rely on row locks: the project row that holds last_seq
// serialises the writers of one project's event log, the job claim skips
// locked rows. See docs/scale-out.md.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Options configure Open. The zero value is usable.
type Options struct {
	// ReadConns bounds the read pool. Default 4.
	ReadConns int
	// BusyTimeout is how long a connection waits for a lock held by another
	// process (a second flowweaver working the same file). Default 5s.
	BusyTimeout time.Duration
	// OnCommit is called with the durable events of every committed write
	// transaction, in seq order, while the write lock is still held. That
	// makes publish order equal commit order. It must not block.
	OnCommit func([]flow.Event)
	// Now is the clock. Default time.Now. On PostgreSQL it is corrected by
	// the measured offset to the database's clock (see DB.Now).
	Now func() time.Time
	// PostgresConns bounds the PostgreSQL connection pool. Default 16.
	PostgresConns int

	// checkpointInterval and walRestartFrames tune the checkpointer
	// (checkpointer.go); tests shrink them.
	checkpointInterval time.Duration
	walRestartFrames   int
}

func (o Options) withDefaults() Options {
	if o.ReadConns <= 0 {
		o.ReadConns = 4
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PostgresConns <= 0 {
		o.PostgresConns = 16
	}
	if o.checkpointInterval <= 0 {
		o.checkpointInterval = checkpointInterval
	}
	if o.walRestartFrames <= 0 {
		o.walRestartFrames = walRestartFrames
	}
	return o
}

// DB is an open Flow Weaver database.
type DB struct {
	dialect Dialect
	path    string // SQLite file; "" on PostgreSQL
	dsn     string // PostgreSQL URL; "" on SQLite
	opts    Options
	write   *sql.DB // SQLite: the one write connection; PostgreSQL: the pool
	read    *Pool   // SQLite: read-only connections; PostgreSQL: the same pool
	rb      rebinder

	// mu serialises write transactions on SQLite. On PostgreSQL it only
	// guards onCommit and order.
	mu       sync.Mutex
	onCommit func([]flow.Event)
	lastSeq  map[string]int64 // SQLite: cache of projects.last_seq, guarded by mu
	claims   claimCache       // SQLite: running job claims known to be current, guarded by mu (claims.go)
	order    commitOrder      // PostgreSQL: OnCommit in commit order (commitorder.go)
	clockOff atomic.Int64     // PostgreSQL: database clock minus local clock, ns
	stmts    stmtCache        // prepared hot statements (stmts.go)
	raw      rawStmts         // SQLite: write statements on the driver connection (rawstmts.go), guarded by mu
	events   eventGroup       // group commit of AppendEvent (eventgroup.go)
	ckpt     *checkpointer    // SQLite: folds the WAL beside the writer (checkpointer.go)
}

// ErrCorrupt, ErrLocked and ErrTooNew classify failures of Open so the
// command line can print a clear message and a distinct exit code.
var (
	ErrCorrupt = errors.New("database file is corrupt or not a SQLite database")
	ErrLocked  = errors.New("database is locked by another process")
	ErrTooNew  = errors.New("database was written by a newer Flow Weaver")
)

// Open opens the database named by dsn and migrates it to the current
// schema: a postgres:// (or postgresql://) URL opens PostgreSQL, anything
// else is the path of a SQLite file, created if needed.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	if IsPostgresDSN(dsn) {
		return openPostgres(ctx, dsn, opts)
	}
	return openSQLite(ctx, dsn, opts)
}

func openSQLite(ctx context.Context, path string, opts Options) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	// Commits never checkpoint: the checkpointer does, beside the writer
	// (checkpointer.go).
	q := sqliteParams(opts, "foreign_keys(1)", "synchronous(NORMAL)", "journal_size_limit(67108864)", "wal_autocheckpoint(0)")
	q.Add("_txlock", "immediate")
	write, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	keepOneConn(write)

	db := &DB{dialect: SQLite, path: path, opts: opts, write: write, onCommit: opts.OnCommit, lastSeq: map[string]int64{}, claims: claimCache{}}
	if err := db.init(ctx); err != nil {
		_ = write.Close() // the open error is the one to report
		return nil, classify(err)
	}

	read, err := sql.Open("sqlite", "file:"+path+"?"+sqliteParams(opts, "query_only(1)").Encode())
	if err != nil {
		_ = write.Close() // the open error is the one to report
		return nil, fmt.Errorf("open read pool: %w", err)
	}
	read.SetMaxOpenConns(opts.ReadConns)
	read.SetMaxIdleConns(opts.ReadConns)
	db.read = &Pool{DB: read, rb: &db.rb}

	ckpt, err := sql.Open("sqlite", "file:"+path+"?"+sqliteParams(opts, "synchronous(NORMAL)").Encode())
	if err != nil {
		_ = read.Close() // the open error is the one to report
		_ = write.Close()
		return nil, fmt.Errorf("open checkpoint connection: %w", err)
	}
	keepOneConn(ckpt)
	db.ckpt = newCheckpointer(ckpt, &db.mu, opts.checkpointInterval, opts.walRestartFrames)
	return db, nil
}

// sqliteParams are the DSN parameters of a connection to the SQLite file:
// the busy timeout of opts, then the pragmas, in order.
func sqliteParams(opts Options, pragmas ...string) url.Values {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	return q
}

// keepOneConn makes db a single connection that lives as long as db does
// (the writer, the checkpointer): state such as prepared statements stays.
func keepOneConn(db *sql.DB) {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
}

func (db *DB) init(ctx context.Context) error {
	// journal_mode must be set outside a transaction, and it is what first
	// touches the file: a corrupt file or a foreign lock shows up here.
	var mode string
	if err := db.write.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return fmt.Errorf("set WAL mode: %w", err)
	}
	var check string
	if err := db.write.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil {
		return fmt.Errorf("check database: %w", err)
	}
	if check != "ok" {
		return fmt.Errorf("%w: %s", ErrCorrupt, check)
	}
	return migrate(ctx, db.write, SQLite)
}

// classify maps SQLite result codes to the sentinel errors above.
func classify(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %v", ErrLocked, err)
		}
	}
	return err
}

// Path returns the database file path ("" on PostgreSQL).
func (db *DB) Path() string { return db.path }

// Dialect returns the SQL engine of the database.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close checkpoints the WAL into the main file and closes all connections.
func (db *DB) Close() error {
	db.events.close()
	if db.dialect == Postgres {
		return db.write.Close()
	}
	var errs []error
	errs = append(errs, db.ckpt.close())
	db.mu.Lock()
	defer db.mu.Unlock()
	db.closeStmts()
	db.closeRaw(context.Background())
	_, _ = db.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.write.Close())
	return errors.Join(errs...)
}

// Checkpoint copies the whole WAL into the database file now, so the next
// commit starts it again from its beginning (checkpointer.go). It first
// reports the last failure of a background checkpoint since the previous
// call, if any: the checkpointer has nobody else to tell. The daemon calls
// it once a minute and logs what it returns.
func (db *DB) Checkpoint(ctx context.Context) error {
	if db.dialect == Postgres {
		return nil // PostgreSQL checkpoints on its own
	}
	if err := db.ckpt.takeErr(); err != nil {
		return fmt.Errorf("background checkpoint: %w", err)
	}
	return db.ckpt.checkpoint(ctx, 1)
}

// Tx is a write transaction. Events appended to it are published through
// Options.OnCommit after a successful commit.
type Tx struct {
	*sql.Tx
	db     *DB
	conn   *sql.Conn // SQLite: the write connection the transaction runs on
	now    time.Time
	events []flow.Event
	seqs   map[string]int64 // SQLite: last_seq values changed in this tx
	// pending are the events appended on PostgreSQL: their seqs are
	// allocated together right before the commit (flushPostgres).
	pending []*flow.Event
	// claims are the job claims this transaction created (non-nil) or
	// ended (nil); claimsUnknown: it ran SQL that may have changed jobs
	// behind the store's back (claims.go). SQLite only.
	claims        map[int64]*claim
	claimsUnknown bool
	// stmts are the cached statements bound to this transaction (stmts.go).
	stmts map[string]*sql.Stmt
}

// Now is the transaction's clock reading, the same for every row it writes.
func (tx *Tx) Now() time.Time { return tx.now }

// Write runs fn in a write transaction (BEGIN IMMEDIATE). fn's error rolls
// the transaction back and is returned unchanged.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	if db.dialect == Postgres {
		return db.writePostgres(ctx, fn)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	db.prepareWanted(ctx)
	// The transaction runs on a Conn taken for it, so its hot statements
	// can reach the driver connection (Tx.exec, rawstmts.go); the Conn
	// goes back to the pool when Write returns.
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	// Close only hands the connection back to the pool; what went wrong
	// in the transaction is returned below.
	defer func() { _ = conn.Close() }()
	stx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	tx := &Tx{Tx: stx, db: db, conn: conn, now: db.Now()}
	if err := fn(tx); err != nil {
		_ = stx.Rollback()
		return err
	}
	if err := tx.flushEvents(ctx); err != nil {
		_ = stx.Rollback()
		return err
	}
	if err := tx.flushSeqs(ctx); err != nil {
		_ = stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		_ = stx.Rollback()
		return fmt.Errorf("commit: %w", err)
	}
	for p, s := range tx.seqs {
		db.lastSeq[p] = s
	}
	tx.commitClaims()
	db.ckpt.committed()
	if len(tx.events) > 0 && db.onCommit != nil {
		db.onCommit(tx.events)
	}
	return nil
}

// SetOnCommit replaces the commit hook. The daemon uses it to connect the
// hub after both are built.
func (db *DB) SetOnCommit(fn func([]flow.Event)) {
	db.mu.Lock()
	db.onCommit = fn
	db.mu.Unlock()
}

// Read returns the read pool for queries that need no write lock. Its
// query methods take ? placeholders on both dialects.
func (db *DB) Read() *Pool { return db.read }

// Now is the database's clock: the local clock on SQLite; on PostgreSQL
// the local clock corrected by the offset to the server's now(), measured
// at Open and at every node heartbeat, so every node stamps leases and
// rows with the same clock.
func (db *DB) Now() time.Time {
	return db.opts.Now().Add(time.Duration(db.clockOff.Load())).UTC()
}

func unixMilli(t time.Time) int64 { return t.UnixMilli() }

func fromMilli(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
