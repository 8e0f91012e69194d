package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// rawStmts are the write statements of SQLite transactions, prepared once
// on the write connection and executed on the driver directly
// (Tx.exec). database/sql's share of a small statement — binding the
// statement to the transaction (Tx.StmtContext), converting every
// argument, locking the connection, tracking the statement's
// dependencies — was about a third of the statement's cost, and a run
// writes a dozen of them inside the single writer.
//
// The statements belong to one driver connection. If the pool ever
// replaces it (a broken connection), they are dropped with it and
// prepared again on the new one.
type rawStmts struct {
	conn  any // the driver connection the statements were prepared on
	stmts map[string]driver.Stmt
	// args is the argument buffer of the statement being executed: the
	// driver copies what it binds and keeps nothing once the statement
	// ran, so one buffer serves every statement of the single writer.
	args []driver.NamedValue
}

// get returns q prepared on dc. The caller holds db.mu (only Write's
// transactions use it) and runs inside sql.Conn.Raw.
func (r *rawStmts) get(ctx context.Context, dc any, q string) (driver.Stmt, error) {
	if r.conn != dc {
		r.conn, r.stmts = dc, map[string]driver.Stmt{}
	}
	if st := r.stmts[q]; st != nil {
		return st, nil
	}
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("sqlite driver connection %T cannot prepare statements", dc)
	}
	st, err := pc.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	r.stmts[q] = st
	return st, nil
}

// closeRaw closes the raw statements before the write connection closes
// (DB.Close, with db.mu held).
func (db *DB) closeRaw(ctx context.Context) {
	if db.raw.stmts == nil {
		return
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return // the pool is gone and the statements with it
	}
	_ = conn.Raw(func(dc any) error {
		if db.raw.conn == dc {
			for _, st := range db.raw.stmts {
				_ = st.Close() // finalizing frees memory; nothing to report
			}
		}
		return nil
	})
	_ = conn.Close() // hands the connection back for the pool's own Close
	db.raw = rawStmts{}
}

// execRaw runs q with args on the transaction's driver connection.
func (tx *Tx) execRaw(ctx context.Context, q string, args []any) (sql.Result, error) {
	named, err := appendNamedValues(tx.db.raw.args[:0], args)
	defer func() {
		clear(named) // holds no output or payload past the statement
		tx.db.raw.args = named[:0]
	}()
	if err != nil {
		return nil, err
	}
	var res driver.Result
	err = tx.conn.Raw(func(dc any) error {
		// database/sql rolls the transaction back when ctx ends, and
		// this Conn would go on executing outside any transaction: once
		// ctx is done nothing more runs. (The driver checks too; this
		// keeps the guarantee here.) Checked holding the connection,
		// which that rollback needs as well.
		if err := ctx.Err(); err != nil {
			return err
		}
		st, err := tx.db.raw.get(ctx, dc, q)
		if err != nil {
			return err
		}
		ex, ok := st.(driver.StmtExecContext)
		if !ok {
			return fmt.Errorf("sqlite statement %T cannot execute with a context", st)
		}
		res, err = ex.ExecContext(ctx, named)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// appendNamedValues appends args to out converted the way database/sql
// converts them for a driver without its own converter: driver values as
// they are, int as int64, anything else (named string types, Valuers)
// through driver.DefaultParameterConverter.
func appendNamedValues(out []driver.NamedValue, args []any) ([]driver.NamedValue, error) {
	for i, a := range args {
		var v driver.Value
		switch x := a.(type) {
		case nil, string, []byte, int64, float64, bool, time.Time:
			v = x
		case int:
			v = int64(x)
		default:
			var err error
			if v, err = driver.DefaultParameterConverter.ConvertValue(a); err != nil {
				return out, fmt.Errorf("argument %d: %w", i+1, err)
			}
		}
		out = append(out, driver.NamedValue{Ordinal: i + 1, Value: v})
	}
	return out, nil
}
