package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// EventsChannel is the LISTEN/NOTIFY channel of committed events on
// PostgreSQL. Each committing transaction sends one notification per
// project it appended to, with the payload "<projectId>:<lastSeq>".
const EventsChannel = "fw_events"

// migrationLock is the key of the session advisory lock that lets exactly
// one node migrate a PostgreSQL database at a time.
const migrationLock = 0x666c6f77 // "flow"

// openPostgres connects to the PostgreSQL database at dsn (a postgres://
// URL), migrates it and measures the offset of its clock.
func openPostgres(ctx context.Context, dsn string, opts Options) (*DB, error) {
	sqldb, err := sql.Open("pgx", withConnectTimeout(dsn))
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL %s: %w", redactDSN(dsn), err)
	}
	sqldb.SetMaxOpenConns(opts.PostgresConns)
	sqldb.SetMaxIdleConns(opts.PostgresConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{dialect: Postgres, dsn: dsn, opts: opts, write: sqldb, onCommit: opts.OnCommit}
	db.rb.on = true
	db.read = &Pool{DB: sqldb, rb: &db.rb}
	if err := db.initPostgres(ctx); err != nil {
		_ = sqldb.Close() // the init error is the one to report
		return nil, fmt.Errorf("PostgreSQL %s: %w", redactDSN(dsn), err)
	}
	return db, nil
}

func (db *DB) initPostgres(ctx context.Context) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close() }() // returning the connection to the pool cannot fail in a way we act on
	// Nodes that start together wait for the first one's migrations.
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	merr := migrate(ctx, conn, Postgres)
	_, uerr := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)
	if merr != nil {
		return merr
	}
	if uerr != nil {
		return fmt.Errorf("release migration lock: %w", uerr)
	}
	return db.syncClock(ctx)
}

// DSN returns the PostgreSQL URL the database was opened with ("" on
// SQLite), for components that need their own connection (a LISTEN).
func (db *DB) DSN() string { return db.dsn }

// withConnectTimeout bounds each connection attempt to 10 s unless the URL
// says otherwise: an unreachable host would otherwise hang a start (or a
// statement after the pool lost its connections) for the kernel's TCP
// timeout, minutes, before saying anything.
func withConnectTimeout(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Query().Has("connect_timeout") {
		return dsn // pgx reports the unparsable URL itself
	}
	q := u.Query()
	q.Set("connect_timeout", "10")
	u.RawQuery = q.Encode()
	return u.String()
}

// redactDSN hides the password of a PostgreSQL URL in messages.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// syncClock measures the offset of the database's clock to the local one.
// The round trip's midpoint is taken as the moment the server read now().
func (db *DB) syncClock(ctx context.Context) error {
	t0 := db.opts.Now()
	var ms int64
	if err := db.write.QueryRowContext(ctx, "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint").Scan(&ms); err != nil {
		return fmt.Errorf("read database clock: %w", err)
	}
	db.setClock(fromMilli(ms), t0, db.opts.Now())
	return nil
}

// setClock records that the database read dbNow (whole milliseconds)
// between local times t0 and t1. The reading is taken to be at the
// midpoint; an offset within the measurement's error (half the round trip
// plus the millisecond rounding) is no offset: the two clocks are then
// the same clock as far as anyone can tell, typically one machine.
func (db *DB) setClock(dbNow, t0, t1 time.Time) {
	off := dbNow.Sub(t0.Add(t1.Sub(t0) / 2))
	if off.Abs() <= t1.Sub(t0)/2+time.Millisecond {
		off = 0
	}
	db.clockOff.Store(int64(off))
}

// writePostgres runs fn in a READ COMMITTED transaction. Writers run
// concurrently; the events they appended get their seqs at the end
// (flushPostgres), under the project row's lock, so seq order equals commit
// order per project. OnCommit then publishes them in that order.
func (db *DB) writePostgres(ctx context.Context, fn func(tx *Tx) error) error {
	stx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	tx := &Tx{Tx: stx, db: db, now: db.Now()}
	if err := fn(tx); err != nil {
		_ = stx.Rollback() // fn's error is the one to report
		return err
	}
	if err := tx.flushPostgres(ctx); err != nil {
		_ = stx.Rollback() // the flush error is the one to report
		return err
	}
	if len(tx.events) == 0 {
		if err := stx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}
	ticket := db.reserveCommit()
	if err := stx.Commit(); err != nil {
		db.finishCommit(ticket, nil)
		return fmt.Errorf("commit: %w", err)
	}
	db.finishCommit(ticket, tx.events)
	return nil
}

// appendPostgres queues ev for flushPostgres.
func (tx *Tx) appendPostgres(ev *flow.Event) {
	ev.TS = tx.now
	if len(ev.Payload) == 0 {
		ev.Payload = []byte("{}")
	}
	tx.pending = append(tx.pending, ev)
}

// flushPostgres gives the transaction's events their seqs, one UPDATE ...
// RETURNING per project (projects in id order, so two transactions that
// write to the same projects never wait on each other in a cycle), and
// inserts them with one statement per project.
func (tx *Tx) flushPostgres(ctx context.Context) error {
	if len(tx.pending) == 0 {
		return nil
	}
	byProject := map[string][]*flow.Event{}
	for _, ev := range tx.pending {
		byProject[ev.ProjectID] = append(byProject[ev.ProjectID], ev)
	}
	projects := make([]string, 0, len(byProject))
	for p := range byProject {
		projects = append(projects, p)
	}
	slices.Sort(projects)
	for _, p := range projects {
		evs := byProject[p]
		var last int64
		err := tx.Tx.QueryRowContext(ctx, "UPDATE projects SET last_seq = last_seq + $1 WHERE id = $2 RETURNING last_seq", len(evs), p).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			return flow.Errorf(flow.ENOTFOUND, "project %q not found", p)
		}
		if err != nil {
			return fmt.Errorf("allocate event seqs: %w", err)
		}
		first := last - int64(len(evs)) + 1
		var b strings.Builder
		b.WriteString("INSERT INTO events(project_id, seq, type, run_id, workflow_id, ts, payload) VALUES ")
		args := make([]any, 0, 7*len(evs))
		for i, ev := range evs {
			ev.Seq = first + int64(i)
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?,?,?)")
			args = append(args, ev.ProjectID, ev.Seq, ev.Type, ev.RunID, ev.WorkflowID, unixMilli(ev.TS), []byte(ev.Payload))
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("append events: %w", err)
		}
		// One short notification per project and commit, delivered by
		// PostgreSQL only if the transaction commits: other nodes read
		// the new rows by cursor (EventsSince).
		if _, err := tx.Tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", EventsChannel, p+":"+strconv.FormatInt(last, 10)); err != nil {
			return fmt.Errorf("notify events: %w", err)
		}
	}
	// tx.events is what OnCommit receives: in seq order per project, the
	// order the transaction appended them otherwise.
	tx.events = tx.events[:0]
	for _, ev := range tx.pending {
		tx.events = append(tx.events, *ev)
	}
	return nil
}
