package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements of hot queries. Parsing SQL is a
// large share of a small statement's cost with modernc's SQLite (about 40%
// of the engine's CPU before this cache), so the queue, the engine and the
// event log reuse prepared statements.
//
// Write statements are prepared on the write pool, which has exactly one
// connection; that connection is busy while a transaction is open, so a
// query first seen inside a transaction runs unprepared and is marked
// wanted, and Write prepares wanted queries before its next BEGIN.
// Tx.StmtContext then reuses the statement on that same connection.
type stmtCache struct {
	mu     sync.Mutex
	write  map[string]*sql.Stmt
	read   map[string]*sql.Stmt
	wanted map[string]bool
}

// prepareWanted prepares the queries wanted by earlier transactions. It is
// called by Write with db.mu held and no transaction open.
func (db *DB) prepareWanted(ctx context.Context) {
	c := &db.stmts
	c.mu.Lock()
	if len(c.wanted) == 0 {
		c.mu.Unlock()
		return
	}
	var qs []string
	for q := range c.wanted {
		qs = append(qs, q)
	}
	c.wanted = nil
	c.mu.Unlock()
	for _, q := range qs {
		st, err := db.write.PrepareContext(ctx, q)
		if err != nil {
			continue // the unprepared path keeps working
		}
		c.mu.Lock()
		if c.write == nil {
			c.write = map[string]*sql.Stmt{}
		}
		c.write[q] = st
		c.mu.Unlock()
	}
}

// cached returns q's prepared statement bound to tx, or nil (then q runs
// unprepared). A statement is bound once per transaction: a group commit
// runs the same few statements dozens of times, and each Tx.StmtContext
// allocates a new bound statement.
func (tx *Tx) cached(ctx context.Context, q string) *sql.Stmt {
	if tx.db.dialect == Postgres {
		return nil // pgx keeps its own per-connection statement cache
	}
	if st := tx.stmts[q]; st != nil {
		return st
	}
	c := &tx.db.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.write[q]; st != nil {
		bound := tx.StmtContext(ctx, st)
		if tx.stmts == nil {
			tx.stmts = map[string]*sql.Stmt{}
		}
		tx.stmts[q] = bound
		return bound
	}
	if c.wanted == nil {
		c.wanted = map[string]bool{}
	}
	c.wanted[q] = true
	return nil
}

// exec runs q in the transaction with a cached prepared statement (on
// SQLite one prepared on the driver connection, rawstmts.go).
func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if tx.conn != nil {
		return tx.execRaw(ctx, q, args)
	}
	if st := tx.cached(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.execRebound(ctx, q, args...) // the callers track the claims they change
}

// queryRow runs q in the transaction with a cached prepared statement.
func (tx *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := tx.cached(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.queryRowRebound(ctx, q, args...)
}

// query runs q in the transaction with a cached prepared statement.
func (tx *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := tx.cached(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.queryRebound(ctx, q, args...)
}

// readStmt returns a cached prepared statement on the read pool
// (database/sql prepares it on each pooled connection once).
func (db *DB) readStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	c := &db.stmts
	c.mu.Lock()
	st := c.read[q]
	c.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := db.read.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.read[q]; old != nil {
		_ = st.Close() // lost a race to prepare the same query; ours is unused
		return old, nil
	}
	if c.read == nil {
		c.read = map[string]*sql.Stmt{}
	}
	c.read[q] = st
	return st, nil
}

// closeStmts closes every cached statement (Close calls it).
func (db *DB) closeStmts() {
	c := &db.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	// Closing a prepared statement only frees it; the pools close next and
	// report what matters.
	for _, st := range c.write {
		_ = st.Close()
	}
	for _, st := range c.read {
		_ = st.Close()
	}
	c.write, c.read, c.wanted = nil, nil, nil
}
