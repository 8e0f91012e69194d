package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// WorkflowEntry is the index row of one workflow file (package workflow owns
// the files; this row holds the version counter and what the file looked
// like when the server last saw it).
type WorkflowEntry struct {
	ProjectID string
	ID        string
	Version   int64
	Hash      string // hex SHA-256 of the file bytes; "" when deleted
	MtimeNs   int64
	Size      int64
	Deleted   bool
	UpdatedAt time.Time
}

type rowScanner interface{ Scan(dest ...any) error }

const workflowCols = "project_id, id, version, hash, mtime_ns, size, deleted, updated_at"

func scanWorkflowEntry(r rowScanner) (WorkflowEntry, error) {
	var e WorkflowEntry
	var deleted, updated int64
	if err := r.Scan(&e.ProjectID, &e.ID, &e.Version, &e.Hash, &e.MtimeNs, &e.Size, &deleted, &updated); err != nil {
		return WorkflowEntry{}, err
	}
	e.Deleted = deleted != 0
	e.UpdatedAt = fromMilli(updated)
	return e, nil
}

// WorkflowEntry reads one index row; ok is false when there is none.
func (db *DB) WorkflowEntry(ctx context.Context, projectID, id string) (e WorkflowEntry, ok bool, err error) {
	return workflowEntry(ctx, db.read, projectID, id)
}

// WorkflowEntry reads one index row inside the write transaction.
func (tx *Tx) WorkflowEntry(ctx context.Context, projectID, id string) (e WorkflowEntry, ok bool, err error) {
	return workflowEntry(ctx, tx, projectID, id)
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func workflowEntry(ctx context.Context, q queryRower, projectID, id string) (WorkflowEntry, bool, error) {
	e, err := scanWorkflowEntry(q.QueryRowContext(ctx,
		"SELECT "+workflowCols+" FROM workflows WHERE project_id = ? AND id = ?", projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return WorkflowEntry{}, false, nil
	}
	if err != nil {
		return WorkflowEntry{}, false, fmt.Errorf("read workflow entry: %w", err)
	}
	return e, true, nil
}

// WorkflowEntries lists the index rows of a project (deleted ones included),
// ordered by id.
func (db *DB) WorkflowEntries(ctx context.Context, projectID string) ([]WorkflowEntry, error) {
	rows, err := db.read.QueryContext(ctx,
		"SELECT "+workflowCols+" FROM workflows WHERE project_id = ? ORDER BY id", projectID)
	if err != nil {
		return nil, fmt.Errorf("list workflow entries: %w", err)
	}
	defer rows.Close()
	var out []WorkflowEntry
	for rows.Next() {
		e, err := scanWorkflowEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("scan workflow entry: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// PutWorkflowEntry inserts or replaces an index row. UpdatedAt is set to
// the transaction's clock.
func (tx *Tx) PutWorkflowEntry(ctx context.Context, e *WorkflowEntry) error {
	e.UpdatedAt = tx.now
	deleted := 0
	if e.Deleted {
		deleted = 1
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO workflows(`+workflowCols+`) VALUES (?,?,?,?,?,?,?,?)
		 ON CONFLICT(project_id, id) DO UPDATE SET version = excluded.version, hash = excluded.hash,
		   mtime_ns = excluded.mtime_ns, size = excluded.size, deleted = excluded.deleted, updated_at = excluded.updated_at`,
		e.ProjectID, e.ID, e.Version, e.Hash, e.MtimeNs, e.Size, deleted, unixMilli(tx.now))
	if err != nil {
		return fmt.Errorf("put workflow entry: %w", err)
	}
	return nil
}

// ProjectWorkflowEntry returns the project's folder and the index row of
// one of its workflows in one query (the hot path of reading a workflow for
// every run start). A missing project is not_found; ok is false when the
// workflow has no row.
func (db *DB) ProjectWorkflowEntry(ctx context.Context, projectID, id string) (path string, e WorkflowEntry, ok bool, err error) {
	var (
		wid                       sql.NullString
		version, mtime, size, del sql.NullInt64
		updated                   sql.NullInt64
		hash                      sql.NullString
	)
	st, err := db.readStmt(ctx,
		`SELECT p.path, w.id, w.version, w.hash, w.mtime_ns, w.size, w.deleted, w.updated_at
		   FROM projects p LEFT JOIN workflows w ON w.project_id = p.id AND w.id = ?
		  WHERE p.id = ?`)
	if err != nil {
		return "", WorkflowEntry{}, false, fmt.Errorf("read workflow entry: %w", err)
	}
	err = st.QueryRowContext(ctx, id, projectID).
		Scan(&path, &wid, &version, &hash, &mtime, &size, &del, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return "", WorkflowEntry{}, false, flow.Errorf(flow.ENOTFOUND, "project %q not found", projectID)
	}
	if err != nil {
		return "", WorkflowEntry{}, false, fmt.Errorf("read workflow entry: %w", err)
	}
	if !wid.Valid {
		return path, WorkflowEntry{}, false, nil
	}
	e = WorkflowEntry{ProjectID: projectID, ID: wid.String, Version: version.Int64, Hash: hash.String,
		MtimeNs: mtime.Int64, Size: size.Int64, Deleted: del.Int64 != 0, UpdatedAt: fromMilli(updated.Int64)}
	return path, e, true, nil
}
