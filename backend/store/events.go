package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// AppendEvent writes a durable event in this transaction: it takes the next
// seq of the event's project and stamps ev.Seq and ev.TS (on PostgreSQL
// ev.Seq is set when the transaction commits). The event is handed to
// Options.OnCommit after the commit succeeds.
func (tx *Tx) AppendEvent(ctx context.Context, ev *flow.Event) error {
	if tx.db.dialect == Postgres {
		// The seq is allocated right before the commit (flushPostgres).
		tx.appendPostgres(ev)
		return nil
	}
	seq, err := tx.nextSeq(ctx, ev.ProjectID)
	if err != nil {
		return err
	}
	ev.Seq = seq
	ev.TS = tx.now
	if len(ev.Payload) == 0 {
		ev.Payload = []byte("{}")
	}
	// The row is inserted with the transaction's other events right
	// before the commit (flushEvents): nothing reads events inside a
	// write transaction.
	tx.events = append(tx.events, *ev)
	return nil
}

// eventRowsPerInsert is how many events one INSERT statement writes. A
// statement per event was the largest share of a run's writes; a
// multi-row INSERT pays the statement's fixed cost once per chunk.
const eventRowsPerInsert = 16

// eventInserts holds the INSERT statement for 1..eventRowsPerInsert rows
// of one project. The project (?1) and the timestamp (?2, the
// transaction's clock) are bound once for all rows: every argument bound
// costs the driver a copy into C memory and SQLite a mutex round trip.
// They come first in the text, so each row's plain ? parameters number
// on from 3. (The driver looks up the name of every numbered parameter,
// and SQLite finds it by a linear search: ?NNN for every column made
// binding a 16-row chunk quadratic.)
var eventInserts = func() [eventRowsPerInsert + 1]string {
	var qs [eventRowsPerInsert + 1]string
	for n := 1; n <= eventRowsPerInsert; n++ {
		q := "INSERT INTO events(project_id, ts, seq, type, run_id, workflow_id, payload) VALUES (?1,?2,?,?,?,?,?)"
		for i := 1; i < n; i++ {
			q += ",(?1,?2,?,?,?,?,?)"
		}
		qs[n] = q
	}
	return qs
}()

// flushEvents inserts the events appended to a SQLite transaction: each
// run of consecutive events of one project in chunks of
// eventRowsPerInsert rows. Write calls it before the commit.
func (tx *Tx) flushEvents(ctx context.Context) error {
	evs := tx.events
	// Every value put into args is boxed (an allocation): the timestamp
	// is boxed once, and consecutive events mostly share their type and
	// workflow, so those boxes are reused.
	var ts any = unixMilli(tx.now)
	var typ, workflow any
	var lastType, lastWorkflow string
	args := make([]any, 0, 2+5*min(len(evs), eventRowsPerInsert))
	for len(evs) > 0 {
		project := evs[0].ProjectID
		n := 1
		for n < len(evs) && n < eventRowsPerInsert && evs[n].ProjectID == project {
			n++
		}
		args = append(args[:0], project, ts)
		for i := range evs[:n] {
			ev := &evs[i]
			if typ == nil || ev.Type != lastType {
				typ, lastType = ev.Type, ev.Type
			}
			if workflow == nil || ev.WorkflowID != lastWorkflow {
				workflow, lastWorkflow = ev.WorkflowID, ev.WorkflowID
			}
			args = append(args, ev.Seq, typ, ev.RunID, workflow, []byte(ev.Payload))
		}
		if _, err := tx.exec(ctx, eventInserts[n], args...); err != nil {
			return fmt.Errorf("append event: %w", err)
		}
		evs = evs[n:]
	}
	return nil
}

// nextSeq increments the project's sequence. The value is cached in memory
// (valid because every write goes through this DB's single writer) and
// written to projects.last_seq once per project when the transaction
// commits (flushSeqs), not once per event.
func (tx *Tx) nextSeq(ctx context.Context, projectID string) (int64, error) {
	if tx.seqs == nil {
		tx.seqs = map[string]int64{}
	}
	cur, ok := tx.seqs[projectID]
	if !ok {
		cur, ok = tx.db.lastSeq[projectID]
	}
	if !ok {
		err := tx.queryRow(ctx, "SELECT last_seq FROM projects WHERE id = ?", projectID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, flow.Errorf(flow.ENOTFOUND, "project %q not found", projectID)
		}
		if err != nil {
			return 0, fmt.Errorf("read last seq: %w", err)
		}
	}
	next := cur + 1
	tx.seqs[projectID] = next
	return next, nil
}

// flushSeqs writes the sequences this transaction advanced to
// projects.last_seq; Write calls it right before the commit.
func (tx *Tx) flushSeqs(ctx context.Context) error {
	for p, s := range tx.seqs {
		if _, err := tx.exec(ctx, "UPDATE projects SET last_seq = ? WHERE id = ?", s, p); err != nil {
			return fmt.Errorf("bump seq: %w", err)
		}
	}
	return nil
}

