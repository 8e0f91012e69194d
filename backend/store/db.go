// Package store is Flow Weaver's SQLite storage: opening the database with
// the right pragmas, embedded versioned migrations, and the repositories. It
// is the only package that writes SQL.
//
// Concurrency model: SQLite allows one writer at a time, so the store keeps
// exactly one write connection, serialises writers with a Go mutex (no
// SQLITE_BUSY ever reaches a caller from our own writers) and opens every
// write transaction with BEGIN IMMEDIATE. Reads go to a bounded pool of
// read-only connections that WAL lets run beside the writer.
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
	// Now is the clock. Default time.Now.
	Now func() time.Time
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
	return o
}

// DB is an open Flow Weaver database.
type DB struct {
	path  string
	opts  Options
	write *sql.DB
	read  *sql.DB

	mu       sync.Mutex // serialises write transactions
	onCommit func([]flow.Event)
	lastSeq  map[string]int64 // cache of projects.last_seq, guarded by mu
	stmts    stmtCache        // prepared hot statements (stmts.go)
	events   eventGroup       // group commit of AppendEvent (eventgroup.go)
}

// ErrCorrupt, ErrLocked and ErrTooNew classify failures of Open so the
// command line can print a clear message and a distinct exit code.
var (
	ErrCorrupt = errors.New("database file is corrupt or not a SQLite database")
	ErrLocked  = errors.New("database is locked by another process")
	ErrTooNew  = errors.New("database was written by a newer Flow Weaver")
)

// Open opens (creating if needed) the database at path and migrates it to
// the current schema.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "journal_size_limit(67108864)")
	q.Add("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()

	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	db := &DB{path: path, opts: opts, write: write, onCommit: opts.OnCommit, lastSeq: map[string]int64{}}
	if err := db.init(ctx); err != nil {
		_ = write.Close() // the open error is the one to report
		return nil, classify(err)
	}

	rq := url.Values{}
	rq.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	rq.Add("_pragma", "query_only(1)")
	read, err := sql.Open("sqlite", "file:"+path+"?"+rq.Encode())
	if err != nil {
		_ = write.Close() // the open error is the one to report
		return nil, fmt.Errorf("open read pool: %w", err)
	}
	read.SetMaxOpenConns(opts.ReadConns)
	read.SetMaxIdleConns(opts.ReadConns)
	db.read = read
	return db, nil
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
	return migrate(ctx, db.write)
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

// Path returns the database file path.
func (db *DB) Path() string { return db.path }

// Close checkpoints the WAL into the main file and closes all connections.
func (db *DB) Close() error {
	db.events.wg.Wait()
	db.mu.Lock()
	defer db.mu.Unlock()
	db.closeStmts()
	_, _ = db.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.write.Close())
	return errors.Join(errs...)
}

// Checkpoint folds the WAL back into the database file. The daemon calls it
// when idle so the WAL does not grow without bound under steady load.
func (db *DB) Checkpoint(ctx context.Context) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	_, err := db.write.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	return err
}

// Tx is a write transaction. Events appended to it are published through
// Options.OnCommit after a successful commit.
type Tx struct {
	*sql.Tx
	db     *DB
	now    time.Time
	events []flow.Event
	seqs   map[string]int64 // last_seq values changed in this tx
}

// Now is the transaction's clock reading, the same for every row it writes.
func (tx *Tx) Now() time.Time { return tx.now }

// Write runs fn in a write transaction (BEGIN IMMEDIATE). fn's error rolls
// the transaction back and is returned unchanged.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.prepareWanted(ctx)
	stx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	tx := &Tx{Tx: stx, db: db, now: db.opts.Now().UTC()}
	if err := fn(tx); err != nil {
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

// Read returns the read pool for queries that need no write lock.
func (db *DB) Read() *sql.DB { return db.read }

func unixMilli(t time.Time) int64 { return t.UnixMilli() }

func fromMilli(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
