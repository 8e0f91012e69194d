package store

import (
	"context"
	"fmt"
	"time"
)

// ProcessRow is one recorded OS process group (table processes): started by
// Owner (a queue owner id) for a node of a run (Kind "node") or for a stdio
// tool server of a project (Kind "mcp").
type ProcessRow struct {
	ID         int64
	Owner      string
	Kind       string
	ProjectID  string
	RunID      string
	NodeID     string
	Pgid       int
	StartTicks uint64
	BootID     string
	CreatedAt  time.Time
}

// InsertProcess records a started process group and sets p.ID.
func (db *DB) InsertProcess(ctx context.Context, p *ProcessRow) error {
	return db.Write(ctx, func(tx *Tx) error {
		err := tx.queryRow(ctx, `INSERT INTO processes (owner, kind, project_id, run_id, node_id, pgid, start_ticks, boot_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			// SQLite integers are int64: the tick count is stored bit for bit
			// and read back with uint64(), an exact round trip.
			p.Owner, p.Kind, p.ProjectID, p.RunID, p.NodeID, p.Pgid, int64(p.StartTicks), p.BootID, unixMilli(tx.now)).Scan(&p.ID) //nolint:gosec // G115: see above
		if err != nil {
			return fmt.Errorf("record process: %w", err)
		}
		return nil
	})
}

// DeleteProcess forgets a process group that is gone.
func (db *DB) DeleteProcess(ctx context.Context, id int64) error {
	return db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM processes WHERE id = ?`, id); err != nil {
			return fmt.Errorf("forget process: %w", err)
		}
		return nil
	})
}

// Processes lists recorded groups: of one node of a run when runID is set,
// else all of them.
func (db *DB) Processes(ctx context.Context, runID, nodeID string) ([]ProcessRow, error) {
	q := `SELECT id, owner, kind, project_id, run_id, node_id, pgid, start_ticks, boot_id, created_at FROM processes`
	var args []any
	if runID != "" {
		q += ` WHERE run_id = ? AND node_id = ?`
		args = append(args, runID, nodeID)
	}
	rows, err := db.read.QueryContext(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	defer rows.Close()
	var out []ProcessRow
	for rows.Next() {
		var p ProcessRow
		var ticks, created int64
		if err := rows.Scan(&p.ID, &p.Owner, &p.Kind, &p.ProjectID, &p.RunID, &p.NodeID, &p.Pgid, &ticks, &p.BootID, &created); err != nil {
			return nil, fmt.Errorf("scan process: %w", err)
		}
		p.StartTicks, p.CreatedAt = uint64(ticks), fromMilli(created) //nolint:gosec // G115: the int64 InsertProcess stored, bit for bit
		out = append(out, p)
	}
	return out, rows.Err()
}