// channelFilter returns the SQL condition selecting a channel's events.
func channelFilter(channel string) (string, []any, error) {
	kind, id := flow.SplitChannel(channel)
	switch kind {
	case flow.ChannelProject:
		return "type NOT LIKE 'node.%' AND type NOT LIKE 'tools.%'", nil, nil
	case flow.ChannelRun:
		return "run_id = ? AND (type LIKE 'run.%' OR type LIKE 'node.%')", []any{id}, nil
	case flow.ChannelWorkflow:
		return "workflow_id = ? AND type LIKE 'workflow.%'", []any{id}, nil
	case flow.ChannelTools:
		return "type LIKE 'tools.%'", nil, nil
	}
	return "", nil, fmt.Errorf("channel %q has no event log", channel)
}

// eventsAfterSQL is EventsAfter's query for channel and its channel
// arguments (after project_id and since, before the limit). On SQLite the
// workflow channel reads through events_workflow, which holds only
// workflow.* events: without statistics the planner would walk the
// project's whole log from since instead.
func (db *DB) eventsAfterSQL(channel string) (string, []any, error) {
	cond, args, err := channelFilter(channel)
	if err != nil {
		return "", nil, err
	}
	from := "events"
	if kind, _ := flow.SplitChannel(channel); kind == flow.ChannelWorkflow && db.dialect == SQLite {
		from = "events INDEXED BY events_workflow"
	}
	// from and cond are constant fragments; values go in args.
	return "SELECT seq, type, run_id, workflow_id, ts, payload FROM " + from + " WHERE project_id = ? AND seq > ? AND " + cond + " ORDER BY seq LIMIT ?", args, nil //nolint:gosec // G202: constant fragments and ? placeholders only
}

// EventsAfter returns up to limit durable events of projectID on channel
// with seq > since, in seq order.
func (db *DB) EventsAfter(ctx context.Context, projectID, channel string, since int64, limit int) ([]flow.Event, error) {
	q, args, err := db.eventsAfterSQL(channel)
	if err != nil {
		return nil, err
	}
	all := append([]any{projectID, since}, args...)
	all = append(all, limit)
	rows, err := db.read.QueryContext(ctx, q, all...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return scanEvents(rows, projectID)
}

// EventsSince returns up to limit durable events of projectID of every
// channel with seq > after, in seq order: the cursor read of a node that
// was told (NOTIFY) that another node committed events.
func (db *DB) EventsSince(ctx context.Context, projectID string, after int64, limit int) ([]flow.Event, error) {
	rows, err := db.read.QueryContext(ctx,
		"SELECT seq, type, run_id, workflow_id, ts, payload FROM events WHERE project_id = ? AND seq > ? ORDER BY seq LIMIT ?",
		projectID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return scanEvents(rows, projectID)
}

// scanEvents reads (seq, type, run_id, workflow_id, ts, payload) rows and
// closes them.
func scanEvents(rows *sql.Rows, projectID string) ([]flow.Event, error) {
	defer rows.Close()
	var out []flow.Event
	for rows.Next() {
		ev := flow.Event{ProjectID: projectID}
		var ts int64
		var payload []byte
		if err := rows.Scan(&ev.Seq, &ev.Type, &ev.RunID, &ev.WorkflowID, &ts, &payload); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		ev.TS = fromMilli(ts)
		ev.Payload = payload
		out = append(out, ev)
	}
	return out, rows.Err()
}

// SeqRange returns the oldest retained and the latest seq of a project
// (0, 0 when it has no events). A subscriber whose since is below
// oldest-1 has missed pruned events and must rebuild from a snapshot.
func (db *DB) SeqRange(ctx context.Context, projectID string) (oldest, last int64, err error) {
	err = db.read.QueryRowContext(ctx,
		"SELECT COALESCE((SELECT MIN(seq) FROM events WHERE project_id = ?), 0), COALESCE((SELECT last_seq FROM projects WHERE id = ?), 0)",
		projectID, projectID).Scan(&oldest, &last)
	if err != nil {
		return 0, 0, fmt.Errorf("read seq range: %w", err)
	}
	return oldest, last, nil
}

// PruneEvents keeps the newest keep events of every project and deletes the
// rest. Retention is what bounds the database under a steady event stream.
func (db *DB) PruneEvents(ctx context.Context, keep int64) (int64, error) {
	var n int64
	err := db.Write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx,
			`DELETE FROM events WHERE (project_id, seq) IN (
			   SELECT e.project_id, e.seq FROM events e JOIN projects p ON p.id = e.project_id
			   WHERE e.seq <= p.last_seq - ?)`, keep)
		if err != nil {
			return fmt.Errorf("prune events: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
